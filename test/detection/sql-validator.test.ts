import {join} from 'node:path';

import {describe, expect, it} from 'vitest';

import {lexSql} from '../../src/detection/sql-lexer.js';
import {REFERENCE_API_FUNCTIONS, SQL_POLICY, type SqlPolicy} from '../../src/detection/sql-policy.js';
import {validatorSources} from '../../src/detection/code-fingerprint.js';
import {DEFAULT_ALLOWED_FUNCTIONS, knownTables, SQL_LIMITS, SqlValidator} from '../../src/detection/sql-validator.js';
import {registerUdfs} from '../../src/detection/udfs.js';
import {renderRulesSqlDoc} from '../../src/docs/rules-sql-doc.js';
import {loadSqlJs} from '../../src/storage/sqljs.js';
import {ROOT} from '../helpers/cli.js';
import {HOSTILE_SQL} from './hostile-sql.js';

const validator = new SqlValidator().withReadOnlyMode(true).withTimeout(5000);

function reasons(sql: string): string[] {
  const result = validator.validateQuery(sql);
  return result.valid ? [] : result.errors.map((e) => e.reason);
}

describe('SqlValidator refuses hostile SQL at validation', () => {
  it.each(HOSTILE_SQL)('$name → $reason', ({sql, reason}) => {
    const result = validator.validateQuery(sql);
    expect(result.valid).toBe(false);
    if (!result.valid) {
      expect(result.errors.map((e) => e.reason)).toContain(reason);
      for (const error of result.errors) expect(error.message.length).toBeGreaterThan(0);
    }
  });
});

describe('SqlValidator accepts ordinary detection SQL', () => {
  it.each([
    ["SELECT pid, name FROM processes WHERE name = 'x'"],
    ['WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5) SELECT x AS pid FROM c'],
    ['SELECT p.pid FROM processes AS p WHERE p.name = (SELECT q.name FROM processes q WHERE q.pid = p.ppid)'],
    ["SELECT DISTINCT p.pid, a.value FROM processes p, json_each(p.command_line) a WHERE a.value IN ('-e', '-c')"],
    ['SELECT pid FROM processes WHERE executable_hash IN (SELECT value FROM list_ioc_sha256)'],
    ['SELECT name, count(*) AS n FROM processes GROUP BY name HAVING count(*) > 5 ORDER BY n DESC'],
    ["SELECT pid, json_extract(platform_data, '$.uid') AS u, iif(uid = 0, 'root', 'user') AS who, coalesce(cwd, '') AS c FROM processes"],
    ["SELECT pid FROM processes WHERE regexp('^\\d+$', name) AND basename(executable_path) = 'sh' AND dirname(executable_path) = '/tmp'"],
    ["SELECT pid FROM processes WHERE name REGEXP '^kworker' AND NOT (name GLOB 'x*')"],
    ['SELECT pid, row_number() OVER (PARTITION BY 1 ORDER BY pid) AS rn FROM processes'],
    ['SELECT x.pid FROM (SELECT * FROM processes) x WHERE x.uid = 0'],
    ['SELECT p.pid FROM processes p WHERE EXISTS (SELECT 1 FROM processes c WHERE c.ppid = p.pid)'],
    ["SELECT pid FROM processes WHERE name = 'C:\\'"],
    [
      'SELECT p.pid FROM processes p JOIN scans s ON s.id = p.scan_id JOIN processes a ON a.pid = p.ppid JOIN processes b ON b.pid = a.ppid ' +
        'JOIN processes c ON c.pid = b.ppid LEFT JOIN processes d ON d.pid = c.ppid',
    ],
    ['SELECT rowid, pid FROM processes UNION ALL SELECT id, process_count FROM scans'],
  ])('%s', (sql) => {
    expect(validator.validateQuery(sql)).toEqual({valid: true});
  });
});

describe('SqlValidator checks pattern literals on the linear-time engine', () => {
  it('refuses a construct RE2 lacks with its offset in the SQL, in every call form', () => {
    const sql =
      "SELECT pid FROM processes WHERE name REGEXP 'x(?=y)' OR regexp('(a)\\1', name) OR cmdline REGEXP 'it''s a*+' OR regexp_flags('(?<!z)', 'i', name)";
    const result = validator.validateQuery(sql);
    expect(result.valid).toBe(false);
    if (result.valid) return;
    expect(result.errors.map((e) => [e.reason, sql.slice(e.offset, (e.offset ?? 0) + 3)])).toEqual([
      ['invalid_regexp', '(?='],
      ['invalid_regexp', "\\1'"],
      ['invalid_regexp', "*+'"],
      ['invalid_regexp', '(?<'],
    ]);
  });

  it('leaves patterns built at run time to the rule run, and reads literals that are only part of a pattern as such', () => {
    expect(validator.validateQuery('SELECT p.pid FROM processes p, list_patterns l WHERE regexp(l.value, p.name)')).toEqual({valid: true});
    expect(validator.validateQuery("SELECT pid FROM processes WHERE regexp('(?=' || 'x)', name)")).toEqual({valid: true});
  });
});

describe('SqlValidator reports', () => {
  it('every error, each with its reason', () => {
    const result = validator.validateQuery('SELECT bogus, load_extension(1), sleep(2) FROM processes WHERE pid IN (SELECT pid FROM nowhere)');
    expect(result.valid).toBe(false);
    if (!result.valid) expect(result.errors.map((e) => e.reason).sort()).toEqual(['forbidden_function', 'unknown_column', 'unknown_function', 'unknown_table']);
  });

  it.each([
    ['SELECT pid, row_number() OVER (ORDER BY pid) AS rn FROM processes', 'PARTITION BY 1'],
    ["SELECT pid FROM processes WHERE name NOT GLOB 'x*'", 'NOT (x GLOB'],
    ['SELECT pid FROM processes INTERSECT SELECT pid FROM processes', 'IN (SELECT'],
    ['SELECT pid FROM processes EXCEPT SELECT pid FROM processes', 'NOT IN (SELECT'],
    ['SELECT sum(pid) FILTER (WHERE pid > 1) AS pid FROM processes', 'iif'],
    ['SELECT pid FROM processes ORDER BY pid NULLS LAST', 'IS NULL'],
    ['SELECT pid, sum(pid) OVER (PARTITION BY name ORDER BY pid ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS s FROM processes', 'frame'],
  ])('syntax the parser cannot read, with the workaround: %s', (sql, workaround) => {
    const result = validator.validateQuery(sql);
    expect(result.valid).toBe(false);
    if (!result.valid) {
      expect(result.errors[0]?.reason).toBe('unsupported_syntax');
      expect(result.errors[0]?.message).toMatch(/parser cannot read it/);
      expect(result.errors[0]?.workaround).toContain(workaround);
    }
  });

  it('columns of CTEs and subqueries are checked', () => {
    expect(reasons('WITH c AS (SELECT pid AS p FROM processes) SELECT c.p FROM c')).toEqual([]);
    expect(reasons('WITH c AS (SELECT pid AS p FROM processes) SELECT c.pid FROM c')).toEqual(['unknown_column']);
    expect(reasons('SELECT s.q FROM (SELECT pid AS q FROM processes) s')).toEqual([]);
    expect(reasons('SELECT s.pid FROM (SELECT pid AS q FROM processes) s')).toEqual(['unknown_column']);
    expect(reasons('SELECT z.pid FROM processes p')).toEqual(['unknown_table']);
  });

  it('bounds joins per SELECT', () => {
    const joins = Array.from({length: SQL_LIMITS.maxJoins + 1}, (_, i) => `JOIN processes p${i} ON p${i}.pid = p.pid`).join(' ');
    expect(reasons(`SELECT p.pid FROM processes p ${joins}`)).toEqual(['too_many_joins']);
  });

  it('finds the named lists a query reads', () => {
    expect(validator.referencedLists('SELECT pid FROM processes WHERE name IN (SELECT value FROM list_b) OR name IN (SELECT value FROM "list_a")')).toEqual([
      'a',
      'b',
    ]);
  });
});

describe('SqlValidator builder', () => {
  it("takes the reference API's allow-list", () => {
    const narrow = new SqlValidator().withAllowedFunctions([...REFERENCE_API_FUNCTIONS]);
    expect(narrow.validateQuery('SELECT count(*) AS n, max(pid) AS m FROM processes').valid).toBe(true);
    expect(narrow.validateQuery('SELECT coalesce(name, 1) AS n FROM processes').valid).toBe(false);
    expect(DEFAULT_ALLOWED_FUNCTIONS).toEqual(expect.arrayContaining([...REFERENCE_API_FUNCTIONS, 'regexp', 'basename', 'dirname']));
  });

  it('never allows a forbidden function, never runs writable', () => {
    expect(() => new SqlValidator().withAllowedFunctions(['count', 'load_extension'])).toThrow(/can never be allowed/);
    expect(() => new SqlValidator().withReadOnlyMode(false)).toThrow(/read-only/);
    expect(new SqlValidator().withTimeout(1234).timeoutMs).toBe(1234);
  });
});

describe('lexSql', () => {
  it('splits statements the way SQLite does and measures depth', () => {
    const lexed = lexSql("SELECT ';' /* ; */ -- ;\n, ((1)); SELECT 2");
    expect(lexed.statements).toHaveLength(2);
    expect(lexed.maxDepth).toBe(2);
    expect(lexed.parserText).not.toContain('/*');
  });
});

describe('SqlValidator verdict cache', () => {
  it('gives the same verdict again, and forgets it when the allow-list changes', () => {
    const validator = new SqlValidator();
    const sql = 'SELECT pid, upper(name) AS n FROM processes';
    expect(validator.validateQuery(sql)).toEqual({valid: true});
    expect(validator.validateQuery(sql)).toEqual({valid: true});
    validator.withAllowedFunctions(['count']);
    expect(validator.validateQuery(sql).valid).toBe(false);
  });
});

/** A parser that hands the walk a fixed syntax tree, to reach node kinds node-sql-parser never makes today. */
const fixedTree = (ast: unknown) => ({astify: () => ast});
const column = (expr: unknown) => ({expr, as: null});
const selectOf = (columns: unknown[], extra: Record<string, unknown> = {}) => ({
  type: 'select',
  columns,
  from: [{db: null, table: 'processes', as: null}],
  where: null,
  ...extra,
});
const pidRef = {type: 'column_ref', table: null, column: 'pid'};

describe('SqlValidator walks only syntax it knows', () => {
  const sql = 'SELECT pid FROM processes';

  it('accepts a tree of known kinds (the control case)', () => {
    expect(new SqlValidator({parser: fixedTree(selectOf([column(pidRef)]))}).validateQuery(sql)).toEqual({valid: true});
  });

  it.each([
    ['an expression kind it has no visitor for', selectOf([column(pidRef), column({type: 'mystery', value: 1})]), /expression kind mystery/],
    ['an expression without a kind', selectOf([column({value: 1})]), /without a kind/],
    [
      'a known kind with a key it does not expect',
      selectOf([column({type: 'binary_expr', operator: '+', left: pidRef, right: pidRef, hidden: {type: 'function', name: 'load_extension'}})]),
      /binary_expr with hidden/,
    ],
    ['a SELECT with a clause it does not expect', selectOf([column(pidRef)], {into: {type: 'table', value: 'x'}}), /SELECT with into/],
    ['a FROM item it cannot read', {...selectOf([column(pidRef)]), from: [{expr: {type: 'values', values: []}, as: null}]}, /values in FROM/],
    [
      'a window with a frame',
      selectOf([column({type: 'function', name: 'rank', args: null, over: {partitionby: [], orderby: [], frame: 'rows'}})]),
      /OVER with frame/,
    ],
  ])('refuses %s (unknown_syntax)', (_what, ast, message) => {
    const result = new SqlValidator({parser: fixedTree(ast)}).validateQuery(sql);
    expect(result.valid).toBe(false);
    if (!result.valid) {
      expect(result.errors.map((e) => e.reason)).toEqual(['unknown_syntax']);
      expect(result.errors[0]?.message).toMatch(message);
    }
  });

  it('never shares verdicts with a validator that has another parser', () => {
    const custom = new SqlValidator({parser: fixedTree(selectOf([column(pidRef)]))});
    expect(custom.fingerprint).not.toBe(new SqlValidator().fingerprint);
  });
});

describe('SqlValidator policy and tables are inputs', () => {
  /** A user function the policy does not have: one entry is all it takes. */
  const reverseText = {
    name: 'reverse_text',
    usage: '`reverse_text(text)`',
    description: 'the text backwards',
    create: () => (text: unknown) => (text === null || text === undefined ? null : [...String(text)].reverse().join('')),
  };
  const extended: SqlPolicy = {...SQL_POLICY, userFunctions: [...SQL_POLICY.userFunctions, reverseText]};
  const sql = "SELECT pid FROM processes WHERE reverse_text(name) = 'tini'";

  it('a user function added to the policy is allowed, registered in the rule database and documented', async () => {
    expect(new SqlValidator().validateQuery(sql).valid).toBe(false);
    expect(new SqlValidator({policy: extended}).validateQuery(sql)).toEqual({valid: true});
    const SQL = await loadSqlJs();
    const db = new SQL.Database();
    registerUdfs(db, extended);
    expect(db.exec("SELECT reverse_text('ÄBC') AS f, regexp('^a', 'abc') AS r, basename('/usr/bin/x') AS b")[0]?.values).toEqual([['CBÄ', 1, 'x']]);
    db.close();
    expect(renderRulesSqlDoc(extended)).toContain('| `reverse_text(text)` | the text backwards |');
  });

  it('reads the tables it is given', () => {
    const sockets = new SqlValidator({tables: new Map([['sockets', new Set(['pid', 'local_port'])]])});
    expect(sockets.validateQuery('SELECT pid, local_port FROM sockets')).toEqual({valid: true});
    expect(sockets.validateQuery('SELECT pid FROM processes').valid).toBe(false);
    expect(sockets.validateQuery('SELECT remote_port AS pid FROM sockets').valid).toBe(false);
  });

  it('has a fingerprint that covers its code, its policy and its tables', () => {
    const base = new SqlValidator().fingerprint;
    expect(new SqlValidator().fingerprint).toBe(base);
    expect(new SqlValidator({policy: extended}).fingerprint).not.toBe(base);
    expect(new SqlValidator({policy: {...SQL_POLICY, limits: {...SQL_POLICY.limits, maxJoins: 9}}}).fingerprint).not.toBe(base);
    expect(new SqlValidator({policy: {...SQL_POLICY, forbiddenFunctions: SQL_POLICY.forbiddenFunctions.slice(1)}}).fingerprint).not.toBe(base);
    const tables = new Map(knownTables());
    tables.set('processes', new Set([...(knownTables().get('processes') ?? []), 'extra']));
    expect(new SqlValidator({tables}).fingerprint).not.toBe(base);
    expect(new SqlValidator().withAllowedFunctions(['count']).fingerprint).not.toBe(base);
    expect(validatorSources(join(ROOT, 'src', 'detection'))).toEqual(['regex.ts', 'sql-lexer.ts', 'sql-policy.ts', 'sql-validator.ts']);
  });
});
