// Rule files: one YAML file per rule (or a .sql file with a YAML front-matter comment), parsed and checked
// with one clear line per problem (`file:line:col: key: problem`). The format is docs/rules-format.md.
import type {Document, LineCounter} from 'yaml';
import {z} from 'zod';

import {DaemonEyeError, isDaemonEyeError} from '../errors.js';
import {completeProcessRow} from '../models/process-fixture.js';
import {COLLECTED_TABLE_NAMES, completeTableRow, tableDefinition} from '../models/tables.js';
import {MAX_TIMER_MS} from '../util/time.js';
import {documentToJs, MAX_YAML_DEPTH, yaml, yamlDepthProblem, yamlProblems} from '../util/yaml.js';
import {RULE_ID} from '../models/rule.js';
import {AlertSeveritySchema} from '../models/severity.js';
import {type SqlValidationError, SqlValidator} from './sql-validator.js';

const TAG = /^[a-z0-9][a-z0-9._-]*$/;

/** The live-response tables a test case may give rows for (every collected table of the registry but processes). */
export const TEST_CASE_TABLES: readonly string[] = COLLECTED_TABLE_NAMES.filter((name) => name !== 'processes');

export const RuleTestCaseSchema = z
  .object({
    name: z.string().min(1).describe('What the case shows'),
    processes: z.array(z.record(z.string(), z.unknown())).describe('The whole snapshot of the case: partial process rows (completed with neutral defaults)'),
    ...Object.fromEntries(
      TEST_CASE_TABLES.map((table) => [
        table,
        z.array(z.record(z.string(), z.unknown())).optional().describe(`Partial ${table} rows (completed with the table's fixture defaults; pid required)`),
      ]),
    ),
    expect: z.array(z.int().nonnegative()).describe('Exactly the pids the rule must flag (empty: it must not fire)'),
    baseline_processes: z
      .array(z.record(z.string(), z.unknown()))
      .optional()
      .describe('For rules reading `baseline_*` tables: the baseline snapshot of the case (partial process rows; absent: an empty baseline)'),
  })
  .strict();
export type RuleTestCase = z.infer<typeof RuleTestCaseSchema>;

export const RuleFileSchema = z
  .object({
    id: z.string().regex(RULE_ID, 'rule ids are lower-case letters, digits, ".", "_" and "-"'),
    name: z.string().min(1),
    description: z.string().nullable().default(null),
    version: z.int().positive().default(1),
    severity: AlertSeveritySchema,
    category: z.string().nullable().default(null),
    tags: z.array(z.string().regex(TAG, 'tags are lower case, e.g. attack.t1059.004')).default([]),
    author: z.string().nullable().default(null),
    enabled: z.boolean().default(true),
    sql_query: z.string().trim().min(1, 'the SQL query is empty'),
    references: z.array(z.string()).default([]),
    false_positives: z.array(z.string()).default([]),
    group_by: z.array(z.string().min(1)).min(1).optional(),
    timeout_ms: z.int().positive().max(MAX_TIMER_MS, `at most ${MAX_TIMER_MS} ms (about 24.8 days), the longest delay Node's timers take`).optional(),
    tests: z.array(RuleTestCaseSchema).default([]),
  })
  .strict();
export type RuleFileData = z.infer<typeof RuleFileSchema>;

/** The rule formats DaemonEye reads (rule-format.ts): its own YAML/.sql files, and Sigma rules. */
export type RuleFormatName = 'daemoneye' | 'sigma';

/** A parsed, schema-valid rule file, whatever its format. */
export interface RuleDefinition extends RuleFileData {
  readonly file: string;
  readonly format: RuleFormatName;
  /** Sigma's status (stable, test, experimental, deprecated, unsupported); null for DaemonEye rules. */
  readonly status?: string | null;
  /** Sigma's date and modified (YYYY-MM-DD or YYYY/MM/DD as written); null when not given. */
  readonly date?: string | null;
  readonly modified?: string | null;
}

export interface RuleFileValidation {
  readonly file: string;
  readonly valid: boolean;
  /** One line per problem: `file:line:col: key: problem`. */
  readonly problems: readonly string[];
  /** The SQL refusals, structured (for audit). */
  readonly sqlErrors: readonly SqlValidationError[];
  readonly rule?: RuleDefinition;
}

export const RULE_FILE_EXTENSIONS = ['.yaml', '.yml', '.sql'] as const;

/** `.sql` front matter: a leading comment block opened by a line `/* ---` and closed by a line `--- *\/`. */
const FRONT_MATTER = /^\s*\/\*\s*---[ \t]*\r?\n([\s\S]*?)\r?\n[ \t]*---\s*\*\/[ \t]*\r?\n?/;

interface RuleSource {
  readonly yaml: string;
  /** Lines before the YAML text in the file (front matter in .sql). */
  readonly yamlLineOffset: number;
  /** The SQL body of a .sql file (`sql_query` must then not be in the front matter). */
  readonly sqlBody?: {readonly text: string; readonly line: number};
}

function splitSource(file: string, text: string): RuleSource {
  if (!file.endsWith('.sql')) return {yaml: text, yamlLineOffset: 0};
  const match = FRONT_MATTER.exec(text);
  if (match === null) {
    throw new DaemonEyeError(
      'RULE_INVALID',
      `${file}:1:1: a .sql rule must start with a YAML front-matter comment: a line "/* ---", the metadata, a line "--- */"`,
      {
        file,
        hint: 'see docs/rules-format.md',
      },
    );
  }
  const before = text.slice(0, match.index + match[0].length);
  const headerLines = text.slice(0, match.index + match[0].indexOf(match[1] as string)).split('\n').length - 1;
  return {yaml: match[1] as string, yamlLineOffset: headerLines, sqlBody: {text: text.slice(before.length), line: before.split('\n').length}};
}

export type YamlPath = readonly (string | number)[];

export function locate(doc: Document, counter: LineCounter, path: YamlPath, offset: number): string {
  for (let length = path.length; length >= 0; length--) {
    const parent = length <= 1 ? doc.contents : doc.getIn(path.slice(0, length - 1), true);
    const last = path[length - 1];
    let position: number | undefined;
    if (length === 0) position = (doc.contents as {range?: number[]} | null)?.range?.[0];
    else if (yaml().isMap(parent))
      position = (parent.items.find((item) => (item.key as {value?: unknown} | null)?.value === last)?.key as {range?: number[]} | null)?.range?.[0];
    else if (yaml().isSeq(parent) && typeof last === 'number') position = (parent.items[last] as {range?: number[]} | undefined)?.range?.[0];
    if (position !== undefined) {
      const pos = counter.linePos(position);
      return `${pos.line + offset}:${pos.col}`;
    }
  }
  return `${1 + offset}:1`;
}

/** The line:col of a key's value (for SQL problems: where the query starts). */
function locateValue(doc: Document, counter: LineCounter, key: string, offset: number): string {
  if (yaml().isMap(doc.contents)) {
    const pair = doc.contents.items.find((item) => (item.key as {value?: unknown} | null)?.value === key);
    const position = (pair?.value as {range?: number[]} | null)?.range?.[0];
    if (position !== undefined) {
      const pos = counter.linePos(position);
      return `${pos.line + offset}:${pos.col}`;
    }
  }
  return locate(doc, counter, [key], offset);
}

/**
 * The line:col in the file of character `offset` of the rule's SQL, where the SQL is written verbatim: the
 * body of a .sql file, a literal block scalar (`sql_query: |`), whose lines are the file's lines less
 * their indentation, or a one-line plain or quoted scalar without escapes. Undefined for the other styles
 * (folded, escaped), whose text the YAML rewrote.
 */
function locateSqlOffset(doc: Document, counter: LineCounter, source: RuleSource, trimmedOffset: number): string | undefined {
  // The validator saw the SQL trimmed (the schema trims it): count the leading blanks back in.
  const leading = (text: string): number => text.length - text.trimStart().length;
  if (source.sqlBody !== undefined) {
    const offset = trimmedOffset + leading(source.sqlBody.text);
    const before = source.sqlBody.text.slice(0, offset);
    return `${source.sqlBody.line + before.split('\n').length - 1}:${offset - before.lastIndexOf('\n')}`;
  }
  if (!yaml().isMap(doc.contents)) return undefined;
  const value = doc.contents.items.find((item) => (item.key as {value?: unknown} | null)?.value === 'sql_query')?.value as
    {type?: string; range?: number[]; source?: string} | undefined;
  const start = value?.range?.[0];
  const end = value?.range?.[1];
  if (start === undefined) return undefined;
  const sql = String((value as {value?: unknown}).value ?? '');
  // A one-line plain or quoted scalar whose text is the SQL as written (no escapes): offsets map one to one.
  if (value?.type === 'PLAIN' || value?.type === 'QUOTE_SINGLE' || value?.type === 'QUOTE_DOUBLE') {
    const quote = value.type === 'PLAIN' ? 0 : 1;
    const written = source.yaml.slice(start + quote, (end ?? start) - quote);
    if (written !== sql || written.includes('\n')) return undefined;
    const pos = counter.linePos(start + quote + trimmedOffset + leading(sql));
    return `${pos.line + source.yamlLineOffset}:${pos.col}`;
  }
  if (value?.type !== 'BLOCK_LITERAL') return undefined;
  const offset = trimmedOffset + leading(sql);
  const before = sql.slice(0, offset);
  const sqlLine = before.split('\n').length - 1;
  const sqlCol = offset - before.lastIndexOf('\n');
  // The block's text starts on the line after its header (`|`), each line indented alike.
  const lines = source.yaml.slice(start).split('\n');
  const line = lines[1 + sqlLine];
  if (line === undefined) return undefined;
  const indent = (lines.slice(1).find((l) => l.trim() !== '') ?? '').search(/\S|$/);
  return `${counter.linePos(start).line + 1 + sqlLine + source.yamlLineOffset}:${indent + sqlCol}`;
}

export function pathText(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(top level)' : path.map(String).join('.');
}

/**
 * Problems of a rule's test cases (the `tests:` key, in any rule format): rows that are not rows of their table, a
 * pid twice in one case, an expected pid that is not among the case's processes.
 */
export function testCaseProblems(file: string, tests: readonly unknown[], doc: Document, counter: LineCounter, offset: number): string[] {
  const problems: string[] = [];
  tests.forEach((candidate, caseIndex) => {
    // A case the schema refused is reported by the schema; only well-formed cases are checked row by row.
    const parsed = RuleTestCaseSchema.safeParse(candidate);
    if (!parsed.success) return;
    const testCase = parsed.data;
    const pids = new Set<number>();
    testCase.processes.forEach((row, rowIndex) => {
      const path = ['tests', caseIndex, 'processes', rowIndex];
      try {
        const record = completeProcessRow(row, {scanId: 1, now: 0});
        if (pids.has(record.pid))
          problems.push(`${file}:${locate(doc, counter, path, offset)}: ${path.join('.')}: pid ${record.pid} appears twice in this case`);
        pids.add(record.pid);
      } catch (error) {
        if (!isDaemonEyeError(error)) throw error;
        problems.push(`${file}:${locate(doc, counter, path, offset)}: ${path.join('.')}: ${error.toOneLine()}`);
      }
    });
    for (const name of TEST_CASE_TABLES) {
      const rows = (testCase as Record<string, unknown>)[name] as readonly Record<string, unknown>[] | undefined;
      const table = tableDefinition(name);
      if (rows === undefined || table === undefined) continue;
      rows.forEach((row, rowIndex) => {
        const path = ['tests', caseIndex, name, rowIndex];
        try {
          completeTableRow(table, row, 1);
        } catch (error) {
          if (!isDaemonEyeError(error)) throw error;
          problems.push(`${file}:${locate(doc, counter, path, offset)}: ${path.join('.')}: ${error.toOneLine()}`);
        }
      });
    }
    for (const pid of testCase.expect) {
      if (!pids.has(pid)) {
        const path = ['tests', caseIndex, 'expect'];
        problems.push(`${file}:${locate(doc, counter, path, offset)}: ${path.join('.')}: pid ${pid} is not among the case's processes`);
      }
    }
  });
  return problems;
}

/** Parse and check a DaemonEye rule file's text: schema, SQL and test-case rows. Never throws for bad content. */
export function validateNativeRuleText(file: string, text: string, validator: SqlValidator = new SqlValidator()): RuleFileValidation {
  const invalid = (problems: string[], sqlErrors: SqlValidationError[] = []): RuleFileValidation => ({file, valid: false, problems, sqlErrors});
  let source: RuleSource;
  try {
    source = splitSource(file, text);
  } catch (error) {
    if (isDaemonEyeError(error)) return invalid([error.message]);
    throw error;
  }
  const deep = yamlDepthProblem(source.yaml, MAX_YAML_DEPTH, source.yamlLineOffset);
  if (deep !== undefined) return invalid([`${file}:${deep.line}:${deep.col}: invalid YAML: ${deep.message}`]);
  const counter = new (yaml().LineCounter)();
  const doc = yaml().parseDocument(source.yaml, {lineCounter: counter, prettyErrors: false, uniqueKeys: true});
  if (doc.errors.length > 0) {
    return invalid(yamlProblems(source.yaml, doc.errors, counter, source.yamlLineOffset).map((p) => `${file}:${p.line}:${p.col}: invalid YAML: ${p.message}`));
  }
  const converted = documentToJs(doc, counter, source.yamlLineOffset);
  if ('problem' in converted) return invalid([`${file}:${converted.problem.line}:${converted.problem.col}: invalid YAML: ${converted.problem.message}`]);
  const data = converted.value;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return invalid([`${file}:${1 + source.yamlLineOffset}:1: (top level): a rule is a mapping of keys (id:, name:, severity:, sql_query:, …)`]);
  }
  const record = {...(data as Record<string, unknown>)};
  const problems: string[] = [];
  if (source.sqlBody !== undefined) {
    if ('sql_query' in record)
      problems.push(
        `${file}:${locate(doc, counter, ['sql_query'], source.yamlLineOffset)}: sql_query: a .sql rule keeps its SQL after the front matter, not in it`,
      );
    record.sql_query = source.sqlBody.text;
  }
  // Every problem in one pass: metadata, SQL and test cases are checked even when an earlier part is wrong.
  const parsed = RuleFileSchema.safeParse(record);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const where = locate(doc, counter, issue.path as YamlPath, source.yamlLineOffset);
      const message = issue.code === 'invalid_type' && issue.message.includes('received undefined') ? 'required field is missing' : issue.message;
      problems.push(`${file}:${where}: ${pathText(issue.path)}: ${message}`);
    }
  }
  const sqlQuery = parsed.success
    ? parsed.data.sql_query
    : typeof record.sql_query === 'string' && record.sql_query.trim() !== ''
      ? record.sql_query
      : undefined;
  const sqlWhere = source.sqlBody === undefined ? locateValue(doc, counter, 'sql_query', source.yamlLineOffset) : `${source.sqlBody.line}:1`;
  const result = sqlQuery === undefined ? undefined : validator.validateQuery(sqlQuery);
  const sqlErrors = result === undefined || result.valid ? [] : [...result.errors];
  for (const error of sqlErrors) {
    const where = (error.offset === undefined ? undefined : locateSqlOffset(doc, counter, source, error.offset)) ?? sqlWhere;
    problems.push(`${file}:${where}: sql_query: ${error.message}${error.workaround === undefined ? '' : ` (workaround: ${error.workaround})`}`);
  }
  // Test cases: those that match the case schema are checked row by row (the schema already reported the others).
  const cases = parsed.success ? parsed.data.tests : Array.isArray(record.tests) ? (record.tests as unknown[]) : [];
  problems.push(...testCaseProblems(file, cases, doc, counter, source.yamlLineOffset));
  if (!parsed.success) return invalid(problems, sqlErrors);
  const rule: RuleDefinition = {...parsed.data, file, format: 'daemoneye'};
  return problems.length === 0 ? {file, valid: true, problems, sqlErrors, rule} : {file, valid: false, problems, sqlErrors, rule};
}
