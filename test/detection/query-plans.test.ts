// Bounded cost at scale: SQLite's plan of every built-in rule and of every compiled SigmaHQ rule reads no
// table of processes (or of their sockets, maps, libraries, …) in full for each row of another: no full scan
// inside a join or a correlated subquery. A rule that did took 24 s on 6,857 processes (a Sigma rule with
// ParentImage, planned as processes × processes); anyone can start 20,000 processes.
import {copyFileSync, mkdirSync} from 'node:fs';
import {createRequire} from 'node:module';
import {basename, join} from 'node:path';

import type {Database} from 'sql.js';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {embeddedDefaults} from '../../src/config/schema.js';
import {copyBaselineTables} from '../../src/detection/baseline.js';
import {snapshotFromRows} from '../../src/detection/fixture-snapshot.js';
import {findRuleFiles} from '../../src/detection/rule-paths.js';
import {validateRuleFile} from '../../src/detection/rule-format.js';
import {type LoadedRule, RuleManager} from '../../src/detection/rule-manager.js';
import {lexSql} from '../../src/detection/sql-lexer.js';
import {SqlValidator} from '../../src/detection/sql-validator.js';
import {createRuleViews, PROCESS_TRAITS_VIEW} from '../../src/detection/rule-predicates.js';
import {registerUdfs} from '../../src/detection/udfs.js';
import {TABLES} from '../../src/models/tables.js';
import {loadSqlJs} from '../../src/storage/sqljs.js';
import {isolatedEnv, removeDir, ROOT, tempDir} from '../helpers/cli.js';

const dir = tempDir();
afterAll(() => removeDir(dir));

/** Tables that stay small whatever the host does: a row per scan, the configured lists, one row's JSON array. */
const SMALL = (table: string): boolean => table === 'scans' || table === 'baseline_scans' || table.startsWith('list_') || table === 'json_each';

/** Every alias of the SQL with the tables (or subqueries, as `(subquery)`) it may name: `FROM processes p` → p: processes. */
export function aliasesOf(sql: string): Map<string, Set<string>> {
  const tokens = lexSql(sql).statements.flat();
  // process_traits, the shared predicates' view, is processes with more columns (flattened into the query).
  const known = new Set([...TABLES.map((t) => t.name), ...TABLES.map((t) => `baseline_${t.name}`), 'json_each', PROCESS_TRAITS_VIEW]);
  const keywords = new Set([
    'WHERE',
    'JOIN',
    'LEFT',
    'INNER',
    'CROSS',
    'NATURAL',
    'ON',
    'USING',
    'GROUP',
    'ORDER',
    'LIMIT',
    'UNION',
    'HAVING',
    'WINDOW',
    'NOT',
    'INDEXED',
  ]);
  const aliases = new Map<string, Set<string>>();
  // CTE names: a word followed by `AS (` or by a column list and `AS (`.
  const ctes = new Set<string>();
  for (let i = 0; i + 2 < tokens.length; i++) {
    const name = tokens[i];
    if (name?.kind === 'word' && tokens[i + 1]?.upper === 'AS' && tokens[i + 2]?.text === '(') ctes.add(name.text.toLowerCase());
    if (name?.kind === 'word' && tokens[i + 1]?.text === '(' && /^(WITH|,|RECURSIVE)$/i.test(tokens[i - 1]?.text ?? '')) ctes.add(name.text.toLowerCase());
  }
  /** Where the argument list of a table function closes: not the end of a subquery. */
  const functionClose = new Set<number>();
  const add = (alias: string, table: string): void => {
    const set = aliases.get(alias) ?? new Set<string>();
    set.add(table);
    aliases.set(alias, set);
  };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === undefined || (token.kind !== 'word' && token.kind !== 'punct')) continue;
    let table: string | undefined;
    let next = i + 1;
    if (token.kind === 'word' && (known.has(token.text.toLowerCase()) || /^list_[a-z0-9_]+$/i.test(token.text))) {
      table = token.text.toLowerCase();
      add(table, table);
      // A table function's arguments: json_each(x) a.
      if (tokens[next]?.text === '(') {
        let depth = 0;
        for (; next < tokens.length; next++) {
          if (tokens[next]?.text === '(') depth++;
          if (tokens[next]?.text === ')' && --depth === 0) break;
        }
        functionClose.add(next);
        next++;
      }
    } else if (token.text === ')' && !functionClose.has(i)) {
      table = '(subquery)';
    } else if (token.kind === 'word' && ctes.has(token.text.toLowerCase())) {
      // A CTE read in FROM: as big as what it selects (a subquery).
      table = '(subquery)';
      add(token.text.toLowerCase(), table);
    }
    if (table === undefined) continue;
    if (tokens[next]?.upper === 'AS') next++;
    const alias = tokens[next];
    if (alias?.kind === 'word' && !keywords.has(alias.upper)) add(alias.text.toLowerCase(), table);
  }
  return aliases;
}

interface PlanRow {
  readonly id: number;
  readonly parent: number;
  readonly detail: string;
}

/**
 * The loops of a plan that read a big table in full once per row of another big table: a `SCAN` (or a
 * `SEARCH` on `scan_id` alone, which is every row of the scan) of a table that is not SMALL, inside a join
 * after a loop over a big table, or inside a correlated subquery run for the rows of a big table. A loop
 * over a big table counts as big unless it looks up one row (`pid=?`, `id=?`, `rowid=?`).
 */
export function nestedFullScans(plan: readonly PlanRow[], aliases: Map<string, Set<string>>): string[] {
  const byId = new Map(plan.map((row) => [row.id, row]));
  const isLoop = (row: PlanRow): boolean => /^(SCAN|SEARCH) /.test(row.detail) && !row.detail.startsWith('SCAN CONSTANT ROW');
  const targetOf = (row: PlanRow): string => (/^(?:SCAN|SEARCH) (\S+)/.exec(row.detail)?.[1] ?? '').toLowerCase();
  const tablesOfTarget = (row: PlanRow): Set<string> => aliases.get(targetOf(row)) ?? new Set([targetOf(row)]);
  const tablesOf = tablesOfTarget;
  /**
   * Subqueries SQLite materialises (or runs as a co-routine) whose own loops read small tables only, or that
   * read no table at all (`SELECT expr AS k`: one constant row): as small.
   */
  const smallSubqueries = new Set<string>();
  for (const node of plan) {
    const name = /^(?:MATERIALIZE|CO-ROUTINE) (\S+)$/.exec(node.detail)?.[1]?.toLowerCase();
    const children = plan.filter((child) => child.parent === node.id);
    const loops = children.filter(isLoop);
    const constantRow = loops.length === 0 && children.some((child) => child.detail.startsWith('SCAN CONSTANT ROW'));
    if (name !== undefined && (constantRow || (loops.length > 0 && loops.every((loop) => [...tablesOfTarget(loop)].every(SMALL))))) smallSubqueries.add(name);
  }
  const big = (row: PlanRow): boolean => !smallSubqueries.has(targetOf(row)) && ![...tablesOf(row)].every(SMALL);
  /** The constraints of a SEARCH (`scan_id=? AND mnt_ns>?`), empty for a SCAN. */
  const constraints = (row: PlanRow): string[] =>
    (/^SEARCH .* \(([^()]*)\)(?: LEFT-JOIN)?$/.exec(row.detail)?.[1] ?? '').split(' AND ').filter((c) => c !== '');
  /**
   * A loop that reads part of the scan: an equality on some column besides `scan_id` (`pid=?`, `mnt_ns=?`).
   * A range (`mnt_ns>?`, `pid>?`) or `scan_id=?` alone may read every row of the scan.
   */
  const keyed = (row: PlanRow): boolean => row.detail.includes('INTEGER PRIMARY KEY') || constraints(row).some((c) => /^\w+=\?$/.test(c) && c !== 'scan_id=?');
  const fullScan = (row: PlanRow): boolean => /^SCAN /.test(row.detail) || (/^SEARCH /.test(row.detail) && !keyed(row));
  const oneRow = (row: PlanRow): boolean => /^SEARCH /.test(row.detail) && constraints(row).some((c) => /^(?:pid|id|rowid)=\?$/.test(c));
  /** Loops at the level `parent` that run before `id`: the outer loops of whatever sits at `id`. */
  const outerLoops = (parent: number, id: number): PlanRow[] => plan.filter((other) => other.parent === parent && other.id < id && isLoop(other));
  const found: string[] = [];
  for (const row of plan) {
    if (!isLoop(row) || !fullScan(row) || !big(row)) continue;
    const outer: PlanRow[] = [...outerLoops(row.parent, row.id)];
    for (let up = byId.get(row.parent); up !== undefined; up = byId.get(up.parent)) {
      // A correlated subquery runs once per row of every loop of the level it sits in.
      if (up.detail.startsWith('CORRELATED ')) outer.push(...plan.filter((other) => other.parent === up?.parent && isLoop(other)));
    }
    const driving = outer.filter((loop) => big(loop) && !oneRow(loop));
    if (driving.length > 0) found.push(`${row.detail} (${[...tablesOf(row)].join('/')}) for each row of ${driving.map((loop) => loop.detail).join(', ')}`);
  }
  return found;
}

let db: Database;
let rules: readonly LoadedRule[];
const validator = new SqlValidator().withReadOnlyMode(true);

beforeAll(async () => {
  const sigma = join(dir, 'sigma');
  mkdirSync(sigma);
  for (const file of findRuleFiles(join(ROOT, 'test', 'fixtures', 'sigma'))) {
    if (validateRuleFile(file, validator).valid) copyFileSync(file, join(sigma, basename(file)));
  }
  rules = (await new RuleManager({config: embeddedDefaults(), env: isolatedEnv(join(dir, 'home')), extraPaths: [sigma], validator}).loadRules()).rules;
  const SQL = await loadSqlJs();
  // The snapshot schema as the rule workers get it (the registry's DDL and indexes), with the lists and a baseline.
  db = new SQL.Database(await snapshotFromRows([{pid: 1}]));
  registerUdfs(db);
  const lists = [...new Set(rules.flatMap((r) => validator.referencedLists(r.rule.sql_query)))];
  for (const name of lists) db.exec(`CREATE TABLE list_${name} (value TEXT)`);
  createRuleViews(db, Object.fromEntries(lists.map((name) => [name, []])));
  // A baseline as `detect --baseline` adds it: every table copied, with its indexes.
  const baseline = new SQL.Database(await snapshotFromRows([{pid: 1}]));
  copyBaselineTables(baseline, db);
  baseline.close();
});

function planOf(sql: string): PlanRow[] {
  return (db.exec(`EXPLAIN QUERY PLAN ${sql}`)[0]?.values ?? []).map(([id, parent, , detail]) => ({
    id: Number(id),
    parent: Number(parent),
    detail: String(detail),
  }));
}

describe('query plans at scale', () => {
  it('finds a full scan inside a join and inside a correlated subquery (the check can fail)', () => {
    // Conditions no index (not even an automatic one) can serve.
    const join = 'SELECT p.pid FROM processes p JOIN process_memory_map m ON instr(m.path, p.name) > 0';
    expect(nestedFullScans(planOf(join), aliasesOf(join))).toEqual([
      expect.stringMatching(/^SCAN \S+ \((processes|process_memory_map)\) for each row of SCAN/),
    ]);
    const correlated = 'SELECT p.pid FROM processes p WHERE EXISTS (SELECT 1 FROM processes c WHERE c.name LIKE p.name AND c.pid <> p.pid)';
    expect(nestedFullScans(planOf(correlated), aliasesOf(correlated))).toEqual([expect.stringMatching(/\(processes\) for each row of /)]);
    // A range on an index is no lookup: every process of the scan can be in it.
    const range =
      'SELECT p.pid FROM processes p JOIN processes h ON h.scan_id = p.scan_id AND h.mnt_ns > 0 AND h.pid = (SELECT min(i.pid) FROM processes i WHERE i.scan_id = p.scan_id)';
    expect(nestedFullScans(planOf(range), aliasesOf(range))).toContainEqual(
      expect.stringMatching(/^SEARCH h .*\(scan_id=\? AND mnt_ns>\?\) \(processes\) for each row of /),
    );
    // Per row of a small table (one row per scan), a full scan of the scan is fine.
    const perScan = 'SELECT s.id AS pid FROM scans s WHERE EXISTS (SELECT 1 FROM processes p WHERE p.scan_id = s.id AND p.name LIKE s.hostname)';
    expect(nestedFullScans(planOf(perScan), aliasesOf(perScan))).toEqual([]);
    const lists = 'SELECT p.pid FROM processes p WHERE NOT EXISTS (SELECT 1 FROM list_shells a WHERE p.cmdline LIKE a.value)';
    expect(nestedFullScans(planOf(lists), aliasesOf(lists))).toEqual([]);
    // A one-row subquery without a table (a text computed once per row) is small; one over processes is not.
    const constant =
      "SELECT p.pid FROM processes p WHERE EXISTS (SELECT 1 FROM (SELECT lower(p.cmdline) || ' ' AS k LIMIT -1 OFFSET 0) t WHERE EXISTS (SELECT 1 FROM list_shells s WHERE glob(s.value, t.k)))";
    expect(nestedFullScans(planOf(constant), aliasesOf(constant))).toEqual([]);
    const overProcesses =
      'SELECT p.pid FROM processes p WHERE EXISTS (SELECT 1 FROM (SELECT c.cmdline AS k FROM processes c WHERE c.name LIKE p.name LIMIT -1 OFFSET 0) t WHERE t.k <> p.cmdline)';
    expect(nestedFullScans(planOf(overProcesses), aliasesOf(overProcesses))).not.toEqual([]);
  });

  it('no built-in rule and no compiled SigmaHQ rule reads a big table in full per row of another', () => {
    expect(rules.filter((r) => r.definition.format === 'sigma').length).toBeGreaterThanOrEqual(140);
    const problems = rules.flatMap(({rule}) => nestedFullScans(planOf(rule.sql_query), aliasesOf(rule.sql_query)).map((scan) => `${rule.id}: ${scan}`));
    expect(problems).toEqual([]);
  });
});

// No rule may use collected text as a LIKE, GLOB or REGEXP pattern (or a LIKE's ESCAPE): SQLite refuses a
// LIKE or GLOB pattern over 50,000 bytes with an error, and an error fails the rule for every process of the
// host (red-team trial 8, F4: one 60,000-byte argv[0] silenced command-line-impersonation everywhere). A
// pattern is a literal, a value of a named list (configuration, not the host's text), or text made of those.

interface SqlNode {
  readonly type?: unknown;
  readonly [key: string]: unknown;
}
const isSqlNode = (value: unknown): value is SqlNode => typeof value === 'object' && value !== null && !Array.isArray(value);
const LITERALS = new Set(['single_quote_string', 'double_quote_string', 'string', 'number', 'bool', 'null']);
const PATTERN_OPERATORS = new Set(['LIKE', 'NOT LIKE', 'GLOB', 'NOT GLOB', 'REGEXP', 'NOT REGEXP']);
/** Per function taking a pattern: the positions of its pattern arguments (like's third is the escape). */
const PATTERN_ARGUMENTS: Record<string, readonly number[]> = {like: [0, 2], glob: [0], regexp: [0], regexp_flags: [0, 1]};

const functionName = (node: SqlNode): string => {
  const parts = (node.name as {name?: {value?: unknown}[]} | undefined)?.name ?? [];
  return parts
    .map((part) => String(part.value))
    .join('.')
    .toLowerCase();
};
const argumentsOf = (node: SqlNode): unknown[] => {
  const args = node.args as {value?: unknown} | undefined;
  return Array.isArray(args?.value) ? args.value : args?.value === undefined ? [] : [args.value];
};

/** The table an alias names in the innermost scope that has it (`list_shells`), `(subquery)`, or undefined. */
type Resolve = (alias: string) => string | undefined;

/** Whether `expr` is made only of literals and columns of list_* tables (through functions and operators). */
function fromLiteralsAndLists(expr: unknown, resolve: Resolve): boolean {
  if (!isSqlNode(expr)) return false;
  const type = String(expr.type);
  if (LITERALS.has(type)) return true;
  if (type === 'column_ref') return typeof expr.table === 'string' && (resolve(expr.table.toLowerCase())?.startsWith('list_') ?? false);
  if (type === 'binary_expr') return fromLiteralsAndLists(expr.left, resolve) && fromLiteralsAndLists(expr.right, resolve);
  if (type === 'function') return argumentsOf(expr).every((arg) => fromLiteralsAndLists(arg, resolve));
  if (type === 'expr_list') return (Array.isArray(expr.value) ? expr.value : []).every((value) => fromLiteralsAndLists(value, resolve));
  return false;
}

/**
 * Every pattern (or escape) of `sql` that is not made of literals and list values, as text for the failure.
 * Aliases are resolved per SELECT, innermost first (a rule may call a json_each `a` in one subquery and a list
 * `a` in another).
 */
export function collectedPatterns(sql: string): string[] {
  const {Parser} = createRequire(import.meta.url)('node-sql-parser/build/sqlite.js') as {Parser: new () => {astify(sql: string, options: object): unknown}};
  const ast = new Parser().astify(lexSql(sql).parserText, {database: 'sqlite'});
  const found: string[] = [];
  const visit = (value: unknown, scopes: readonly Map<string, string>[]): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item, scopes);
      return;
    }
    if (!isSqlNode(value)) return;
    let inner = scopes;
    if (value.type === 'select') {
      const scope = new Map<string, string>();
      for (const from of Array.isArray(value.from) ? (value.from as SqlNode[]) : []) {
        const table = typeof from.table === 'string' ? from.table.toLowerCase() : '(subquery)';
        scope.set(typeof from.as === 'string' ? from.as.toLowerCase() : table, table);
      }
      inner = [scope, ...scopes];
    }
    const resolve: Resolve = (alias) => inner.find((scope) => scope.has(alias))?.get(alias);
    const check = (what: string, expr: unknown): void => {
      if (!fromLiteralsAndLists(expr, resolve)) found.push(`${what}: ${JSON.stringify(expr).slice(0, 300)}`);
    };
    if (value.type === 'binary_expr' && PATTERN_OPERATORS.has(String(value.operator))) {
      const {escape, ...right} = isSqlNode(value.right) ? (value.right as SqlNode & {escape?: {value?: unknown} | null}) : {escape: undefined};
      check(`${String(value.operator)}'s pattern`, value.right === undefined ? undefined : right);
      if (escape !== undefined && escape !== null) check('ESCAPE', escape.value);
    }
    if (value.type === 'function') {
      const args = argumentsOf(value);
      for (const position of PATTERN_ARGUMENTS[functionName(value)] ?? [])
        if (args[position] !== undefined) check(`${functionName(value)}() argument ${position + 1}`, args[position]);
    }
    for (const child of Object.values(value)) visit(child, inner);
  };
  visit(ast, []);
  return found;
}

describe('patterns of rules', () => {
  it('finds collected text used as a pattern or an escape (the check can fail)', () => {
    const flagged = [
      "SELECT p.pid FROM processes p WHERE NOT glob(p.name || '*', p.exe_name)",
      // (the operator GLOB takes a literal only in the validator's parser; glob() takes anything)
      'SELECT p.pid FROM processes p WHERE p.exe_name LIKE p.name',
      "SELECT p.pid FROM processes p WHERE p.cmdline LIKE '%' || p.name || '%'",
      // (an ESCAPE clause takes a literal only: the validator's parser refuses any other; like()'s third argument is the same escape)
      'SELECT p.pid FROM processes p JOIN list_shells s ON like(s.value, p.cmdline, substr(p.name, 1, 1))',
      // the same alias naming a list in one subquery and the process's own text in another
      'SELECT p.pid FROM processes p WHERE EXISTS (SELECT 1 FROM list_shells a WHERE p.name = a.value) AND EXISTS (SELECT 1 FROM json_each(p.command_line) a WHERE glob(a.value, p.name))',
      'SELECT p.pid FROM processes p WHERE like(p.name, p.cmdline)',
      'SELECT p.pid FROM processes p WHERE p.cmdline REGEXP p.name',
      "SELECT p.pid FROM processes p WHERE regexp_flags('x', p.name, p.cmdline)",
      'SELECT p.pid FROM (SELECT q.name AS value FROM processes q LIMIT -1 OFFSET 0) l JOIN processes p ON glob(l.value, p.cmdline)',
    ];
    for (const sql of flagged) expect(collectedPatterns(sql), sql).not.toEqual([]);
    const allowed = [
      "SELECT p.pid FROM processes p WHERE p.exe_name GLOB '*sh' AND p.cmdline LIKE '%x!%%' ESCAPE '!' AND p.cmdline REGEXP 'a|b'",
      'SELECT p.pid FROM processes p WHERE EXISTS (SELECT 1 FROM list_temp_dirs t WHERE glob(t.value, p.executable_path))',
      "SELECT p.pid FROM processes p WHERE EXISTS (SELECT 1 FROM list_command_aliases c WHERE glob(substr(c.value, instr(c.value, ' ') + 1), p.exe_name))",
      "SELECT p.pid FROM processes p WHERE EXISTS (SELECT 1 FROM list_hidden_dirs h WHERE glob('/home/*/' || h.value, p.executable_path))",
      'SELECT p.pid FROM processes p WHERE substr(p.exe_name, 1, length(p.name)) <> p.name AND instr(p.cmdline, p.name) > 0',
      "SELECT p.pid FROM processes p WHERE EXISTS (SELECT 1 FROM json_each(p.command_line) a WHERE a.value GLOB '-*') AND NOT EXISTS (SELECT 1 FROM list_shell_relay_allow a WHERE p.cmdline LIKE a.value)",
    ];
    for (const sql of allowed) expect(collectedPatterns(sql), sql).toEqual([]);
  });

  it('no built-in rule and no compiled SigmaHQ rule uses collected text as a LIKE, GLOB or REGEXP pattern', () => {
    expect(rules.filter((r) => r.definition.format === 'sigma').length).toBeGreaterThanOrEqual(140);
    const problems = rules.flatMap(({rule}) => collectedPatterns(rule.sql_query).map((problem) => `${rule.id}: ${problem}`));
    expect(problems).toEqual([]);
  });
});
