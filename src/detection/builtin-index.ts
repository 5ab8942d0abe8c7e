// The build-time index of the built-in rule pack (dist/builtin-rules.json, written by `npm run build`): each
// file's SHA-256 and its parsed, validated definition, under the SqlValidator's fingerprint. A run takes a
// built-in rule from the index only when the file's bytes still hash to the recorded digest and its
// validator has the recorded fingerprint; an edited file, a file the index does not know, or an index from
// another build is parsed and validated in full (by the caller: rule-manager.ts). This spares `detect` the YAML
// and SQL parsing of the whole pack on every run, the largest share of its start-up, and this module does
// not import the parsers (rule-format.ts) a run from the index never needs; only building the index does.
import {createHash} from 'node:crypto';
import {join, relative} from 'node:path';

import {PACKAGE_ROOT, readFileSync} from '../package-files.js';
import {writeFileAtomic} from '../util/atomic-write.js';
import type {RuleDefinition, RuleFileValidation} from './rule-source.js';
import {BUILTIN_RULES_DIR, findRuleFiles} from './rule-paths.js';
import {type SqlReferences, SqlValidator} from './sql-validator.js';

export const BUILTIN_INDEX_FILE = join(PACKAGE_ROOT, 'dist', 'builtin-rules.json');
const INDEX_FORMAT = 3;

interface IndexEntry {
  readonly sha256: string;
  readonly definition: Omit<RuleDefinition, 'file'>;
  /** The tables and lists its SQL reads, so a run need not lex it (SqlValidator.references). */
  readonly references: SqlReferences;
}

export interface BuiltinIndex {
  readonly format: typeof INDEX_FORMAT;
  /** `SqlValidator.fingerprint` of the validator that accepted every query. */
  readonly validator: string;
  /** By path relative to the rules directory, with `/` separators. */
  readonly files: Readonly<Record<string, IndexEntry>>;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const keyOf = (dir: string, file: string): string => relative(dir, file).split('\\').join('/');

/** Validate every rule file under `dir` in full and index it; any invalid file rejects (a build must not ship it). */
export async function buildBuiltinIndex(dir: string, validator: SqlValidator): Promise<BuiltinIndex> {
  const {validateRuleText} = await import('./rule-format.js');
  const files: Record<string, IndexEntry> = {};
  const problems: string[] = [];
  for (const file of findRuleFiles(dir)) {
    const text = readFileSync(file, 'utf8');
    const result = validateRuleText(file, text, validator);
    if (!result.valid || result.rule === undefined) {
      problems.push(...result.problems);
      continue;
    }
    const {file: _file, ...definition} = result.rule;
    files[keyOf(dir, file)] = {sha256: sha256(text), definition, references: validator.references(definition.sql_query)};
  }
  if (problems.length > 0) throw new Error(`the built-in rule pack is invalid:\n${problems.join('\n')}`);
  return {format: INDEX_FORMAT, validator: validator.fingerprint, files};
}

/** `npm run build`: index the package's rules directory next to the compiled code. */
export async function writeBuiltinIndex(dir = BUILTIN_RULES_DIR, target = BUILTIN_INDEX_FILE): Promise<string> {
  const index = await buildBuiltinIndex(dir, new SqlValidator().withReadOnlyMode(true));
  writeFileAtomic(target, `${JSON.stringify(index)}\n`);
  return target;
}

/** The index, or undefined when it is missing, unreadable or not one (every file is then validated in full). */
export function readBuiltinIndex(path = BUILTIN_INDEX_FILE): BuiltinIndex | undefined {
  try {
    const index = JSON.parse(readFileSync(path, 'utf8')) as Partial<BuiltinIndex> | null;
    if (index?.format !== INDEX_FORMAT || typeof index.validator !== 'string' || typeof index.files !== 'object' || index.files === null) return undefined;
    return index as BuiltinIndex;
  } catch {
    return undefined;
  }
}

/**
 * One built-in rule file (`text`: its bytes as read) from the index: its validation when its text is the indexed
 * text and the validator the indexing one (the validator then adopts the recorded SQL verdict), else undefined:
 * the caller parses and validates the file in full (rule-format.ts validateRuleText).
 */
export function builtinRuleFromIndex(
  dir: string,
  file: string,
  text: string,
  index: BuiltinIndex | undefined,
  validator: SqlValidator,
): RuleFileValidation | undefined {
  const entry = index?.files[keyOf(dir, file)];
  if (
    entry !== undefined &&
    index !== undefined &&
    entry.sha256 === sha256(text) &&
    validator.adoptValidVerdict(entry.definition.sql_query, index.validator, entry.references)
  ) {
    return {file, valid: true, problems: [], sqlErrors: [], rule: {...entry.definition, file}};
  }
  return undefined;
}
