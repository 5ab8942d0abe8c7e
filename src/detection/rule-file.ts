// Rule files: one YAML file per rule (or a .sql file with a YAML front-matter comment), parsed and checked
// with one clear line per problem (`file:line:col: key: problem`). The format is docs/rules-format.md; what
// every format shares (the rule definition, test cases, locating a problem) is in rule-source.ts.
import type {Document, LineCounter} from 'yaml';

import {DaemonEyeError, isDaemonEyeError} from '../errors.js';
import {documentToJs, MAX_YAML_DEPTH, yaml, yamlDepthProblem, yamlProblems} from '../util/yaml.js';
import {locate, type RuleDefinition, RuleFileSchema, type RuleFileValidation, schemaProblems, testCaseProblems} from './rule-source.js';
import {type SqlValidationError, SqlValidator} from './sql-validator.js';

/** `.sql` front matter: a leading comment block opened by a line `/* ---` and closed by a line `--- *\/`. */
const FRONT_MATTER = /^\s*\/\*\s*---[ \t]*\r?\n([\s\S]*?)\r?\n[ \t]*---\s*\*\/[ \t]*\r?\n?/;

interface NativeRuleText {
  readonly yaml: string;
  /** Lines before the YAML text in the file (front matter in .sql). */
  readonly yamlLineOffset: number;
  /** The SQL body of a .sql file (`sql_query` must then not be in the front matter). */
  readonly sqlBody?: {readonly text: string; readonly line: number};
}

function splitSource(file: string, text: string): NativeRuleText {
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
function locateSqlOffset(doc: Document, counter: LineCounter, source: NativeRuleText, trimmedOffset: number): string | undefined {
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

/** Parse and check a DaemonEye rule file's text: schema, SQL and test-case rows. Never throws for bad content. */
export function validateNativeRuleText(file: string, text: string, validator: SqlValidator = new SqlValidator()): RuleFileValidation {
  const invalid = (problems: string[], sqlErrors: SqlValidationError[] = []): RuleFileValidation => ({file, valid: false, problems, sqlErrors});
  let source: NativeRuleText;
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
    problems.push(
      ...schemaProblems(
        file,
        parsed.error.issues,
        RuleFileSchema,
        record,
        (path) => locate(doc, counter, path, source.yamlLineOffset),
        (issue) => issue.message,
      ),
    );
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
