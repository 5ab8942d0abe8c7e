// SqlValidator: the first wall of the rule sandbox. It decides, before any SQL reaches SQLite, that a query is
// one read-only SELECT over known tables and columns using only allow-listed functions, within size limits.
// Refusals are structured (`reason` codes) so they can be audited and tested; docs/rules-sql.md explains each.
import {createHash} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';

import type {Parser as SqlParser} from 'node-sql-parser/build/sqlite.js';

import {DaemonEyeError} from '../errors.js';
import {ALERT_TABLE_COLUMNS} from '../models/alert.js';
import {PROCESS_TABLE_COLUMN_NAMES} from '../models/process.js';
import {SCAN_TABLE_COLUMNS} from '../models/scan.js';

const require = createRequire(import.meta.url);

/**
 * node-sql-parser, loaded on the first query that needs parsing: `detect` with only the built-in rules
 * takes their verdicts from the build-time index (builtin-index.ts) and never pays for it.
 */
function newParser(): SqlParser {
  const {Parser} = require('node-sql-parser/build/sqlite.js') as {Parser: new () => SqlParser};
  return new Parser();
}

let codeFingerprint: string | undefined;

/** What a verdict depends on besides the allow-lists: this file's code and the parser's version. */
function validatorCodeFingerprint(): string {
  if (codeFingerprint === undefined) {
    const parserVersion = (JSON.parse(readFileSync(require.resolve('node-sql-parser/package.json'), 'utf8')) as {version: string}).version;
    codeFingerprint = createHash('sha256')
      .update(readFileSync(fileURLToPath(import.meta.url)))
      .update(`\0node-sql-parser@${parserVersion}`)
      .digest('hex');
  }
  return codeFingerprint;
}

/** Why a query was refused; stable strings, documented in docs/rules-sql.md. */
export type SqlRefusalReason =
  | 'empty'
  | 'too_long'
  | 'too_deep'
  | 'multiple_statements'
  | 'not_read_only'
  | 'parse_error'
  | 'unsupported_syntax'
  | 'forbidden_table'
  | 'unknown_table'
  | 'unknown_column'
  | 'forbidden_function'
  | 'unknown_function'
  | 'too_many_joins';

export interface SqlValidationError {
  readonly reason: SqlRefusalReason;
  readonly message: string;
  readonly table?: string;
  readonly column?: string;
  readonly function?: string;
  readonly statement?: string;
  /** For syntax the parser cannot read: what to write instead (docs/rules-sql.md, "Syntax the validator cannot read"). */
  readonly workaround?: string;
}

export type SqlValidationResult = {readonly valid: true} | {readonly valid: false; readonly errors: readonly SqlValidationError[]};

/** The seed's allow-list. */
export const SEED_ALLOWED_FUNCTIONS = ['count', 'sum', 'avg', 'min', 'max', 'length', 'substr', 'upper', 'lower', 'datetime', 'strftime'] as const;

/** The seed's list plus the documented safe additions and our registered UDFs (docs/rules-sql.md, "Functions"). */
export const DEFAULT_ALLOWED_FUNCTIONS: readonly string[] = [
  ...SEED_ALLOWED_FUNCTIONS,
  'total',
  'group_concat',
  'coalesce',
  'ifnull',
  'nullif',
  'iif',
  'instr',
  'trim',
  'ltrim',
  'rtrim',
  'replace',
  'substring',
  'like',
  'glob',
  'abs',
  'round',
  'hex',
  'typeof',
  'date',
  'time',
  'julianday',
  'unixepoch',
  'json_extract',
  'json_array_length',
  'json_type',
  'json_valid',
  'row_number',
  'rank',
  'dense_rank',
  'lag',
  'lead',
  'first_value',
  'last_value',
  'regexp',
  'basename',
  'dirname',
];

/** Functions that can never be allowed: file access, extensions, huge allocations, engine internals. */
export const FORBIDDEN_FUNCTIONS: ReadonlyMap<string, string> = new Map([
  ['load_extension', 'loads native code'],
  ['readfile', 'reads files'],
  ['writefile', 'writes files'],
  ['edit', 'starts an editor'],
  ['fts3_tokenizer', 'can register native callbacks'],
  ['randomblob', 'can allocate huge blobs'],
  ['zeroblob', 'can allocate huge blobs'],
  ['printf', 'a width argument can allocate huge strings'],
  ['format', 'a width argument can allocate huge strings'],
  ['char', 'not needed by rules'],
  ['sqlite_compileoption_get', 'exposes engine internals'],
  ['sqlite_compileoption_used', 'exposes engine internals'],
  ['sqlite_offset', 'exposes engine internals'],
]);

/** Pseudo-functions the parser emits for operators. */
const OPERATOR_FUNCTIONS = new Set(['not', 'exists']);

export const JSON_EACH_COLUMNS = ['key', 'value', 'type', 'atom', 'id', 'parent', 'fullkey', 'path'] as const;

/** Tables a query may read, with their columns (derived from the models). */
export function knownTables(): Map<string, ReadonlySet<string>> {
  const tables = new Map<string, ReadonlySet<string>>([
    ['processes', new Set(PROCESS_TABLE_COLUMN_NAMES)],
    ['scans', new Set(SCAN_TABLE_COLUMNS.map((c) => c.name))],
    ['alerts', new Set(ALERT_TABLE_COLUMNS.map((c) => c.name))],
  ]);
  // `detect --baseline FILE`: each snapshot table of the baseline as `baseline_<table>` (not its alerts).
  for (const [name, columns] of [...tables]) if (name !== 'alerts') tables.set(`baseline_${name}`, columns);
  return tables;
}

/** `list_<name>`: a named list (docs/rules-format.md, "Named lists"). */
export const LIST_TABLE = /^list_([a-z0-9_]+)$/;
const FORBIDDEN_TABLE = /^(sqlite_|pragma_)/;
const ROW_ID_COLUMNS = new Set(['rowid', 'oid', '_rowid_']);

export const SQL_LIMITS = {maxLength: 64 * 1024, maxDepth: 64, maxJoins: 8} as const;

/** Syntax SQLite accepts but the parser cannot read, with the workaround (docs/rules-sql.md). */
interface UnsupportedPattern {
  readonly name: string;
  readonly workaround: string;
  readonly test: (tokens: readonly Token[], index: number) => boolean;
}

const word = (tokens: readonly Token[], index: number, ...values: string[]): boolean => {
  const token = tokens[index];
  return token !== undefined && token.kind === 'word' && values.includes(token.upper);
};
const punct = (tokens: readonly Token[], index: number, value: string): boolean => tokens[index]?.kind === 'punct' && tokens[index]?.text === value;

const UNSUPPORTED: readonly UnsupportedPattern[] = [
  {
    name: 'OVER () without PARTITION BY',
    workaround: 'add a constant partition: OVER (PARTITION BY 1 ORDER BY …)',
    test: (t, i) => word(t, i, 'OVER') && punct(t, i + 1, '(') && !word(t, i + 2, 'PARTITION'),
  },
  {
    name: 'window frames (ROWS/RANGE/GROUPS …)',
    workaround: 'drop the frame clause, or compute the value with a correlated subquery',
    test: (t, i) => word(t, i, 'ROWS', 'RANGE', 'GROUPS') && word(t, i + 1, 'BETWEEN', 'UNBOUNDED', 'CURRENT'),
  },
  {name: 'NOT GLOB', workaround: "write NOT (x GLOB '…')", test: (t, i) => word(t, i, 'NOT') && word(t, i + 1, 'GLOB')},
  {
    name: 'INTERSECT / EXCEPT',
    workaround: 'use WHERE … IN (SELECT …) for INTERSECT and WHERE … NOT IN (SELECT …) for EXCEPT',
    test: (t, i) => word(t, i, 'INTERSECT', 'EXCEPT'),
  },
  {
    name: 'FILTER (WHERE …)',
    workaround: 'move the condition into the aggregate: sum(iif(cond, 1, 0)) or count(CASE WHEN cond THEN 1 END)',
    test: (t, i) => word(t, i, 'FILTER') && punct(t, i + 1, '('),
  },
  {
    name: 'NULLS FIRST / NULLS LAST',
    workaround: 'order by (x IS NULL) first: ORDER BY x IS NULL, x',
    test: (t, i) => word(t, i, 'NULLS') && word(t, i + 1, 'FIRST', 'LAST'),
  },
  {
    name: 'LIKE … ESCAPE',
    workaround: "use instr(x, 'literal') > 0 or GLOB with [_] / [%] classes",
    test: (t, i) => word(t, i, 'ESCAPE'),
  },
];

interface Token {
  readonly kind: 'word' | 'string' | 'ident' | 'number' | 'punct';
  readonly text: string;
  readonly upper: string;
  /** Parenthesis depth the token sits at. */
  readonly depth: number;
}

interface Lexed {
  /** Tokens of each statement (split at `;` outside strings and comments), empty statements dropped. */
  readonly statements: Token[][];
  readonly maxDepth: number;
  /**
   * The text the parser reads: comments blanked and backslashes inside string literals turned into `/`,
   * so the parser (which knows MySQL-style `\'` escapes and `#` comments) sees exactly SQLite's tokens.
   */
  readonly parserText: string;
  /** Characters SQLite and the parser would read differently (`#`, backslashes in identifiers). */
  readonly ambiguous: readonly string[];
}

/**
 * A small lexer with SQLite's rules for strings, quoted identifiers and comments. It runs before the
 * parser: it bounds nesting depth cheaply (a 1,000-deep expression must not reach the recursive parser)
 * and finds statement boundaries the way SQLite does, so nothing can hide behind a comment.
 */
export function lexSql(sql: string): Lexed {
  const statements: Token[][] = [[]];
  const parserText: string[] = [];
  const ambiguous: string[] = [];
  let depth = 0;
  let maxDepth = 0;
  let i = 0;
  const push = (kind: Token['kind'], text: string): void => {
    statements[statements.length - 1]?.push({kind, text, upper: text.toUpperCase(), depth});
  };
  while (i < sql.length) {
    const c = sql[i] as string;
    const from = i;
    if (/\s/.test(c)) {
      i++;
      parserText.push(c);
      continue;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end + 1;
      parserText.push(' ');
      continue;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? sql.length : end + 2;
      parserText.push(' ');
      continue;
    } else if (c === "'" || c === '"' || c === '`' || c === '[') {
      const close = c === '[' ? ']' : c;
      let j = i + 1;
      for (;;) {
        const end = sql.indexOf(close, j);
        if (end === -1) {
          j = sql.length;
          break;
        }
        if (close !== ']' && sql[end + 1] === close) {
          j = end + 2;
          continue;
        }
        j = end + 1;
        break;
      }
      const literal = sql.slice(i, j);
      push(c === "'" ? 'string' : 'ident', literal);
      if (c !== "'" && literal.includes('\\')) ambiguous.push(`a backslash in the identifier ${literal}`);
      parserText.push(c === "'" ? literal.replaceAll('\\', '/') : literal);
      i = j;
      continue;
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      let j = i + 1;
      while (j < sql.length && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[j] as string)) j++;
      push('word', sql.slice(i, j));
      i = j;
    } else if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < sql.length && /[0-9A-Za-z_.]/.test(sql[j] as string)) j++;
      push('number', sql.slice(i, j));
      i = j;
    } else if (c === ';') {
      statements.push([]);
      i++;
    } else {
      if (c === '(') maxDepth = Math.max(maxDepth, ++depth);
      if (c === ')') depth = Math.max(0, depth - 1);
      if (c === '#' || c === '\\') ambiguous.push(`the character ${c} outside a string`);
      push('punct', c);
      i++;
    }
    parserText.push(sql.slice(from, i));
  }
  return {statements: statements.filter((s) => s.length > 0), maxDepth, parserText: parserText.join(''), ambiguous};
}

const WRITE_KEYWORDS = new Set(['INSERT', 'UPDATE', 'DELETE', 'REPLACE']);

type AstNode = Record<string, unknown>;

const isNode = (value: unknown): value is AstNode => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A table source visible in a SELECT: its columns, or null when they cannot be known (accept any). */
interface Source {
  readonly name: string;
  readonly columns: ReadonlySet<string> | null;
}

interface Scope {
  readonly sources: Map<string, Source>;
  readonly aliases: Set<string>;
  readonly ctes: Map<string, ReadonlySet<string> | null>;
  readonly parent: Scope | undefined;
}

/** Validates rule and query SQL (the seed's `SqlValidator`): builder methods, then `validateQuery`. */
export class SqlValidator {
  private allowed = new Set(DEFAULT_ALLOWED_FUNCTIONS);
  private readOnly = true;
  private timeout = 30_000;
  private readonly tables = knownTables();
  private parserInstance: SqlParser | undefined;
  private fingerprintMemo: string | undefined;
  /**
   * Verdicts by SQL text. A rule is checked when its file is loaded and again before it runs (defence in
   * depth); parsing is the costly part of `detect`'s start-up, so the second check is a lookup. Builder
   * methods that change what is allowed clear it.
   */
  private readonly verdicts = new Map<string, SqlValidationResult>();

  /** Replace the allow-list of functions (names are case-insensitive); forbidden functions cannot be allowed. */
  withAllowedFunctions(names: readonly string[]): this {
    const lower = names.map((n) => n.toLowerCase());
    const forbidden = lower.filter((n) => FORBIDDEN_FUNCTIONS.has(n));
    if (forbidden.length > 0) {
      throw new DaemonEyeError('INVALID_ARGUMENT', `functions ${forbidden.join(', ')} can never be allowed in rules`, {hint: 'see docs/rules-sql.md'});
    }
    this.allowed = new Set(lower);
    this.verdicts.clear();
    this.fingerprintMemo = undefined;
    return this;
  }

  /** Read-only is the only mode rules run in; asking for anything else is refused rather than ignored. */
  withReadOnlyMode(readOnly: boolean): this {
    if (!readOnly) throw new DaemonEyeError('INVALID_ARGUMENT', 'rules only run read-only', {hint: 'DaemonEye never runs writing SQL from rules'});
    this.readOnly = readOnly;
    return this;
  }

  /** The per-query timeout the engine applies when it runs validated SQL. */
  withTimeout(ms: number): this {
    this.timeout = ms;
    return this;
  }

  get timeoutMs(): number {
    return this.timeout;
  }

  get readOnlyMode(): boolean {
    return this.readOnly;
  }

  get allowedFunctions(): readonly string[] {
    return [...this.allowed].sort();
  }

  /** Valid, or every problem found (each with a reason code). */
  validateQuery(sql: string): SqlValidationResult {
    const known = this.verdicts.get(sql);
    if (known !== undefined) return known;
    const errors = this.collectErrors(sql);
    const verdict: SqlValidationResult = errors.length === 0 ? {valid: true} : {valid: false, errors};
    // Only rule-sized texts are kept: a hostile 1 MB query is refused before parsing anyway.
    if (sql.length <= 65_536) this.verdicts.set(sql, verdict);
    return verdict;
  }

  /**
   * Identifies what this validator accepts: its code, the parser's version, the function allow-list, the
   * forbidden functions, the tables and columns, and the limits. Two validators with one fingerprint give
   * the same verdict on any SQL.
   */
  get fingerprint(): string {
    this.fingerprintMemo ??= createHash('sha256')
      .update(
        JSON.stringify({
          code: validatorCodeFingerprint(),
          allowed: this.allowedFunctions,
          forbidden: [...FORBIDDEN_FUNCTIONS.keys()].sort(),
          tables: [...this.tables].map(([table, columns]) => [table, [...columns].sort()]).sort(),
          limits: SQL_LIMITS,
        }),
      )
      .digest('hex');
    return this.fingerprintMemo;
  }

  /**
   * Take a "valid" verdict recorded by a validator with the same fingerprint (the build-time index of the
   * built-in rules), so this SQL is not parsed again. Returns false, and records nothing, on any other
   * fingerprint: the SQL is then checked in full when it is next validated.
   */
  adoptValidVerdict(sql: string, fingerprint: string): boolean {
    if (fingerprint !== this.fingerprint) return false;
    this.verdicts.set(sql, {valid: true});
    return true;
  }

  /** The `list_<name>` tables a (valid) query reads, so the engine can create them. */
  referencedLists(sql: string): string[] {
    const names = new Set<string>();
    for (const statement of lexSql(sql).statements) {
      for (const token of statement) {
        const text = token.kind === 'ident' ? token.text.slice(1, -1) : token.text;
        const match = LIST_TABLE.exec(text.toLowerCase());
        if (match !== null && (token.kind === 'word' || token.kind === 'ident')) names.add(match[1] as string);
      }
    }
    return [...names].sort();
  }

  private collectErrors(sql: string): SqlValidationError[] {
    if (Buffer.byteLength(sql, 'utf8') > SQL_LIMITS.maxLength) {
      return [{reason: 'too_long', message: `the query is ${Buffer.byteLength(sql, 'utf8')} bytes; at most ${SQL_LIMITS.maxLength} are allowed`}];
    }
    const lexed = lexSql(sql);
    if (lexed.statements.length === 0) return [{reason: 'empty', message: 'the query is empty'}];
    const errors: SqlValidationError[] = [];
    if (lexed.maxDepth > SQL_LIMITS.maxDepth) {
      errors.push({reason: 'too_deep', message: `parentheses nest ${lexed.maxDepth} deep; at most ${SQL_LIMITS.maxDepth} are allowed`});
    }
    if (lexed.statements.length > 1) {
      const hidden = lexed.statements
        .slice(1)
        .map((s) => s[0]?.upper ?? '')
        .join(', ');
      errors.push({
        reason: 'multiple_statements',
        message: `exactly one statement is allowed, found ${lexed.statements.length} (then: ${hidden})`,
        statement: hidden,
      });
    }
    for (const statement of lexed.statements) {
      const first = statement[0]?.upper ?? '';
      if (first !== 'SELECT' && first !== 'WITH') {
        errors.push({reason: 'not_read_only', message: `only SELECT or WITH … SELECT is allowed, not ${first}`, statement: first});
      } else if (first === 'WITH') {
        // WITH … may end in a write (WITH x AS (…) DELETE …): look at the words outside the CTE bodies.
        const write = statement.find((t, i) => t.depth === 0 && t.kind === 'word' && WRITE_KEYWORDS.has(t.upper) && !punct(statement, i + 1, '('));
        if (write !== undefined)
          errors.push({reason: 'not_read_only', message: `only WITH … SELECT is allowed, not WITH … ${write.upper}`, statement: write.upper});
      }
    }
    for (const what of lexed.ambiguous)
      errors.push({reason: 'parse_error', message: `${what} is not allowed: SQLite and the validator would read it differently`});
    if (errors.length > 0) return errors;
    const statement = lexed.statements[0] as Token[];
    let ast: unknown;
    try {
      this.parserInstance ??= newParser();
      ast = this.parserInstance.astify(lexed.parserText, {database: 'sqlite'});
    } catch (error) {
      if (error instanceof RangeError) return [{reason: 'too_deep', message: 'the query is nested too deeply to analyse'}];
      return [this.parseFailure(statement, error)];
    }
    const nodes = Array.isArray(ast) ? ast : [ast];
    if (nodes.length !== 1) return [{reason: 'multiple_statements', message: `exactly one statement is allowed, found ${nodes.length}`}];
    const root = nodes[0];
    if (!isNode(root) || root.type !== 'select') {
      const type = isNode(root) ? String(root.type).toUpperCase() : 'unknown';
      return [{reason: 'not_read_only', message: `only SELECT or WITH … SELECT is allowed, not ${type}`, statement: type}];
    }
    try {
      this.visitSelect(root, undefined, errors);
    } catch (error) {
      if (error instanceof RangeError) return [{reason: 'too_deep', message: 'the query is nested too deeply to analyse'}];
      throw error;
    }
    return dedupe(errors);
  }

  private parseFailure(tokens: readonly Token[], error: unknown): SqlValidationError {
    for (let i = 0; i < tokens.length; i++) {
      for (const pattern of UNSUPPORTED) {
        if (pattern.test(tokens, i)) {
          return {
            reason: 'unsupported_syntax',
            message: `SQLite accepts ${pattern.name}, but the validator's parser cannot read it`,
            workaround: pattern.workaround,
          };
        }
      }
    }
    const detail = error instanceof Error ? error.message : String(error);
    const location = (error as {location?: {start?: {line?: number; column?: number}}}).location?.start;
    const where = location?.line === undefined ? '' : ` at line ${location.line} column ${location.column ?? 0}`;
    return {reason: 'parse_error', message: `cannot parse the query${where}: ${detail.split('\n')[0]?.slice(0, 200) ?? ''}`};
  }

  /** Visit a SELECT (and its UNION chain); returns its output columns, or null when they cannot be known. */
  private visitSelect(node: AstNode, parent: Scope | undefined, errors: SqlValidationError[]): ReadonlySet<string> | null {
    const scope: Scope = {sources: new Map(), aliases: new Set(), ctes: new Map(), parent};
    for (const cte of asArray(node.with)) {
      if (!isNode(cte)) continue;
      const name = identifier(cte.name).toLowerCase();
      const declared = asArray(cte.columns)
        .map((c) => (isNode(c) ? columnName(c) : ''))
        .filter((c) => c !== '');
      // Registered before its body is visited, so a recursive CTE can name itself.
      scope.ctes.set(name, declared.length > 0 ? new Set(declared) : null);
      const stmt = isNode(cte.stmt) ? cte.stmt : undefined;
      const body = stmt !== undefined && isNode(stmt.ast) ? stmt.ast : stmt;
      if (body !== undefined) {
        const output = this.visitSelect(body, scope, errors);
        if (declared.length === 0) scope.ctes.set(name, output);
      }
    }
    const from = asArray(node.from);
    const joins = from.length - 1;
    if (joins > SQL_LIMITS.maxJoins) {
      errors.push({reason: 'too_many_joins', message: `${joins} joins in one SELECT; at most ${SQL_LIMITS.maxJoins} are allowed`});
    }
    for (const item of from) if (isNode(item)) this.addSource(item, scope, errors);
    for (const item of from) {
      if (!isNode(item)) continue;
      if (item.on !== undefined && item.on !== null) this.visitExpr(item.on, scope, errors);
    }
    for (const column of asArray(node.columns)) if (isNode(column) && typeof column.as === 'string') scope.aliases.add(column.as.toLowerCase());
    for (const key of ['columns', 'where', 'groupby', 'having', 'orderby', 'limit', 'window']) {
      if (node[key] !== undefined && node[key] !== null) this.visitExpr(node[key], scope, errors);
    }
    const output = this.outputColumns(node, scope);
    if (isNode(node._next)) this.visitSelect(node._next, parent, errors);
    return output;
  }

  private addSource(item: AstNode, scope: Scope, errors: SqlValidationError[]): void {
    const alias = typeof item.as === 'string' ? item.as.toLowerCase() : undefined;
    if (typeof item.table === 'string') {
      const table = item.table.toLowerCase();
      const db = typeof item.db === 'string' ? item.db.toLowerCase() : null;
      if (db !== null && db !== 'main') {
        errors.push({reason: 'forbidden_table', message: `schema ${item.db} is not allowed; rules read only the snapshot`, table: `${item.db}.${item.table}`});
      }
      scope.sources.set(alias ?? table, {name: table, columns: this.tableColumns(table, scope, errors)});
      return;
    }
    const expr = item.expr;
    if (isNode(expr) && expr.type === 'function') {
      const name = functionName(expr).toLowerCase();
      if (name === 'json_each') {
        this.visitExpr(expr.args, scope, errors);
        scope.sources.set(alias ?? name, {name, columns: new Set(JSON_EACH_COLUMNS)});
      } else {
        const why = FORBIDDEN_FUNCTIONS.get(name) ?? (name.startsWith('pragma_') ? 'reads engine internals' : undefined);
        errors.push(
          why === undefined
            ? {reason: 'unknown_table', message: `table-valued function ${name} is not allowed; only json_each(column) is`, table: name}
            : {reason: 'forbidden_function', message: `function ${name} is not allowed: ${why}`, function: name},
        );
        scope.sources.set(alias ?? name, {name, columns: null});
      }
      return;
    }
    if (isNode(expr) && isNode(expr.ast)) {
      const columns = this.visitSelect(expr.ast, scope.parent, errors);
      scope.sources.set(alias ?? `(subquery ${scope.sources.size})`, {name: alias ?? 'subquery', columns});
      return;
    }
    this.visitExpr(item, scope, errors);
  }

  private tableColumns(table: string, scope: Scope, errors: SqlValidationError[]): ReadonlySet<string> | null {
    for (let s: Scope | undefined = scope; s !== undefined; s = s.parent) {
      if (s.ctes.has(table)) return s.ctes.get(table) ?? null;
    }
    const known = this.tables.get(table);
    if (known !== undefined) return known;
    if (LIST_TABLE.test(table)) return new Set(['value']);
    if (FORBIDDEN_TABLE.test(table)) {
      errors.push({reason: 'forbidden_table', message: `table ${table} is not allowed: it exposes the engine, not the snapshot`, table});
    } else {
      errors.push({
        reason: 'unknown_table',
        message: `unknown table ${table}; rules may read ${[...this.tables.keys()].join(', ')}, list_<name> and their own CTEs`,
        table,
      });
    }
    return null;
  }

  /** Output column names of a SELECT, or null when one of them cannot be named (accept any reference). */
  private outputColumns(node: AstNode, scope: Scope): ReadonlySet<string> | null {
    const names = new Set<string>();
    for (const column of asArray(node.columns)) {
      if (!isNode(column)) continue;
      if (typeof column.as === 'string') {
        names.add(column.as.toLowerCase());
        continue;
      }
      const expr = column.expr;
      if (!isNode(expr) || expr.type !== 'column_ref') continue;
      const name = columnName(expr);
      if (name !== '*') {
        names.add(name.toLowerCase());
        continue;
      }
      const qualifier = typeof expr.table === 'string' ? expr.table.toLowerCase() : undefined;
      for (const [alias, source] of scope.sources) {
        if (qualifier !== undefined && alias !== qualifier) continue;
        if (source.columns === null) return null;
        for (const c of source.columns) names.add(c);
      }
    }
    return names;
  }

  private visitExpr(value: unknown, scope: Scope, errors: SqlValidationError[]): void {
    if (Array.isArray(value)) {
      for (const item of value) this.visitExpr(item, scope, errors);
      return;
    }
    if (!isNode(value)) return;
    if (isNode(value.ast)) {
      // A subquery in an expression: it sees this query's sources (correlation).
      this.visitSelect(value.ast, scope, errors);
      return;
    }
    if (value.type === 'select') {
      this.visitSelect(value, scope, errors);
      return;
    }
    if (value.type === 'column_ref') {
      this.checkColumn(value, scope, errors);
      return;
    }
    if (value.type === 'function' || value.type === 'aggr_func') this.checkFunction(value, errors);
    for (const [key, child] of Object.entries(value)) {
      if (key === 'tableList' || key === 'columnList' || key === 'name') continue;
      this.visitExpr(child, scope, errors);
    }
  }

  private checkFunction(node: AstNode, errors: SqlValidationError[]): void {
    const name = (node.type === 'aggr_func' ? String(node.name) : functionName(node)).toLowerCase();
    if (OPERATOR_FUNCTIONS.has(name) || this.allowed.has(name)) return;
    const why = FORBIDDEN_FUNCTIONS.get(name);
    if (why !== undefined) errors.push({reason: 'forbidden_function', message: `function ${name} is not allowed: ${why}`, function: name});
    else errors.push({reason: 'unknown_function', message: `function ${name} is not on the allow-list (docs/rules-sql.md, "Functions")`, function: name});
  }

  private checkColumn(node: AstNode, scope: Scope, errors: SqlValidationError[]): void {
    const column = columnName(node).toLowerCase();
    if (column === '*' || column === '') return;
    const qualifier = typeof node.table === 'string' ? node.table.toLowerCase() : undefined;
    if (qualifier !== undefined) {
      for (let s: Scope | undefined = scope; s !== undefined; s = s.parent) {
        const source = s.sources.get(qualifier);
        if (source === undefined) continue;
        if (source.columns === null || source.columns.has(column) || (ROW_ID_COLUMNS.has(column) && this.tables.has(source.name))) return;
        errors.push({reason: 'unknown_column', message: `unknown column ${qualifier}.${column} (${source.name})`, table: source.name, column});
        return;
      }
      errors.push({reason: 'unknown_table', message: `no table or alias ${qualifier} in this query (in ${qualifier}.${column})`, table: qualifier, column});
      return;
    }
    for (let s: Scope | undefined = scope; s !== undefined; s = s.parent) {
      for (const source of s.sources.values()) {
        if (source.columns === null || source.columns.has(column) || (ROW_ID_COLUMNS.has(column) && this.tables.has(source.name))) return;
      }
      if (s.aliases.has(column)) return;
    }
    const tables = [...scope.sources.values()].map((s) => s.name).join(', ');
    errors.push({
      reason: 'unknown_column',
      message: `unknown column ${column}${tables === '' ? '' : ` (tables: ${tables})`}; see docs/schema.md`,
      column,
      ...(scope.sources.size === 1 ? {table: [...scope.sources.values()][0]?.name} : {}),
    });
  }
}

function asArray(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  return value === undefined || value === null ? [] : [value];
}

function identifier(value: unknown): string {
  if (typeof value === 'string') return value;
  if (isNode(value) && typeof value.value === 'string') return value.value;
  return '';
}

function columnName(node: AstNode): string {
  const column = node.column;
  if (typeof column === 'string') return column;
  if (isNode(column) && isNode(column.expr)) return identifier(column.expr);
  return identifier(column);
}

function functionName(node: AstNode): string {
  const name = node.name;
  if (typeof name === 'string') return name;
  if (isNode(name) && Array.isArray(name.name)) return name.name.map(identifier).join('.');
  return identifier(name);
}

function dedupe(errors: readonly SqlValidationError[]): SqlValidationError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.reason}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** One line per error, for logs and command output. */
export function describeRefusal(errors: readonly SqlValidationError[]): string {
  return errors.map((e) => (e.workaround === undefined ? `${e.reason}: ${e.message}` : `${e.reason}: ${e.message}; workaround: ${e.workaround}`)).join('; ');
}
