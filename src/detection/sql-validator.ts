// SqlValidator: the first wall of the rule sandbox. It decides, before any SQL reaches SQLite, that a query is
// one read-only SELECT over known tables and columns using only allowed functions, within size limits.
// What is allowed is data (sql-policy.ts); the tables and their columns are one input (`tables`); this file
// is the walk over node-sql-parser's syntax tree, with one visitor per node kind: a kind, or a key of a
// known kind, that no visitor knows is refused (`unknown_syntax`), so a parser upgrade cannot slip an
// unchecked subtree past it. Refusals are structured (`reason` codes) so they can be audited and tested;
// docs/rules-sql.md (generated from the policy) explains each.
import {createHash, randomUUID} from 'node:crypto';
import {createRequire} from 'node:module';

import type {Parser as SqlParser} from 'node-sql-parser/build/sqlite.js';

import {BUILD_INFO} from '../build-info.js';
import {DaemonEyeError} from '../errors.js';
import {TABLES} from '../models/tables.js';
import {closestMatch} from '../util/closest.js';
import {checkRegex} from './regex.js';
import {PREDICATE_COLUMNS, PREDICATE_LISTS, PROCESS_TRAITS_VIEW} from './rule-predicates.js';
import {type Lexed, lexSql, type Token} from './sql-lexer.js';
import {allowedFunctionNames, describePolicy, SQL_POLICY, type SqlLimits, type SqlPolicy} from './sql-policy.js';

/**
 * node-sql-parser, loaded on the first query that needs parsing: `detect` with only the built-in rules
 * takes their verdicts from the build-time index (builtin-index.ts) and never pays for it.
 */
function newParser(): SqlSyntaxParser {
  const {Parser} = createRequire(import.meta.url)('node-sql-parser/build/sqlite.js') as {Parser: new () => SqlParser};
  return new Parser();
}

/** What the validator needs of a parser: node-sql-parser's `astify` (SQLite dialect). */
export interface SqlSyntaxParser {
  astify(sql: string, options: {database: string}): unknown;
}

export interface SqlValidatorOptions {
  /** What the validator knows of the schema: the tables a query may read and their columns (default: knownTables()). */
  readonly tables?: TableCatalog;
  /** What it allows (default: SQL_POLICY). */
  readonly policy?: SqlPolicy;
  /**
   * Another parser than node-sql-parser (tests use one to hand the walk syntax trees the real parser never
   * makes). Such a validator's fingerprint is its own: no recorded verdict is ever adopted by it.
   */
  readonly parser?: SqlSyntaxParser;
}

/** Why a query was refused; stable strings, documented in docs/rules-sql.md (REFUSAL_REASONS). */
export type SqlRefusalReason =
  | 'empty'
  | 'too_long'
  | 'too_deep'
  | 'multiple_statements'
  | 'not_read_only'
  | 'parse_error'
  | 'unsupported_syntax'
  | 'unknown_syntax'
  | 'forbidden_table'
  | 'unknown_table'
  | 'unknown_column'
  | 'forbidden_function'
  | 'unknown_function'
  | 'too_many_joins'
  | 'invalid_regexp';

/** What each refusal reason means, for docs/rules-sql.md. */
export const REFUSAL_REASONS: Readonly<Record<SqlRefusalReason, string>> = {
  empty: 'no SQL',
  too_long: `more than ${SQL_POLICY.limits.maxLength / 1024} KiB`,
  too_deep: `parentheses nested more than ${SQL_POLICY.limits.maxDepth} deep, or an expression too deep to analyse`,
  multiple_statements: "more than one statement (the message names the hidden one's first word)",
  not_read_only:
    'not `SELECT`/`WITH … SELECT` (`PRAGMA`, `ATTACH`, `DETACH`, `INSERT`, `UPDATE`, `DELETE`, `REPLACE`, `CREATE`, `DROP`, `ALTER`, `VACUUM`, `WITH … DELETE`, …)',
  parse_error:
    'the parser cannot read it; also `#` outside a string (SQLite reads `#x` as a parameter, the parser as a comment) and backslashes in identifiers',
  unsupported_syntax: 'valid SQLite the parser cannot read: the message names the construct and the workaround below',
  unknown_syntax: 'the parser read a construct the validator has no rule for (the message names it); it is refused rather than passed unchecked',
  forbidden_table: '`sqlite_master`, `sqlite_schema`, `sqlite_*`, `pragma_*`, another schema',
  unknown_table: 'a table that is not in the list above, a table function other than `json_each`, an alias that does not exist',
  unknown_column: 'a column the table, CTE or subquery does not have',
  forbidden_function: 'see Functions',
  unknown_function: 'see Functions',
  too_many_joins: `more than ${SQL_POLICY.limits.maxJoins} joins in one \`SELECT\``,
  invalid_regexp:
    'a pattern literal of `REGEXP`, `regexp()` or `regexp_flags()` the linear-time engine cannot run: a construct RE2 lacks (lookaround, backreferences, atomic groups, possessive quantifiers, conditionals, PCRE-only escapes) or a syntax error; the message names the construct and its place',
};

export interface SqlValidationError {
  readonly reason: SqlRefusalReason;
  readonly message: string;
  readonly table?: string;
  readonly column?: string;
  readonly function?: string;
  readonly statement?: string;
  /** For syntax the parser cannot read: what to write instead (docs/rules-sql.md, "Syntax the validator cannot read"). */
  readonly workaround?: string;
  /** Index in the SQL text of what is refused, when known (the construct inside a pattern literal). */
  readonly offset?: number;
}

export type SqlValidationResult = {readonly valid: true} | {readonly valid: false; readonly errors: readonly SqlValidationError[]};

/** What a query reads: registry tables and named lists (`list_<name>` → `name`), each sorted. */
export interface SqlReferences {
  readonly tables: readonly string[];
  readonly lists: readonly string[];
}

const isNameList = (value: unknown): value is string[] => Array.isArray(value) && value.every((name) => typeof name === 'string');

/** Whether a value read back from an index or cache file is SqlReferences. */
export function isSqlReferences(value: unknown): value is SqlReferences {
  const candidate = value as Partial<SqlReferences> | null | undefined;
  return typeof candidate === 'object' && candidate !== null && isNameList(candidate.tables) && isNameList(candidate.lists);
}

/** Every function the default policy allows: SQLite built-ins and DaemonEye's user functions. */
export const DEFAULT_ALLOWED_FUNCTIONS: readonly string[] = allowedFunctionNames(SQL_POLICY);

/** Functions that can never be allowed, with why (from the policy). */
export const FORBIDDEN_FUNCTIONS: ReadonlyMap<string, string> = new Map(SQL_POLICY.forbiddenFunctions.map((f) => [f.name, f.why]));

export const SQL_LIMITS: SqlLimits = SQL_POLICY.limits;

/** Pseudo-functions the parser emits for operators. */
const OPERATOR_FUNCTIONS = new Set(['not', 'exists']);

/** Tables a query may read, by lower-case name, with their lower-case column names. */
export type TableCatalog = ReadonlyMap<string, ReadonlySet<string>>;

/**
 * Tables a query may read, with their columns: every table of the registry (src/models/tables.ts), and
 * for `detect --baseline FILE` each of them again as `baseline_<table>` (not the alerts).
 */
export function knownTables(): TableCatalog {
  const tables = new Map<string, ReadonlySet<string>>(TABLES.map((table) => [table.name, new Set(table.columns.map((c) => c.name))]));
  for (const [name, columns] of [...tables]) if (name !== 'alerts') tables.set(`baseline_${name}`, columns);
  // The shared predicates' view (rule-predicates.ts): every column of processes plus one per predicate.
  tables.set(PROCESS_TRAITS_VIEW, new Set([...(tables.get('processes') ?? []), ...PREDICATE_COLUMNS]));
  return tables;
}

/** `list_<name>`: a named list (docs/rules-format.md, "Named lists"). */
export const LIST_TABLE = /^list_([a-z0-9_]+)$/;
const ROW_ID_COLUMNS = new Set(['rowid', 'oid', '_rowid_']);

const punct = (tokens: readonly Token[], index: number, value: string): boolean => tokens[index]?.kind === 'punct' && tokens[index]?.text === value;

const WRITE_KEYWORDS = new Set(['INSERT', 'UPDATE', 'DELETE', 'REPLACE']);

type AstNode = Record<string, unknown>;

const isNode = (value: unknown): value is AstNode => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Whether a key of a node carries anything: null, undefined, false and [] carry nothing. */
const present = (value: unknown): boolean => value !== null && value !== undefined && value !== false && !(Array.isArray(value) && value.length === 0);

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

/**
 * How the walk handles one kind of expression node (node-sql-parser's `type`): the keys it understands
 * (besides `type` and `parentheses`) and what it checks and visits. A key outside `keys` that carries
 * anything refuses the node, as does a kind with no entry.
 */
interface ExpressionVisitor {
  readonly keys: readonly string[];
  readonly visit?: (walk: SqlValidator, node: AstNode, scope: Scope, errors: SqlValidationError[]) => void;
}

/** A literal: nothing to check. */
const literal = (...keys: string[]): ExpressionVisitor => ({keys: ['value', ...keys]});

/** The keys of a SELECT node the walk handles; any other key that carries something refuses the query. */
const SELECT_KEYS = ['with', 'options', 'distinct', 'columns', 'from', 'where', 'groupby', 'having', 'orderby', 'limit', 'for_update', '_next', 'set_op'];
const FROM_TABLE_KEYS = ['db', 'table', 'as', 'join', 'on', 'using'];
const FROM_EXPR_KEYS = ['expr', 'as', 'join', 'on', 'using'];

/**
 * Validates rule and query SQL (the reference API's `SqlValidator`, docs/api.md): builder methods, then
 * `validateQuery`. `tables` is what the validator knows of the schema (default: the snapshot's tables from
 * the models); `policy` is what it allows (default: SQL_POLICY).
 */
export class SqlValidator {
  /** One visitor per expression node kind; a kind without one is refused (`unknown_syntax`). */
  private static readonly expressionVisitors: Readonly<Record<string, ExpressionVisitor>> = {
    column_ref: {keys: ['table', 'column', 'collate'], visit: (walk, node, scope, errors) => walk.checkColumn(node, scope, errors)},
    function: {
      keys: ['name', 'args', 'over'],
      visit: (walk, node, scope, errors) => {
        walk.checkFunction(functionName(node), errors);
        walk.visitExpr(node.args, scope, errors);
        walk.visitWindow(node.over, scope, errors);
      },
    },
    aggr_func: {
      keys: ['name', 'args', 'over'],
      visit: (walk, node, scope, errors) => {
        walk.checkFunction(String(node.name), errors);
        if (present(node.args)) {
          if (isNode(node.args) && walk.knownKeys(node.args, ['expr', 'distinct', 'orderby'], 'aggregate arguments', errors)) {
            walk.visitExpr(node.args.expr, scope, errors);
            walk.visitOrderBy(node.args.orderby, scope, errors);
          } else if (!isNode(node.args)) {
            walk.unknownSyntax('aggregate arguments', errors);
          }
        }
        walk.visitWindow(node.over, scope, errors);
      },
    },
    binary_expr: {keys: ['operator', 'left', 'right'], visit: (walk, node, scope, errors) => walk.visitChildren(node, ['left', 'right'], scope, errors)},
    unary_expr: {keys: ['operator', 'expr'], visit: (walk, node, scope, errors) => walk.visitChildren(node, ['expr'], scope, errors)},
    case: {keys: ['expr', 'args'], visit: (walk, node, scope, errors) => walk.visitChildren(node, ['expr', 'args'], scope, errors)},
    when: {keys: ['cond', 'result'], visit: (walk, node, scope, errors) => walk.visitChildren(node, ['cond', 'result'], scope, errors)},
    else: {keys: ['result'], visit: (walk, node, scope, errors) => walk.visitChildren(node, ['result'], scope, errors)},
    // `target` is the type name: data, not an expression.
    cast: {keys: ['keyword', 'expr', 'symbol', 'target'], visit: (walk, node, scope, errors) => walk.visitChildren(node, ['expr'], scope, errors)},
    expr_list: {keys: ['value'], visit: (walk, node, scope, errors) => walk.visitChildren(node, ['value'], scope, errors)},
    // Not SQLite syntax (SQLite refuses it when the query is prepared), but harmless: accepted as before.
    interval: {keys: ['expr', 'unit'], visit: (walk, node, scope, errors) => walk.visitChildren(node, ['expr'], scope, errors)},
    ESCAPE: {keys: ['value'], visit: (walk, node, scope, errors) => walk.visitChildren(node, ['value'], scope, errors)},
    // String literals may carry `ESCAPE '…'` (visited) and a `COLLATE` suffix (a collation name).
    single_quote_string: {keys: ['value', 'escape', 'suffix'], visit: (walk, node, scope, errors) => walk.visitChildren(node, ['escape'], scope, errors)},
    double_quote_string: {keys: ['value', 'escape', 'suffix'], visit: (walk, node, scope, errors) => walk.visitChildren(node, ['escape'], scope, errors)},
    backticks_quote_string: literal(),
    string: literal(),
    number: literal(),
    bigint: literal(),
    bool: literal(),
    null: literal(),
    star: literal(),
    hex_string: literal('prefix'),
    full_hex_string: literal('prefix'),
    bit_string: literal('prefix'),
    // Identifiers the parser leaves unresolved (`USING (x)`, quoted names).
    default: literal(),
    // Bound parameters (`?`, `:p`, `$p`, `@p`): rules bind none, so SQLite reads them as NULL.
    origin: literal(),
    param: literal(),
    var: {keys: ['name', 'members', 'prefix']},
  };

  private readonly policy: SqlPolicy;
  private readonly tables: TableCatalog;
  private readonly forbidden: ReadonlyMap<string, string>;
  private allowed: Set<string>;
  private readOnly = true;
  private timeout = 30_000;
  private parserInstance: SqlSyntaxParser | undefined;
  /** Set when the caller gave its own parser: verdicts then depend on code the fingerprint cannot see. */
  private readonly customParser: string | undefined;
  private fingerprintMemo: string | undefined;
  /**
   * Verdicts by SQL text. A rule is checked when its file is loaded and again before it runs (defence in
   * depth); parsing is the costly part of `detect`'s start-up, so the second check is a lookup. Builder
   * methods that change what is allowed clear it.
   */
  private readonly verdicts = new Map<string, SqlValidationResult>();
  /**
   * Tokens by SQL text: a run asks for a rule's tables and lists several times (what to collect, what each
   * snapshot lacks, which lists to create), and lexing them again each time was ≈ 5 % of a live `detect`'s
   * main-thread CPU (docs/performance.md). The lexer reads nothing but the text, so this never changes a verdict.
   */
  private readonly lexedBySql = new Map<string, Lexed>();
  /**
   * The tables and lists each SQL text reads (referencedTables, referencedLists), worked out once per text,
   * or taken from a build-time index or the rule cache with the verdict (adoptValidVerdict), so a run over
   * cached rules lexes none of them.
   */
  private readonly referencesBySql = new Map<string, SqlReferences>();

  constructor(options: SqlValidatorOptions = {}) {
    this.policy = options.policy ?? SQL_POLICY;
    this.parserInstance = options.parser;
    this.customParser = options.parser === undefined ? undefined : randomUUID();
    this.tables = options.tables ?? knownTables();
    this.forbidden = new Map(this.policy.forbiddenFunctions.map((f) => [f.name, f.why]));
    this.allowed = new Set(allowedFunctionNames(this.policy));
  }

  /** Replace the allow-list of functions (names are case-insensitive); forbidden functions cannot be allowed. */
  withAllowedFunctions(names: readonly string[]): this {
    const lower = names.map((n) => n.toLowerCase());
    const forbidden = lower.filter((n) => this.forbidden.has(n));
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

  /** The lexer's tokens of `sql`, once per text (rule-sized texts only, like the verdicts). */
  private lex(sql: string): Lexed {
    let lexed = this.lexedBySql.get(sql);
    if (lexed === undefined) {
      lexed = lexSql(sql);
      if (sql.length <= 65_536) this.lexedBySql.set(sql, lexed);
    }
    return lexed;
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
   * Identifies what this validator accepts: its code (every sql-* module), the parser's version, the
   * policy (functions, limits, forbidden tables, unsupported syntax), the function allow-list in force and
   * the tables and columns. Two validators with one fingerprint give the same verdict on any SQL.
   */
  get fingerprint(): string {
    this.fingerprintMemo ??= createHash('sha256')
      .update(
        JSON.stringify({
          code: BUILD_INFO.validatorCode,
          parser: this.customParser ?? 'node-sql-parser',
          policy: describePolicy(this.policy),
          allowed: this.allowedFunctions,
          tables: [...this.tables].map(([table, columns]) => [table, [...columns].sort()]).sort(),
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
  adoptValidVerdict(sql: string, fingerprint: string, references?: unknown): boolean {
    if (fingerprint !== this.fingerprint) return false;
    this.verdicts.set(sql, {valid: true});
    // References recorded with the verdict (same fingerprint: the same tables, lists and lexer), when well formed.
    if (isSqlReferences(references) && sql.length <= 65_536) this.referencesBySql.set(sql, {tables: [...references.tables], lists: [...references.lists]});
    return true;
  }

  /** The registry tables and the named lists `sql` reads (referencedTables, referencedLists), for a build-time index or the rule cache to record with its verdict. */
  references(sql: string): SqlReferences {
    let known = this.referencesBySql.get(sql);
    if (known === undefined) {
      known = {tables: this.tablesOf(sql), lists: this.listsOf(sql)};
      if (sql.length <= 65_536) this.referencesBySql.set(sql, known);
    }
    return known;
  }

  /**
   * The registry tables a (valid) query reads, sorted, so a live run collects exactly those (osquery reads
   * only the tables a query uses). Taken from the lexer's tokens: a table can only be read where its name
   * is a word or quoted identifier of the SQL, so this is never less than what the query reads; a column
   * alias or CTE that shadows a table name only makes a run collect one table more. Works without parsing,
   * so built-in rules whose verdict comes from the build-time index cost no parse here either.
   */
  referencedTables(sql: string): string[] {
    return [...this.references(sql).tables];
  }

  private tablesOf(sql: string): string[] {
    const names = new Set<string>();
    for (const statement of this.lex(sql).statements) {
      for (const token of statement) {
        if (token.kind !== 'word' && token.kind !== 'ident') continue;
        const text = (token.kind === 'ident' ? token.text.slice(1, -1) : token.text).toLowerCase();
        if (this.tables.has(text)) names.add(text);
      }
    }
    return [...names].sort();
  }

  /** The `list_<name>` tables a (valid) query reads, so the engine can create them. */
  referencedLists(sql: string): string[] {
    return [...this.references(sql).lists];
  }

  private listsOf(sql: string): string[] {
    const names = new Set<string>();
    for (const statement of this.lex(sql).statements) {
      for (const token of statement) {
        const text = token.kind === 'ident' ? token.text.slice(1, -1) : token.text;
        const match = LIST_TABLE.exec(text.toLowerCase());
        if (match !== null && (token.kind === 'word' || token.kind === 'ident')) names.add(match[1] as string);
        // The shared predicates' view reads its lists for the query.
        if ((token.kind === 'word' || token.kind === 'ident') && text.toLowerCase() === PROCESS_TRAITS_VIEW)
          for (const list of PREDICATE_LISTS) names.add(list);
      }
    }
    return [...names].sort();
  }

  private collectErrors(sql: string): SqlValidationError[] {
    if (Buffer.byteLength(sql, 'utf8') > this.policy.limits.maxLength) {
      return [{reason: 'too_long', message: `the query is ${Buffer.byteLength(sql, 'utf8')} bytes; at most ${this.policy.limits.maxLength} are allowed`}];
    }
    const lexed = this.lex(sql);
    if (lexed.statements.length === 0) return [{reason: 'empty', message: 'the query is empty'}];
    const errors: SqlValidationError[] = [];
    if (lexed.maxDepth > this.policy.limits.maxDepth) {
      errors.push({reason: 'too_deep', message: `parentheses nest ${lexed.maxDepth} deep; at most ${this.policy.limits.maxDepth} are allowed`});
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
    errors.push(...patternErrors(statement));
    return dedupe(errors).map((error) => withOffset(error, statement));
  }

  private parseFailure(tokens: readonly Token[], error: unknown): SqlValidationError {
    for (let i = 0; i < tokens.length; i++) {
      for (const pattern of this.policy.unsupportedSyntax) {
        if (pattern.test(tokens, i)) {
          return {
            reason: 'unsupported_syntax',
            message: `SQLite accepts ${pattern.construct}, but the validator's parser cannot read it`,
            workaround: pattern.workaround,
          };
        }
      }
    }
    const detail = error instanceof Error ? error.message : String(error);
    const location = (error as {location?: {start?: {line?: number; column?: number; offset?: number}}}).location?.start;
    const where = location?.line === undefined ? '' : ` at line ${location.line} column ${location.column ?? 0}`;
    const offset = location?.offset;
    // A column named like an SQL keyword (`end`, `offset`) parses as the keyword: say so, and how to quote it.
    const before = offset === undefined ? undefined : [...tokens].reverse().find((t) => t.offset < offset && t.kind === 'word');
    const keywordColumn = before !== undefined && KNOWN_COLUMN_NAMES.has(before.text.toLowerCase()) ? before.text : undefined;
    return {
      reason: 'parse_error',
      message: `cannot parse the query${where}: ${detail.split('\n')[0]?.slice(0, 200) ?? ''}`,
      ...(offset === undefined ? {} : {offset}),
      ...(keywordColumn === undefined ? {} : {workaround: `${keywordColumn} is an SQL keyword: quote the column as "${keywordColumn}"`}),
    };
  }

  /** Visit a SELECT (and its UNION chain); returns its output columns, or null when they cannot be known. */
  private visitSelect(node: AstNode, parent: Scope | undefined, errors: SqlValidationError[]): ReadonlySet<string> | null {
    const scope: Scope = {sources: new Map(), aliases: new Set(), ctes: new Map(), parent};
    if (!this.knownKeys(node, SELECT_KEYS, 'SELECT', errors)) return null;
    for (const cte of asArray(node.with)) {
      if (!isNode(cte) || !this.knownKeys(cte, ['name', 'stmt', 'columns', 'recursive'], 'WITH', errors)) continue;
      const name = identifier(cte.name).toLowerCase();
      const declared = asArray(cte.columns)
        .map((c) => (isNode(c) ? columnName(c) : ''))
        .filter((c) => c !== '');
      // Registered before its body is visited, so a recursive CTE can name itself.
      scope.ctes.set(name, declared.length > 0 ? new Set(declared) : null);
      const stmt = isNode(cte.stmt) ? cte.stmt : undefined;
      const body = stmt !== undefined && isNode(stmt.ast) ? stmt.ast : stmt;
      if (body === undefined) {
        this.unknownSyntax('a WITH clause without a body', errors);
        continue;
      }
      const output = this.visitSelect(body, scope, errors);
      if (declared.length === 0) scope.ctes.set(name, output);
    }
    const from = asArray(node.from);
    const joins = from.length - 1;
    if (joins > this.policy.limits.maxJoins) {
      errors.push({reason: 'too_many_joins', message: `${joins} joins in one SELECT; at most ${this.policy.limits.maxJoins} are allowed`});
    }
    for (const item of from) {
      if (isNode(item)) this.addSource(item, scope, errors);
      else this.unknownSyntax('a FROM item', errors);
    }
    // ON conditions see every source of the FROM clause; USING names columns, checked by SQLite.
    for (const item of from) if (isNode(item)) this.visitExpr(item.on, scope, errors);
    const columns = asArray(node.columns);
    for (const column of columns) if (isNode(column) && typeof column.as === 'string') scope.aliases.add(column.as.toLowerCase());
    for (const column of columns) {
      if (isNode(column) && this.knownKeys(column, ['expr', 'as'], 'a result column', errors)) this.visitExpr(column.expr, scope, errors);
      else if (!isNode(column)) this.unknownSyntax('a result column', errors);
    }
    this.visitExpr(node.where, scope, errors);
    const groupBy = node.groupby;
    if (isNode(groupBy)) {
      if (this.knownKeys(groupBy, ['columns', 'modifiers'], 'GROUP BY', errors)) this.visitExpr(groupBy.columns, scope, errors);
    } else {
      this.visitExpr(groupBy, scope, errors);
    }
    this.visitExpr(node.having, scope, errors);
    this.visitOrderBy(node.orderby, scope, errors);
    const limit = node.limit;
    if (isNode(limit)) {
      if (this.knownKeys(limit, ['seperator', 'value'], 'LIMIT', errors)) this.visitExpr(limit.value, scope, errors);
    } else if (present(limit)) {
      this.unknownSyntax('LIMIT', errors);
    }
    const output = this.outputColumns(node, scope);
    if (isNode(node._next)) this.visitSelect(node._next, parent, errors);
    else if (present(node._next)) this.unknownSyntax('a compound SELECT', errors);
    return output;
  }

  /** ORDER BY items (`{expr, type: ASC|DESC}`), in a SELECT, a window or an aggregate. */
  private visitOrderBy(value: unknown, scope: Scope, errors: SqlValidationError[]): void {
    for (const item of asArray(value)) {
      if (isNode(item) && this.knownKeys(item, ['expr', 'type'], 'ORDER BY', errors)) this.visitExpr(item.expr, scope, errors);
      else if (!isNode(item)) this.unknownSyntax('ORDER BY', errors);
    }
  }

  /** A window (`OVER (PARTITION BY … ORDER BY …)`). */
  private visitWindow(value: unknown, scope: Scope, errors: SqlValidationError[]): void {
    if (!present(value)) return;
    if (!isNode(value) || !this.knownKeys(value, ['partitionby', 'orderby'], 'OVER', errors)) {
      if (!isNode(value)) this.unknownSyntax('OVER', errors);
      return;
    }
    for (const item of asArray(value.partitionby)) {
      if (isNode(item) && this.knownKeys(item, ['expr', 'as'], 'PARTITION BY', errors)) this.visitExpr(item.expr, scope, errors);
      else if (!isNode(item)) this.unknownSyntax('PARTITION BY', errors);
    }
    this.visitOrderBy(value.orderby, scope, errors);
  }

  private addSource(item: AstNode, scope: Scope, errors: SqlValidationError[]): void {
    const alias = typeof item.as === 'string' ? item.as.toLowerCase() : undefined;
    for (const using of asArray(item.using)) {
      if (!isNode(using) || using.type !== 'default' || typeof using.value !== 'string') this.unknownSyntax('USING', errors);
    }
    if (typeof item.table === 'string') {
      if (!this.knownKeys(item, FROM_TABLE_KEYS, 'a FROM table', errors)) return this.unreadableSource(alias, scope);
      const table = item.table.toLowerCase();
      const db = typeof item.db === 'string' ? item.db.toLowerCase() : null;
      if (db !== null && db !== 'main') {
        errors.push({reason: 'forbidden_table', message: `schema ${item.db} is not allowed; rules read only the snapshot`, table: `${item.db}.${item.table}`});
      }
      scope.sources.set(alias ?? table, {name: table, columns: this.tableColumns(table, scope, errors)});
      return;
    }
    if (!this.knownKeys(item, FROM_EXPR_KEYS, 'a FROM item', errors)) return this.unreadableSource(alias, scope);
    const expr = item.expr;
    if (isNode(expr) && expr.type === 'function') {
      if (!this.knownKeys(expr, SqlValidator.expressionVisitors.function?.keys ?? [], 'a table-valued function', errors))
        return this.unreadableSource(alias, scope);
      const name = functionName(expr).toLowerCase();
      const tableFunction = this.policy.tableFunctions.find((f) => f.name === name);
      if (tableFunction !== undefined) {
        this.visitExpr(expr.args, scope, errors);
        scope.sources.set(alias ?? name, {name, columns: new Set(tableFunction.columns)});
      } else {
        const why = this.forbidden.get(name) ?? (name.startsWith('pragma_') ? 'reads engine internals' : undefined);
        const allowed = this.policy.tableFunctions.map((f) => `${f.name}(column)`).join(', ');
        errors.push(
          why === undefined
            ? {reason: 'unknown_table', message: `table-valued function ${name} is not allowed; only ${allowed} is`, table: name}
            : {reason: 'forbidden_function', message: `function ${name} is not allowed: ${why}`, function: name},
        );
        scope.sources.set(alias ?? name, {name, columns: null});
      }
      return;
    }
    if (isNode(expr) && isNode(expr.ast)) {
      if (!this.knownKeys(expr, ['ast', 'tableList', 'columnList'], 'a subquery in FROM', errors)) return this.unreadableSource(alias, scope);
      const columns = this.visitSelect(expr.ast, scope.parent, errors);
      scope.sources.set(alias ?? `(subquery ${scope.sources.size})`, {name: alias ?? 'subquery', columns});
      return;
    }
    this.unknownSyntax(isNode(expr) && typeof expr.type === 'string' ? `${expr.type} in FROM` : 'a FROM item', errors);
    this.unreadableSource(alias, scope);
  }

  /** A FROM item already refused: a source of unknown columns, so its columns are not refused a second time. */
  private unreadableSource(alias: string | undefined, scope: Scope): void {
    scope.sources.set(alias ?? `(unreadable ${scope.sources.size})`, {name: 'unreadable', columns: null});
  }

  private tableColumns(table: string, scope: Scope, errors: SqlValidationError[]): ReadonlySet<string> | null {
    for (let s: Scope | undefined = scope; s !== undefined; s = s.parent) {
      if (s.ctes.has(table)) return s.ctes.get(table) ?? null;
    }
    const known = this.tables.get(table);
    if (known !== undefined) return known;
    if (LIST_TABLE.test(table)) return new Set(['value']);
    if (this.policy.forbiddenTables.some((pattern) => pattern.test(table))) {
      errors.push({reason: 'forbidden_table', message: `table ${table} is not allowed: it exposes the engine, not the snapshot`, table});
    } else {
      const guess = closestMatch(table, [...this.tables.keys()]);
      errors.push({
        reason: 'unknown_table',
        message: `unknown table ${table}${guess === undefined ? '' : ` (did you mean ${guess}?)`}; rules may read ${[...this.tables.keys()].join(', ')}, list_<name> and their own CTEs`,
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

  /** Visit an expression (or a list of them): one visitor per node kind, subqueries as SELECTs. */
  private visitExpr(value: unknown, scope: Scope, errors: SqlValidationError[]): void {
    if (Array.isArray(value)) {
      for (const item of value) this.visitExpr(item, scope, errors);
      return;
    }
    // Absent parts, and the plain strings and numbers some literals carry, need no check.
    if (!isNode(value)) return;
    if (isNode(value.ast)) {
      // A subquery in an expression: it sees this query's sources (correlation).
      if (this.knownKeys(value, ['ast', 'tableList', 'columnList'], 'a subquery', errors)) this.visitSelect(value.ast, scope, errors);
      return;
    }
    if (value.type === 'select') {
      this.visitSelect(value, scope, errors);
      return;
    }
    const kind = typeof value.type === 'string' ? value.type : undefined;
    const visitor = kind === undefined ? undefined : SqlValidator.expressionVisitors[kind];
    if (visitor === undefined) {
      this.unknownSyntax(kind === undefined ? `an expression without a kind (keys ${Object.keys(value).join(', ')})` : `the expression kind ${kind}`, errors);
      return;
    }
    if (this.knownKeys(value, visitor.keys, kind ?? '', errors)) visitor.visit?.(this, value, scope, errors);
  }

  private visitChildren(node: AstNode, keys: readonly string[], scope: Scope, errors: SqlValidationError[]): void {
    for (const key of keys) this.visitExpr(node[key], scope, errors);
  }

  /**
   * Whether every key of `node` that carries something is one the walk understands (`type` and
   * `parentheses` always are); if not, the query is refused, naming the construct and the key.
   */
  private knownKeys(node: AstNode, keys: readonly string[], what: string, errors: SqlValidationError[]): boolean {
    const unknown = Object.keys(node).filter((key) => key !== 'type' && key !== 'parentheses' && !keys.includes(key) && present(node[key]));
    if (unknown.length === 0) return true;
    this.unknownSyntax(`${what} with ${unknown.join(', ')}`, errors);
    return false;
  }

  private unknownSyntax(what: string, errors: SqlValidationError[]): void {
    errors.push({reason: 'unknown_syntax', message: `the validator has no rule for ${what}; it refuses what it cannot check`});
  }

  private checkFunction(name: string, errors: SqlValidationError[]): void {
    const lower = name.toLowerCase();
    if (OPERATOR_FUNCTIONS.has(lower) || this.allowed.has(lower)) return;
    const why = this.forbidden.get(lower);
    if (why !== undefined) errors.push({reason: 'forbidden_function', message: `function ${lower} is not allowed: ${why}`, function: lower});
    else errors.push({reason: 'unknown_function', message: `function ${lower} is not on the allow-list (docs/rules-sql.md, "Functions")`, function: lower});
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
        const guess = closestMatch(column, [...source.columns]);
        errors.push({
          reason: 'unknown_column',
          message: `unknown column ${qualifier}.${column} (${source.name})${guess === undefined ? '' : `; did you mean ${qualifier}.${guess}?`}`,
          table: source.name,
          column,
        });
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
    const candidates = [...scope.sources.values()].flatMap((source) => [...(source.columns ?? [])]);
    const guess = closestMatch(column, [...new Set(candidates)]);
    errors.push({
      reason: 'unknown_column',
      message: `unknown column ${column}${tables === '' ? '' : ` (tables: ${tables})`}${guess === undefined ? '' : `; did you mean ${guess}?`}; see docs/schema.md`,
      column,
      ...(scope.sources.size === 1 ? {table: [...scope.sources.values()][0]?.name} : {}),
    });
  }
}

/** Every column name of every table: a word that parses as a keyword but names a column gets a quoting hint. */
const KNOWN_COLUMN_NAMES: ReadonlySet<string> = new Set(TABLES.flatMap((t) => t.columns.map((c) => c.name)));

/** An identifier token's name: unquoted, lower case. */
function identifierName(token: Token): string | undefined {
  if (token.kind === 'word') return token.text.toLowerCase();
  if (token.kind === 'ident') return token.text.slice(1, -1).toLowerCase();
  return undefined;
}

/**
 * The error with the offset of what it names (the column, table or function's first use as an identifier),
 * so a rule file can point at the mistake itself, not at `sql_query:`. Errors that already have one, or
 * name nothing, are returned as they are.
 */
function withOffset(error: SqlValidationError, tokens: readonly Token[]): SqlValidationError {
  if (error.offset !== undefined) return error;
  const name = error.reason === 'unknown_column' ? error.column : (error.table ?? error.function ?? error.column);
  if (name === undefined) return error;
  const wanted = name.toLowerCase();
  const at = tokens.find((token) => identifierName(token) === wanted);
  return at === undefined ? error : {...error, offset: at.offset};
}

/** The text of a SQL string literal token (`'it''s'` → `it's`). */
function stringValue(token: Token): string {
  return token.text.slice(1, -1).replaceAll("''", "'");
}

/** Where character `index` of a string literal's value sits in the SQL: after the quote, and after each doubled quote before it. */
function literalOffset(token: Token, index: number): number {
  const value = stringValue(token);
  let quotes = 0;
  for (let i = value.indexOf("'"); i !== -1 && i < index; i = value.indexOf("'", i + 1)) quotes++;
  return token.offset + 1 + index + quotes;
}

/** Operators that bind tighter than REGEXP: a literal followed by one is only part of the pattern. */
const TIGHTER_THAN_REGEXP = new Set(['|', '*', '/', '%', '+', '-', '<', '>', '&', '~']);

/** The literal at `index` is a whole operand: the next token does not continue the expression. */
function wholeOperand(tokens: readonly Token[], index: number): boolean {
  const next = tokens[index + 1];
  if (next === undefined) return true;
  if (next.kind === 'punct') return !TIGHTER_THAN_REGEXP.has(next.text);
  return !(next.kind === 'word' && (next.upper === 'COLLATE' || next.upper === 'ESCAPE'));
}

/**
 * Every pattern literal of `x REGEXP 'p'`, `regexp('p', x)` and `regexp_flags('p', 'flags', x)` checked on
 * the rule workers' engine, so a rule with a pattern RE2 cannot run is refused before it runs, with the
 * construct named and its place in the SQL. Patterns built at run time (from a column, a list, `||`) are
 * checked when the rule runs: an error of that rule.
 */
function patternErrors(tokens: readonly Token[]): SqlValidationError[] {
  const errors: SqlValidationError[] = [];
  const stringAt = (i: number): Token | undefined => (tokens[i]?.kind === 'string' ? tokens[i] : undefined);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as Token;
    if (token.kind !== 'word' || (token.upper !== 'REGEXP' && token.upper !== 'REGEXP_FLAGS')) continue;
    // `x REGEXP 'p'`, or `regexp('p', …)` / `x REGEXP ('p')` / `regexp_flags('p', 'flags', …)`.
    const at = stringAt(i + 1) !== undefined ? i + 1 : punct(tokens, i + 1, '(') && stringAt(i + 2) !== undefined ? i + 2 : -1;
    if (at === -1 || !wholeOperand(tokens, at)) continue;
    const literal = tokens[at] as Token;
    let flags = '';
    if (token.upper === 'REGEXP_FLAGS' && at === i + 2) {
      const flagToken = punct(tokens, at + 1, ',') ? stringAt(at + 2) : undefined;
      if (flagToken !== undefined && wholeOperand(tokens, at + 2)) flags = stringValue(flagToken);
    }
    const problem = checkRegex(stringValue(literal), flags);
    if (problem === null) continue;
    errors.push({
      reason: 'invalid_regexp',
      message: `the pattern ${literal.text.length > 80 ? `${literal.text.slice(0, 77)}…'` : literal.text}: ${problem.message}`,
      offset: problem.index === null ? literal.offset : literalOffset(literal, problem.index),
    });
  }
  return errors;
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
