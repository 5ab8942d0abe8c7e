// The `rules` commands as library calls: list, validate, convert, test, enable and disable. Their views
// are in rules-view.ts.
import {basename, dirname, extname} from 'node:path';

import {DaemonEyeError} from '../errors.js';
import {existsSync, statSync} from '../package-files.js';
import type {PartialProcessRow} from '../models/process-fixture.js';
import type {AlertSeverity} from '../models/severity.js';
import type {RuleSourceType} from '../models/rule.js';
import type {RuleSwitchResult} from '../detection/config-edit.js';
import {loadLatestScan} from '../storage/input.js';
import {type SnapshotLimits, snapshotLimitsFromConfig} from '../storage/snapshot-file.js';
import {heldTables} from '../models/scan.js';
import {computeCoverage, type CoverageReport} from '../detection/attack-coverage.js';
import {DetectionEngine} from '../detection/engine.js';
import {snapshotFromRows} from '../detection/fixture-snapshot.js';
import {loadNamedLists} from '../detection/lists.js';
import {detectionRuleOf, findRuleFiles, type LoadedRule, RuleManager} from '../detection/rule-manager.js';
import type {RuleFormatName} from '../detection/rule-format.js';
import type {RuleDefinition, RuleFileValidation} from '../detection/rule-source.js';
import {type RuleCaseResult, runRulesOnInput, runRuleTestCases, type RuleTestSummary} from '../detection/rule-tests.js';
import {ruleFilesIn, ruleManagerFor, type RulesOptions} from '../detection/validate-rules.js';
import {parseJson} from '../util/json.js';
import {FILE_LIMITS, readInputFile, readRegularTextFile} from '../util/read-file.js';
import {parseYamlBounded} from '../util/yaml.js';
import {TimeSlicer} from '../util/interrupt.js';

export {ruleFilesIn, type RuleFileReport, type RulesOptions, type RulesValidation, validateRules} from '../detection/validate-rules.js';

export interface RuleListing {
  readonly id: string;
  readonly name: string;
  readonly severity: AlertSeverity;
  readonly category: string | null;
  readonly tags: readonly string[];
  readonly enabled: boolean;
  readonly source_type: RuleSourceType;
  readonly source_path: string | null;
  /** The rule file's format: `daemoneye` or `sigma` (rule-format.ts). */
  readonly format: RuleFormatName;
  readonly description: string | null;
  readonly author: string | null;
  readonly references: readonly string[];
  readonly false_positives: readonly string[];
  /** Sigma's status, date and modified; null for DaemonEye rules. */
  readonly status: string | null;
  readonly date: string | null;
  readonly modified: string | null;
}

export async function listRules(options: RulesOptions): Promise<RuleListing[]> {
  return (await ruleManagerFor(options).loadRules()).rules
    .map(({rule, definition}) => ({
      id: rule.id,
      name: rule.name,
      severity: rule.severity,
      category: rule.category,
      tags: rule.tags,
      enabled: rule.enabled,
      source_type: rule.source_type,
      source_path: rule.source_path,
      format: definition.format,
      description: definition.description,
      author: definition.author,
      references: definition.references,
      false_positives: definition.false_positives,
      status: definition.status ?? null,
      date: definition.date ?? null,
      modified: definition.modified ?? null,
    }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

export interface RuleConversion {
  readonly file: string;
  readonly valid: boolean;
  readonly format: RuleFormatName | null;
  readonly id: string | null;
  readonly name: string | null;
  /** The SQL the rule runs (for a Sigma rule: what it compiles to); null when the file is invalid. */
  readonly sql: string | null;
  readonly problems: readonly string[];
}

/**
 * `rules convert`: the SQL each rule file (any format) runs, for review; invalid files carry their problems. A file
 * at a time, with a turn of the event loop between files once a slice has run (src/util/interrupt.ts).
 */
export async function convertRules(options: RulesOptions, paths: readonly string[]): Promise<RuleConversion[]> {
  const rm = ruleManagerFor(options);
  const slicer = new TimeSlicer();
  const conversions: RuleConversion[] = [];
  for (const file of paths.flatMap((p) => findRuleFiles(p))) {
    await slicer.tick();
    const result = await rm.validateRuleFile(file);
    const rule = result.rule;
    conversions.push({
      file,
      valid: result.valid,
      format: rule?.format ?? null,
      id: rule?.id ?? null,
      name: rule?.name ?? null,
      sql: result.valid && rule !== undefined ? rule.sql_query : null,
      problems: result.problems,
    });
  }
  return conversions;
}

export interface RulesTestOptions extends RulesOptions {
  /** Rule files/directories or rule ids; none: every loaded rule. */
  readonly targets: readonly string[];
  /** A snapshot file, or a JSON/NDJSON/YAML file of partial process rows, to run the rules on instead of their cases. */
  readonly input?: string;
  readonly timeoutMs?: number;
  /** An `input` snapshot file holding objects a snapshot never has (ignoredWarning, src/storage/input.ts) is said here. */
  readonly onWarning: (warning: string) => void;
}

function definitionsToLoaded(definitions: readonly RuleDefinition[]): LoadedRule[] {
  return definitions.map((definition) => ({definition, rule: detectionRuleOf(definition, {enabled: definition.enabled, sourceType: 'file', timestamp: 0})}));
}

/** Partial process rows from a JSON array, NDJSON or YAML list file. */
function readRows(path: string, text: string): PartialProcessRow[] {
  let value: unknown;
  try {
    const trimmed = text.trim();
    if (extname(path) === '.ndjson' || (trimmed.startsWith('{') && trimmed.includes('\n{')))
      value = trimmed
        .split(/\r?\n/)
        .filter((l) => l.trim() !== '')
        .map((l) => parseJson(l));
    else value = trimmed.startsWith('[') ? parseJson(trimmed) : parseYamlBounded(trimmed);
  } catch (error) {
    throw new DaemonEyeError('INPUT_CORRUPT', `${path}: cannot read process rows: ${(error as Error).message.split('\n')[0] ?? ''}`, {
      file: path,
      hint: 'give a snapshot file, or a JSON array / NDJSON / YAML list of process rows',
    });
  }
  if (!Array.isArray(value) || !value.every((row) => typeof row === 'object' && row !== null && !Array.isArray(row))) {
    throw new DaemonEyeError('INPUT_CORRUPT', `${path}: expected a list of process rows (objects)`, {file: path});
  }
  return value as PartialProcessRow[];
}

/** The input's bytes and the host tables it holds (a rows file holds processes only). */
async function inputBytes(
  path: string,
  limits: SnapshotLimits,
  onWarning: (warning: string) => void,
): Promise<{bytes: Uint8Array; tables: readonly string[]; collectors: readonly string[]}> {
  // A snapshot file or a rows file, either from another host: a regular file of at most a snapshot's size.
  const bytes = readInputFile(path, {maxBytes: limits.maxBytes, what: 'snapshot or rows file', setting: 'storage.max_snapshot_mb'});
  if (bytes.subarray(0, 16).toString('latin1') === 'SQLite format 3\u0000') {
    const latest = await loadLatestScan(path, {limits, onWarning});
    try {
      return {bytes: latest.db.export(), tables: heldTables(latest.scans, latest.scanIds), collectors: latest.scans.map((scan) => scan.collector)};
    } finally {
      latest.db.close();
    }
  }
  try {
    return {bytes: await snapshotFromRows(readRows(path, bytes.toString('utf8'))), tables: ['processes'], collectors: []};
  } catch (error) {
    if (error instanceof DaemonEyeError && error.code === 'RECORD_INVALID')
      throw new DaemonEyeError('INPUT_CORRUPT', `${path}: ${error.message}`, {file: path});
    throw error;
  }
}

/**
 * The id an invalid rule file reports under: its `id:` when the YAML still reads as a mapping with one,
 * else the file's name without extension (rules/<category>/<id>.yaml by convention).
 */
export function ruleIdOfInvalidFile(file: string): string {
  try {
    const data = parseYamlBounded(readRegularTextFile(file, FILE_LIMITS.rule));
    const id = typeof data === 'object' && data !== null ? (data as Record<string, unknown>).id : undefined;
    if (typeof id === 'string' && id.trim() !== '') return id;
  } catch {
    // Unreadable or not YAML: the file name says which rule it is.
  }
  return basename(file).replace(/\.(ya?ml|sql)$/i, '');
}

/** The case name under which an invalid rule file is reported by `rules test`. */
export const INVALID_RULE_CASE = 'rule file is valid';

/** A test run's summary; `invalid_files` rule files could not be loaded (each is a failed case in `results`). */
export type RulesTestSummary = RuleTestSummary & {readonly invalid_files: number};

/** Run rule test cases (or the rules on given data); an invalid rule file is a failed case of its own. */
export async function testRules(options: RulesTestOptions): Promise<RulesTestSummary> {
  const rm = ruleManagerFor(options);
  const paths = options.targets.filter((t) => existsSync(t));
  const ids = options.targets.filter((t) => !existsSync(t));
  let rules: LoadedRule[];
  const listDirs = rm.roots().map((r) => r.path);
  // An invalid rule file is reported as a failed case of its own (`rule file is valid`), so CI keeps every
  // other rule's results (JUnit included); the command then exits 2.
  const invalidCases: RuleCaseResult[] = [];
  if (paths.length > 0) {
    const results: RuleFileValidation[] = [];
    for (const file of paths.flatMap((p) => ruleFilesIn(p))) results.push(await rm.validateRuleFile(file));
    for (const invalid of results.filter((r) => !r.valid)) {
      // Named like every other suite: by the rule id, or (unreadable) by the file's stem, which is its id by convention.
      const firstLine = /:(\d+):\d+:/.exec(invalid.problems[0] ?? '');
      invalidCases.push({
        rule_id: invalid.rule?.id ?? ruleIdOfInvalidFile(invalid.file),
        file: invalid.file,
        line: firstLine === null ? null : Number(firstLine[1]),
        case: INVALID_RULE_CASE,
        passed: false,
        expected: null,
        actual: [],
        // Each problem starts with the file, line and column.
        error: invalid.problems.join('; '),
        elapsed_ms: 0,
      });
    }
    rules = definitionsToLoaded(results.filter((r) => r.valid).map((r) => r.rule as RuleDefinition));
    listDirs.push(...paths.map((p) => (statSync(p).isDirectory() ? p : dirname(p))));
  } else {
    rules = [];
  }
  let lists = loadNamedLists(options.config.detection.lists, listDirs);
  if (ids.length > 0 || paths.length === 0) {
    const set = await rm.loadRules();
    lists = {...set.lists, ...lists};
    rules.push(...(ids.length > 0 ? RuleManager.select(set.rules, ids) : set.rules));
  }
  const engine = new DetectionEngine({workers: options.config.detection.max_concurrent_rules}).start();
  try {
    const testOptions = {
      engine,
      validator: rm.validator,
      lists,
      ruleTimeoutMs: options.config.detection.rule_timeout_ms,
      timeoutMs: options.timeoutMs ?? options.config.detection.run_timeout_ms,
    };
    const summary =
      options.input !== undefined
        ? await (async () => {
            const input = await inputBytes(
              options.input as string,
              snapshotLimitsFromConfig(options.config.storage, options.config.collection.argv),
              options.onWarning,
            );
            return runRulesOnInput(rules, input.bytes, testOptions, input.tables, input.collectors);
          })()
        : await runRuleTestCases(rules, testOptions);
    return {
      passed: summary.passed,
      failed: summary.failed + invalidCases.length,
      invalid_files: invalidCases.length,
      results: [...invalidCases, ...summary.results],
    };
  } finally {
    await engine.close();
  }
}

export function switchRule(options: RulesOptions & {readonly id: string; readonly enabled: boolean; readonly configFile?: string}): Promise<RuleSwitchResult> {
  const rm = ruleManagerFor(options);
  return options.enabled ? rm.enableRule(options.id, options.configFile) : rm.disableRule(options.id, options.configFile);
}

/** The ATT&CK coverage of the rules `rules list` would list (enabled ones count), for `rules coverage`. */
export async function rulesCoverage(options: RulesOptions): Promise<CoverageReport> {
  return computeCoverage(await listRules(options));
}
