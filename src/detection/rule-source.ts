// The contract every rule format shares (src/detection/rule-format.ts): the rule definition a format yields
// (RuleFileSchema, RuleDefinition), the result of checking a file (RuleFileValidation), the inline test
// cases and their checks (RuleTestCaseSchema, testCaseProblems), and where a problem is in a YAML file
// (locate, pathText). The native format (rule-file.ts) and Sigma (sigma/format.ts) both build on it.
import type {Document, LineCounter} from 'yaml';
import {z} from 'zod';

import {schemaAt, shapeOf} from '../config/schema-walk.js';
import {didYouMean} from '../config/validator.js';
import {isDaemonEyeError} from '../errors.js';
import {completeProcessRow} from '../models/process-fixture.js';
import {COLLECTED_TABLE_NAMES, completeTableRow, tableDefinition} from '../models/tables.js';
import {MAX_TIMER_MS} from '../util/time.js';
import {yaml} from '../util/yaml.js';
import {RULE_ID} from '../models/rule.js';
import {AlertSeveritySchema} from '../models/severity.js';
import type {RuleFormatName} from './rule-format.js';
import type {SqlValidationError} from './sql-validator.js';

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

/** The value at `path` in parsed YAML data, or undefined when any step is absent. */
function valueAt(data: unknown, path: readonly (string | number)[]): unknown {
  let value = data;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[segment];
  }
  return value;
}

export function pathText(path: readonly PropertyKey[]): string {
  // A key of a rule file is its author's text: one longer than 60 characters is shown cut, its length said.
  const key = (k: PropertyKey): string => {
    const text = String(k);
    return text.length <= 60 ? text : `${text.slice(0, 60)}… (${text.length} characters)`;
  };
  return path.length === 0 ? '(top level)' : path.map(key).join('.');
}

/**
 * The problem lines of `issues` (from `schema.safeParse(data)`) in rule file `file`: `file:line:col: path: problem`,
 * each at its own key (`where` turns a path into `line:col`). A key the schema does not allow is reported at that
 * key, one line each, with the allowed key nearest to it (`unknown key "sql_querry" (did you mean "sql_query"?)`),
 * not at the mapping that holds it; a key that is absent where one is required is "required field is missing",
 * whatever its type (zod words a missing enum as an invalid option); `message` words every other issue.
 */
export function schemaProblems(
  file: string,
  issues: readonly z.core.$ZodIssue[],
  schema: z.ZodType,
  data: unknown,
  where: (path: YamlPath) => string,
  message: (issue: z.core.$ZodIssue) => string,
): string[] {
  const problems: string[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      const known = Object.keys(shapeOf(schemaAt(schema, path, data) ?? schema) ?? {});
      for (const key of issue.keys) {
        const suggestion = didYouMean(key, known);
        const keyPath = [...path, key];
        problems.push(`${file}:${where(keyPath)}: ${pathText(keyPath)}: unknown key${suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`}`);
      }
      continue;
    }
    const missing = path.length > 0 && valueAt(data, path) === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_value');
    problems.push(`${file}:${where(path)}: ${pathText(path)}: ${missing ? 'required field is missing' : message(issue)}`);
  }
  return problems;
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
