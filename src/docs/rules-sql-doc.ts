// docs/rules-sql.md: what the rule-SQL validator accepts, generated from its policy (src/detection/sql-policy.ts),
// its refusal reasons and the tables it knows, so the page and the validator cannot disagree (a test compares the
// committed page with this rendering).
import {QUERY_MAX_ROWS} from '../detection/detect.js';
import {DEFAULT_MAX_ROWS} from '../detection/engine.js';
import {SQL_POLICY, type SqlPolicy} from '../detection/sql-policy.js';
import {knownTables, REFUSAL_REASONS, type TableCatalog} from '../detection/sql-validator.js';

const code = (text: string): string => `\`${text}\``;
const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
const count = (n: number): string => n.toLocaleString('en-US');

export function renderRulesSqlDoc(policy: SqlPolicy = SQL_POLICY, tables: TableCatalog = knownTables()): string {
  const {limits} = policy;
  const tableNames = [...tables.keys()].map(code).join(', ');
  const tableFunctions = policy.tableFunctions.map((f) => `${code(`${f.name}(column)`)} (columns ${code(f.columns.join(', '))})`).join(', ');
  const lines = [
    '# Rule SQL: what the validator accepts',
    '',
    '<!-- Generated from src/detection/sql-policy.ts and src/detection/sql-validator.ts by `npm run docs`; do not edit by hand. -->',
    '',
    "Every rule's `sql_query` and every `daemoneye query` goes through the same validator",
    '(`src/detection/sql-validator.ts`, its policy in `src/detection/sql-policy.ts`) before it reaches SQLite, and',
    'then runs in a sandbox worker. A refusal names a stable **reason** (below) so refused SQL can be audited and',
    'matched by scripts; `rules validate` prints it as `file:line:col: sql_query: problem`, `query` exits 2 with',
    '`{"error": {"code": "SQL_REFUSED", "details": ["reason: message", …]}}` under `--format json`.',
    '',
    '## The shape of a query',
    '',
    '- **Exactly one statement**, `SELECT` or `WITH … SELECT` (`UNION`, `UNION ALL` included). Statements are',
    '  split the way SQLite splits them (strings, `"identifiers"`, `-- comments` and `/* comments */`), so a',
    '  second statement hidden after a comment is found. A trailing `;` is fine.',
    '- **Each result row is one process** and must carry a numeric `pid` column. Other columns go into the',
    "  alert's `alert_data.processes`; `name` (or a `process_name` column) feeds the default dedupe key.",
    `- **Tables**: ${tableNames} (columns: [schema.md](schema.md)), the named lists`,
    `  \`list_<name>(value)\` ([rules-format.md](rules-format.md#named-lists)), ${tableFunctions} and the query's own`,
    `  CTE names. There are no views. Tables matching ${policy.forbiddenTables.map((p) => code(p.source)).join(', ')} (\`sqlite_master\`,`,
    '  `sqlite_schema`, `pragma_*` table functions) and any other schema (`temp.`, `aux.`) are refused.',
    '- **Columns** are checked against the tables: an unknown column of a known table is refused, as is an',
    '  unknown column of a CTE or a subquery in `FROM` whose output columns can be named (`AS` aliases,',
    '  plain column references, `*`). `rowid` is allowed on the tables. Output aliases may be used in `WHERE`,',
    '  `GROUP BY`, `HAVING` and `ORDER BY`, as SQLite allows.',
    `- **Limits**: at most ${limits.maxLength / 1024} KiB of SQL, parentheses nested at most ${limits.maxDepth} deep (checked by a cheap scan`,
    '  *before* parsing, so a 1,000-deep expression never reaches the recursive parser), at most',
    `  ${limits.maxJoins} joins per \`SELECT\`.`,
    '- **Only what the validator knows**: it walks the parsed query with one visitor per kind of syntax node',
    '  (column, function call, operator, literal, `CASE`, `CAST`, subquery, …). A node kind it has no visitor',
    '  for, or a part of a known node it does not expect, is refused (`unknown_syntax`) rather than passed',
    '  unchecked.',
    '- **At run time** (the sandbox, `src/detection/engine.ts`): the query runs in a worker thread on its own',
    '  in-memory copy of the snapshot (sql.js: no real files, no extensions, `ATTACH` cannot reach the disk),',
    '  as one prepared statement (nothing after the first statement can run), with `PRAGMA query_only` set on',
    `  the copy. At most ${count(DEFAULT_MAX_ROWS)} rows are kept per rule (${count(QUERY_MAX_ROWS)} for \`query\`; the summary names rules`,
    '  that hit it). A rule past `detection.rule_timeout_ms` (or its own `timeout_ms`) is killed with its worker',
    '  (`worker.terminate()`), which is replaced; the other rules go on. The whole run has a deadline',
    '  (`detection.run_timeout_ms`, `detect --timeout`): rules not finished by then are reported as not run.',
    '',
    '## Functions',
    '',
    'Allowed (case-insensitive):',
    '',
    '| function | why it is safe / what it is for |',
    '|---|---|',
    ...policy.allowedFunctions.map((group) => {
      const names = [...group.names.map(code), ...(group.syntax ?? []).map(code)].join(', ');
      return `| ${cell(names)} | ${cell(group.why)} |`;
    }),
    ...policy.tableFunctions.map((f) => `| ${code(f.name)} (in \`FROM\`) | ${cell(f.why)} |`),
    '',
    'Registered by DaemonEye in every rule database (user functions):',
    '',
    '| function | what it does |',
    '|---|---|',
    ...policy.userFunctions.map((udf) => `| ${cell(udf.usage)} | ${cell(udf.description)} |`),
    '',
    'Never allowed, whatever `withAllowedFunctions` says (reason `forbidden_function`):',
    '',
    '| function | why |',
    '|---|---|',
    ...policy.forbiddenFunctions.map((f) => `| ${code(f.name)} | ${cell(f.why)} |`),
    '',
    'Any other function is `unknown_function`.',
    '',
    '## Refusal reasons',
    '',
    '| reason | meaning |',
    '|---|---|',
    ...Object.entries(REFUSAL_REASONS).map(([reason, meaning]) => `| ${code(reason)} | ${cell(meaning)} |`),
    '',
    '## Syntax the validator cannot read, and what to write instead',
    '',
    "The validator's parser (node-sql-parser) does not read every SQLite construct. These are refused with",
    '`unsupported_syntax` and the workaround in the message:',
    '',
    '| SQLite construct | write instead |',
    '|---|---|',
    ...policy.unsupportedSyntax.map((s) => `| ${cell(s.docsConstruct)} | ${cell(s.docsWorkaround)} |`),
    '',
    "String literals ending in a backslash (`'C:\\'`) are read correctly: the validator hands the parser the",
    'same tokens SQLite sees (backslashes have no escaping meaning in SQLite strings), so nothing can be',
    'smuggled past it behind a backslash.',
    '',
    '## Changing the policy',
    '',
    'The policy is data in `src/detection/sql-policy.ts`. To add a function DaemonEye implements, add one',
    'entry to `USER_FUNCTIONS` (name, usage, description, implementation): the validator allows it, the rule',
    "worker registers it in every rule database and this page lists it. To allow one of SQLite's own",
    'functions, add it to a group of `ALLOWED_FUNCTION_GROUPS` with why it is safe. Then run `npm run build &&',
    "npm run docs`. Any change to the policy or to the validator's code (every `src/detection/sql-*.ts` file)",
    "changes the validator's fingerprint, so the build-time index of the built-in rules is rebuilt rather than",
    'trusted.',
  ];
  return `${lines.join('\n').trimEnd()}\n`;
}
