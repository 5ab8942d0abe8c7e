// The `rules` commands as library calls: list, validate, test, enable and disable.
import type {View} from '../output/view.js';
import {existsSync, readFileSync, statSync} from 'node:fs';
import {dirname, extname} from 'node:path';

import {parse as parseYaml} from 'yaml';

import type {DaemonEyeConfig} from '../config/schema.js';
import {DaemonEyeError, fileError} from '../errors.js';
import type {PartialProcessRow} from '../models/process-fixture.js';
import type {AlertSeverity} from '../models/severity.js';
import type {RuleSourceType} from '../models/rule.js';
import type {RuleSwitchResult} from './config-edit.js';
import {loadLatestScan} from '../storage/input.js';
import {heldTables} from './snapshot-source.js';
import {computeCoverage, type CoverageReport} from './attack-coverage.js';
import {DetectionEngine} from './engine.js';
import {snapshotFromRows} from './fixture-snapshot.js';
import {loadNamedLists} from './lists.js';
import {detectionRuleOf, findRuleFiles, type LoadedRule, RuleManager} from './rule-manager.js';
import type {RuleDefinition, RuleFormatName} from './rule-file.js';
import {type RuleCaseResult, renderJunit, runRulesOnSnapshot, runRuleTestCases, type RuleTestSummary} from './rule-tests.js';
import type {SqlValidationError} from './sql-validator.js';

export interface RulesOptions {
  readonly config: DaemonEyeConfig;
  readonly env?: NodeJS.ProcessEnv;
  readonly rulesPaths?: readonly string[];
}

const manager = (options: RulesOptions): RuleManager =>
  new RuleManager({config: options.config, extraPaths: options.rulesPaths ?? [], ...(options.env === undefined ? {} : {env: options.env})});

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

export function listRules(options: RulesOptions): RuleListing[] {
  return manager(options)
    .loadRules()
    .rules.map(({rule, definition}) => ({
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

export interface RuleFileReport {
  readonly file: string;
  readonly valid: boolean;
  readonly problems: readonly string[];
  readonly sql_errors: readonly SqlValidationError[];
}

export interface RulesValidation {
  readonly valid: boolean;
  readonly files: readonly RuleFileReport[];
}

/** Validate the given files/directories, or every rule the configuration loads; duplicate ids are problems too. */
export function validateRules(options: RulesOptions, paths: readonly string[]): RulesValidation {
  const rm = manager(options);
  const files = paths.length > 0 ? paths.flatMap((p) => ruleFilesIn(p)) : rm.roots().flatMap((root) => findRuleFiles(root.path));
  if (files.length === 0) {
    throw new DaemonEyeError('INPUT_NOT_FOUND', 'no rule files to validate: the configuration loads none', {
      hint: 'give a rules directory, or check detection.builtin_rules and detection.rules_paths',
    });
  }
  const seen = new Map<string, string>();
  const reports = files.map((file): RuleFileReport => {
    const result = rm.validateRuleFile(file);
    const problems = [...result.problems];
    if (result.rule !== undefined) {
      const other = seen.get(result.rule.id);
      if (other !== undefined) problems.push(`${file}: id: rule id ${result.rule.id} is also defined in ${other}`);
      else seen.set(result.rule.id, file);
    }
    return {file, valid: problems.length === 0, problems, sql_errors: result.sqlErrors};
  });
  return {valid: reports.every((r) => r.valid), files: reports};
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

/** `rules convert`: the SQL each rule file (any format) runs, for review; invalid files carry their problems. */
export function convertRules(options: RulesOptions, paths: readonly string[]): RuleConversion[] {
  const rm = manager(options);
  return paths
    .flatMap((p) => findRuleFiles(p))
    .map((file) => {
      const result = rm.validateRuleFile(file);
      const rule = result.rule;
      return {
        file,
        valid: result.valid,
        format: rule?.format ?? null,
        id: rule?.id ?? null,
        name: rule?.name ?? null,
        sql: result.valid && rule !== undefined ? rule.sql_query : null,
        problems: result.problems,
      };
    });
}

export interface RulesTestOptions extends RulesOptions {
  /** Rule files/directories or rule ids; none: every loaded rule. */
  readonly targets: readonly string[];
  /** A snapshot file, or a JSON/NDJSON/YAML file of partial process rows, to run the rules on instead of their cases. */
  readonly input?: string;
  readonly timeoutMs?: number;
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
        .map((l) => JSON.parse(l) as unknown);
    else value = trimmed.startsWith('[') ? (JSON.parse(trimmed) as unknown) : (parseYaml(trimmed) as unknown);
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
async function inputBytes(path: string): Promise<{bytes: Uint8Array; tables: readonly string[]}> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw fileError(error, path, 'read');
  }
  if (bytes.subarray(0, 16).toString('latin1') === 'SQLite format 3\u0000') {
    const latest = await loadLatestScan(path);
    try {
      return {bytes: latest.db.export(), tables: heldTables(latest.scans, latest.scanIds)};
    } finally {
      latest.db.close();
    }
  }
  try {
    return {bytes: await snapshotFromRows(readRows(path, bytes.toString('utf8'))), tables: ['processes']};
  } catch (error) {
    if (error instanceof DaemonEyeError && error.code === 'RECORD_INVALID')
      throw new DaemonEyeError('INPUT_CORRUPT', `${path}: ${error.message}`, {file: path});
    throw error;
  }
}

/** Run rule test cases (or the rules on given data). Invalid rule files stop it (RULE_INVALID). */
/** The case name under which an invalid rule file is reported by `rules test`. */
export const INVALID_RULE_CASE = 'rule file is valid';

/** A test run's summary; `invalid_files` rule files could not be loaded (each is a failed case in `results`). */
export type RulesTestSummary = RuleTestSummary & {readonly invalid_files: number};

/**
 * The rule files of a path the user named: a file, or every rule file under a directory. A directory with
 * none is refused (INPUT_NOT_FOUND, exit 2): checking nothing must not pass in CI.
 */
export function ruleFilesIn(path: string): string[] {
  const files = findRuleFiles(path);
  if (files.length === 0) {
    throw new DaemonEyeError('INPUT_NOT_FOUND', `${path} holds no rule files (*.yaml, *.yml, *.sql)`, {
      file: path,
      hint: 'check the path; rules are one YAML (or SQL with front matter) file each',
    });
  }
  return files;
}

export async function testRules(options: RulesTestOptions): Promise<RulesTestSummary> {
  const rm = manager(options);
  const paths = options.targets.filter((t) => existsSync(t));
  const ids = options.targets.filter((t) => !existsSync(t));
  let rules: LoadedRule[];
  const listDirs = rm.roots().map((r) => r.path);
  // An invalid rule file is reported as a failed case of its own (`rule file is valid`), so CI keeps every
  // other rule's results (JUnit included); the command then exits 2.
  const invalidCases: RuleCaseResult[] = [];
  if (paths.length > 0) {
    const results = paths.flatMap((p) => ruleFilesIn(p)).map((file) => rm.validateRuleFile(file));
    for (const invalid of results.filter((r) => !r.valid)) {
      invalidCases.push({
        rule_id: invalid.rule?.id ?? invalid.file,
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
    const set = rm.loadRules();
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
            const input = await inputBytes(options.input as string);
            return runRulesOnSnapshot(rules, input.bytes, testOptions, input.tables);
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

export function switchRule(options: RulesOptions & {readonly id: string; readonly enabled: boolean; readonly configFile?: string}): RuleSwitchResult {
  const rm = manager(options);
  return options.enabled ? rm.enableRule(options.id, options.configFile) : rm.disableRule(options.id, options.configFile);
}

const RULE_LIST_FIELDS = ['id', 'name', 'severity', 'category', 'tags', 'enabled', 'source_type', 'format', 'status'] as const;

/** How `rules list` prints: records (NDJSON, JSON), a table, or CSV (tags space-separated). */
export function ruleListView(rules: readonly RuleListing[]): View<RuleListing> {
  return {
    rows: rules,
    columns: RULE_LIST_FIELDS.map((f) => ({
      header: f.toUpperCase(),
      get: (r: RuleListing) => (f === 'tags' ? r.tags.join(' ') : f === 'enabled' ? (r.enabled ? 'yes' : 'no') : (r[f] ?? '')),
    })),
    csv: {
      header: [...RULE_LIST_FIELDS, 'source_path'],
      values: (r) => [...RULE_LIST_FIELDS.map((f) => (f === 'tags' ? r.tags.join(' ') : r[f])), r.source_path],
    },
  };
}

/** How `rules validate` prints: one record per file (NDJSON, table), or the whole result as JSON. */
export function ruleValidationView(result: RulesValidation): View<RuleFileReport> {
  return {
    rows: result.files,
    document: result,
    columns: [
      {header: 'FILE', get: (f) => f.file},
      {header: 'VALID', get: (f) => (f.valid ? 'yes' : 'no')},
      {header: 'PROBLEMS', get: (f) => f.problems.length, align: 'right'},
    ],
  };
}

/** How `rules test` prints: one record per case (NDJSON), the summary (JSON), JUnit XML, or nothing on stdout (`text`: cases go to stderr). */
export function ruleTestView(summary: RulesTestSummary): View<RuleTestSummary['results'][number]> {
  return {rows: summary.results, document: summary, text: {text: () => '', junit: () => renderJunit(summary)}};
}

/** The ATT&CK coverage of the rules `rules list` would list (enabled ones count), for `rules coverage`. */
export function rulesCoverage(options: RulesOptions): CoverageReport {
  return computeCoverage(listRules(options));
}
