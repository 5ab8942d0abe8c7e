// Sigma rule files as DaemonEye rules: the metadata (id, title, description, status, level, tags,
// references, falsepositives, author, date, modified) becomes the rule's, the detection is compiled to SQL
// (compile.ts) and that SQL goes through the same validator as every other rule. A file is a Sigma rule
// when it is a YAML mapping with title, logsource and detection (Sigma rules specification v2).
import type {Document, LineCounter} from 'yaml';
import {z} from 'zod';

import {RULE_ID} from '../../models/rule.js';
import {ALERT_SEVERITIES} from '../../models/severity.js';
import {documentToJs, yaml, yamlDepthProblem, yamlProblems} from '../../util/yaml.js';
import {
  locate,
  pathText,
  type RuleDefinition,
  schemaProblems,
  type RuleFileValidation,
  RuleTestCaseSchema,
  testCaseProblems,
  type YamlPath,
} from '../rule-source.js';
import type {SqlValidator} from '../sql-validator.js';
import {compileSigmaRule, SigmaCompileError} from './compile.js';

/** Top-level keys a Sigma rule has: a YAML file with all three is read as Sigma, whatever its extension. */
const SIGMA_KEYS = ['title', 'logsource', 'detection'] as const;
const TOP_LEVEL_KEY = (key: string): RegExp => new RegExp(`^${key}[ \\t]*:`, 'm');

/** Cheap test on the text (no YAML parse): every Sigma key starts a line at column 0. */
export function looksLikeSigma(text: string): boolean {
  return SIGMA_KEYS.every((key) => TOP_LEVEL_KEY(key).test(text));
}

const dateText = z.union([z.string(), z.date().transform((d) => d.toISOString().slice(0, 10))]);

/** The metadata keys DaemonEye reads; other Sigma keys (fields, related, license, …) are kept out of the way. */
const SigmaMetadataSchema = z.object({
  title: z.string().min(1),
  id: z
    .string()
    .transform((id) => id.toLowerCase())
    .pipe(z.string().regex(RULE_ID, 'a Sigma id is a UUID (lower-case letters, digits and "-")')),
  description: z.string().nullable().default(null),
  status: z.enum(['stable', 'test', 'experimental', 'deprecated', 'unsupported']).nullable().default(null),
  level: z.enum(ALERT_SEVERITIES),
  tags: z.array(z.string()).default([]),
  references: z.array(z.string()).default([]),
  falsepositives: z.union([z.array(z.string()), z.string().transform((s) => [s])]).default([]),
  author: z.string().nullable().default(null),
  date: dateText.nullable().default(null),
  modified: dateText.nullable().default(null),
  /** A custom attribute (the specification allows them): DaemonEye test cases, as in DaemonEye rules. */
  tests: z.array(RuleTestCaseSchema).default([]),
});

/** ATT&CK tactic tags (Sigma tags appendix; stealth and defense-impairment are ATT&CK v18's split of defense-evasion): the first one found becomes the rule's category. */
const TACTICS = new Set([
  'reconnaissance',
  'resource-development',
  'initial-access',
  'execution',
  'persistence',
  'privilege-escalation',
  'defense-evasion',
  'stealth',
  'defense-impairment',
  'credential-access',
  'discovery',
  'lateral-movement',
  'collection',
  'command-and-control',
  'exfiltration',
  'impact',
]);

function categoryOf(tags: readonly string[]): string | null {
  for (const tag of tags) {
    const tactic = tag.replace(/^attack\./, '').replace(/_/g, '-');
    if (tag.startsWith('attack.') && TACTICS.has(tactic)) return tactic;
  }
  return null;
}

/** Tags as DaemonEye writes them: lower case, spaces as `_` (Sigma tags are lower case already). */
const normaliseTag = (tag: string): string => tag.trim().toLowerCase().replace(/\s+/g, '_');

/**
 * Parse, compile and validate one Sigma rule file's text. Problems are `file:line:col: key: problem` lines;
 * a rule that cannot be compiled exactly is invalid, never loosened. Never throws for bad content.
 */
export function validateSigmaRuleText(file: string, text: string, validator: SqlValidator): RuleFileValidation {
  const invalid = (problems: string[]): RuleFileValidation => ({file, valid: false, problems, sqlErrors: []});
  const deep = yamlDepthProblem(text);
  if (deep !== undefined) return invalid([`${file}:${deep.line}:${deep.col}: invalid YAML: ${deep.message}`]);
  const counter = new (yaml().LineCounter)();
  const docs = yaml().parseAllDocuments(text, {lineCounter: counter, prettyErrors: false, uniqueKeys: true});
  if (!Array.isArray(docs)) return invalid([`${file}:1:1: (top level): not YAML`]);
  if (docs.length !== 1) {
    return invalid([`${file}:1:1: (top level): ${docs.length} YAML documents: Sigma rule collections are not supported, give one rule per file`]);
  }
  const doc = docs[0] as Document;
  if (doc.errors.length > 0) {
    return invalid(yamlProblems(text, doc.errors, counter as LineCounter).map((p) => `${file}:${p.line}:${p.col}: invalid YAML: ${p.message}`));
  }
  const where = (path: YamlPath): string => locate(doc, counter as LineCounter, path, 0);
  const converted = documentToJs(doc, counter);
  if ('problem' in converted) return invalid([`${file}:${converted.problem.line}:${converted.problem.col}: invalid YAML: ${converted.problem.message}`]);
  const data = converted.value;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return invalid([`${file}:1:1: (top level): a Sigma rule is a mapping`]);
  const record = data as Record<string, unknown>;
  const parsed = SigmaMetadataSchema.safeParse(record);
  if (!parsed.success) {
    return invalid(schemaProblems(file, parsed.error.issues, SigmaMetadataSchema, record, where, (issue) => issue.message));
  }
  const meta = parsed.data;
  let sql: string;
  try {
    sql = compileSigmaRule({id: meta.id, logsource: record.logsource, detection: record.detection}).sql;
  } catch (error) {
    if (!(error instanceof SigmaCompileError)) throw error;
    return invalid([`${file}:${where(error.path)}: ${pathText(error.path)}: ${error.message}`]);
  }
  const tags = meta.tags.map(normaliseTag);
  const rule: RuleDefinition = {
    file,
    format: 'sigma',
    id: meta.id,
    name: meta.title,
    description: meta.description?.trim() ?? null,
    version: 1,
    severity: meta.level,
    category: categoryOf(tags),
    tags,
    author: meta.author,
    enabled: true,
    sql_query: sql,
    references: meta.references,
    false_positives: meta.falsepositives,
    tests: meta.tests,
    status: meta.status,
    date: meta.date,
    modified: meta.modified,
  };
  const caseProblems = testCaseProblems(file, meta.tests, doc, counter as LineCounter, 0);
  if (caseProblems.length > 0) return {file, valid: false, problems: caseProblems, sqlErrors: [], rule};
  const result = validator.validateQuery(sql);
  if (!result.valid) {
    // The compiler emits only SQL the validator accepts; a refusal here is a compiler fault, reported as such.
    const problems = result.errors.map((e) => `${file}:${where(['detection'])}: detection: the compiled SQL is refused: ${e.message}`);
    return {file, valid: false, problems, sqlErrors: [...result.errors], rule};
  }
  return {file, valid: true, problems: [], sqlErrors: [], rule};
}
