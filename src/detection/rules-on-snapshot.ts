// The rules on one snapshot (the inner stage of `detect`): validated rules × one snapshot in the worker pool, each rule's rows turned into alerts,
// and a summary of what ran, failed, timed out or did not run (a DetectionResult per rule, docs/api.md).
import type {Alert} from '../models/alert.js';
import {ALERT_SEVERITIES, type AlertSeverity, severityRank} from '../models/severity.js';
import {generateAlerts} from './alerts.js';
import type {Host} from '../models/host.js';
import {type DetectionEngine, type QueryTask, type SnapshotPayload, type TaskOutcome, workersForSnapshot} from './engine.js';
import {lanesForMemory} from './lane-memory.js';
import {listsForRun, type NamedLists} from './lists.js';
import type {LoadedRule} from './rule-manager.js';
import {isFilePages} from '../storage/file-pages.js';
import {estimatedSnapshotBytes, isSnapshotBuild, type SnapshotContent} from '../storage/snapshot-build.js';
import {describeRefusal, type SqlValidator} from './sql-validator.js';
import {missingTablesAdvice, tableDefinition} from '../models/tables.js';

/** `skipped`: the rule reads a table its snapshot did not collect (`missing_tables` names them). */
export type RuleRunStatus = 'ok' | 'error' | 'timeout' | 'not_run' | 'skipped';

/** The reference API's DetectionResult (docs/api.md), one per rule of the run. */
export interface DetectionResult {
  readonly rule_id: string;
  readonly status: RuleRunStatus;
  readonly alerts: readonly Alert[];
  /** Result rows (before the cap). */
  readonly row_count: number;
  /** More rows than the engine keeps (`DEFAULT_MAX_ROWS`): the alerts cover the first ones only. */
  readonly truncated: boolean;
  readonly execution_time_ms: number;
  readonly error: string | null;
  /** Tables the rule reads that the snapshot did not collect (status `skipped`); empty otherwise. */
  readonly missing_tables?: readonly string[];
}

export interface DetectionRunSummary {
  readonly scan_id: number | null;
  readonly rules_run: number;
  readonly rules_ok: number;
  readonly failed: readonly string[];
  readonly timed_out: readonly string[];
  readonly not_run: readonly string[];
  /** Rules not run because the snapshot lacks a table they read. */
  readonly skipped: readonly string[];
  readonly truncated: readonly string[];
  readonly alert_count: number;
  readonly alerts_by_severity: Readonly<Record<AlertSeverity, number>>;
  readonly duration_ms: number;
}

export interface DetectionRun {
  readonly results: readonly DetectionResult[];
  /** Every alert, most severe first, then by rule id. */
  readonly alerts: readonly Alert[];
  readonly summary: DetectionRunSummary;
}

/** The reference API's RuleExecutionConfig (docs/api.md). */
export interface RuleExecutionConfig {
  readonly scanId: number | null;
  /** Deadline of the whole run (ms). */
  readonly timeout: number;
  /** Default per-rule timeout; a rule file's `timeout_ms` overrides it. */
  readonly ruleTimeoutMs: number;
  /** `alerting.deduplication.key_fields`. */
  readonly keyFields: readonly string[];
  /** `alerting.max_alert_bytes` (default 64 KiB). */
  readonly maxAlertBytes?: number;
  readonly now?: number;
  /** The host object of a scan of the snapshot, for the alerts' `host`. */
  readonly hostOf?: (scanId: number | null) => Host | null;
}

export interface RulesOnSnapshotInput {
  readonly engine: DetectionEngine;
  readonly validator: SqlValidator;
  readonly rules: readonly LoadedRule[];
  readonly lists: NamedLists;
  /** A snapshot file's bytes or its open file's pages, or a live snapshot's rows (each worker builds its database from them). */
  readonly snapshot: SnapshotContent;
  /** The host tables the snapshot holds (`scans.tables`); rules reading another are `skipped`. Absent: all. */
  readonly tables?: readonly string[];
  /** The collectors of the snapshot's scans (ScanRecord.collector), and whether it is a live one: what a skipped rule's advice says. */
  readonly collectors?: readonly string[];
  readonly live?: boolean;
  readonly config: RuleExecutionConfig;
}

/** The collected tables `sql` reads that `held` lacks (none when `held` is undefined). */
export function missingTables(validator: SqlValidator, sql: string, held: readonly string[] | undefined): string[] {
  if (held === undefined) return [];
  return validator.referencedTables(sql).filter((table) => tableDefinition(table)?.collected === true && !held.includes(table));
}

/** The result of a rule whose input lacks tables it reads: reported by name, never a silent "no rows". */
export function skippedResult(ruleId: string, missing: readonly string[], collectors: readonly string[] = [], live = false): DetectionResult {
  return {
    rule_id: ruleId,
    status: 'skipped',
    alerts: [],
    row_count: 0,
    truncated: false,
    execution_time_ms: 0,
    error: `the snapshot did not collect ${missing.join(', ')}, which the rule reads (${missingTablesAdvice(missing, collectors, live)})`,
    missing_tables: missing,
  };
}

let snapshotCounter = 0;

/** A snapshot payload with the lists every given SQL needs (undefined names become empty tables). */
export function snapshotPayload(content: SnapshotContent, lists: NamedLists, sqls: readonly string[], validator: SqlValidator): SnapshotPayload {
  const referenced = sqls.flatMap((sql) => validator.referencedLists(sql));
  const id = `snapshot-${process.pid}-${++snapshotCounter}`;
  const runLists = listsForRun(lists, referenced);
  if (isSnapshotBuild(content)) return {id, build: content, lists: runLists};
  return isFilePages(content) ? {id, pages: content, lists: runLists} : {id, bytes: content, lists: runLists};
}

/** The size of a snapshot in bytes (estimated for a build): what decides how many workers it is worth. */
export function snapshotSize(content: SnapshotContent): number {
  if (isSnapshotBuild(content)) return estimatedSnapshotBytes(content);
  return isFilePages(content) ? content.size : content.length;
}

/** Turn a finished query into the rule's result: rows without a numeric pid make the rule fail. */
export function resultOf(loaded: LoadedRule, outcome: TaskOutcome, config: RuleExecutionConfig): DetectionResult {
  const base = {rule_id: loaded.rule.id, row_count: outcome.rows.length, truncated: outcome.truncated, execution_time_ms: Math.round(outcome.elapsedMs)};
  if (outcome.status !== 'ok') return {...base, status: outcome.status, alerts: [], error: outcome.error ?? outcome.status};
  if (outcome.rows.length > 0 && !outcome.columns.includes('pid')) {
    return {...base, status: 'error', alerts: [], error: `the result has no pid column (columns: ${outcome.columns.join(', ')}); each row must be one process`};
  }
  const badRow = outcome.rows.find((row) => typeof row.pid !== 'number');
  if (badRow !== undefined) return {...base, status: 'error', alerts: [], error: `a result row has a non-numeric pid (${String(badRow.pid)})`};
  const alerts = generateAlerts({...loaded.rule, group_by: loaded.definition.group_by}, outcome.rows, {
    scanId: config.scanId,
    keyFields: config.keyFields,
    executionTimeMs: outcome.elapsedMs,
    ...(config.hostOf === undefined ? {} : {hostOf: config.hostOf}),
    ...(config.maxAlertBytes === undefined ? {} : {maxAlertBytes: config.maxAlertBytes}),
    ...(config.now === undefined ? {} : {now: config.now}),
  });
  return {...base, status: 'ok', alerts, error: null};
}

/** Run every rule over the snapshot; the other rules still run when one fails or times out. */
export async function runRulesOnSnapshot(input: RulesOnSnapshotInput): Promise<DetectionRun> {
  const started = performance.now();
  const {config, validator} = input;
  const refused = new Map<string, string>();
  for (const loaded of input.rules) {
    const verdict = validator.validateQuery(loaded.rule.sql_query);
    if (!verdict.valid) refused.set(loaded.rule.id, `SQL refused: ${describeRefusal(verdict.errors)}`);
  }
  const skipped = new Map<string, string[]>();
  for (const loaded of input.rules) {
    if (refused.has(loaded.rule.id)) continue;
    const missing = missingTables(validator, loaded.rule.sql_query, input.tables);
    if (missing.length > 0) skipped.set(loaded.rule.id, missing);
  }
  const runnable = input.rules.filter((r) => !refused.has(r.rule.id) && !skipped.has(r.rule.id));
  const payload = snapshotPayload(
    input.snapshot,
    input.lists,
    runnable.map((r) => r.rule.sql_query),
    validator,
  );
  const tasks: QueryTask[] = runnable.map((r) => ({
    key: r.rule.id,
    sql: r.rule.sql_query,
    timeoutMs: r.definition.timeout_ms ?? config.ruleTimeoutMs,
    snapshot: payload,
  }));
  const size = snapshotSize(input.snapshot);
  // The cap on lanes: what the snapshot's size repays, as many as the memory holds (lane-memory.ts). The
  // engine starts with one and adds lanes up to this only when the run falls behind its deadline.
  const outcomes = await input.engine.runTasks(tasks, {deadlineMs: config.timeout, workers: Math.min(workersForSnapshot(size), lanesForMemory(size))});
  const byId = new Map(outcomes.map((o) => [o.key, o]));
  const results: DetectionResult[] = input.rules.map((loaded) => {
    const why = refused.get(loaded.rule.id);
    if (why !== undefined) return {rule_id: loaded.rule.id, status: 'error', alerts: [], row_count: 0, truncated: false, execution_time_ms: 0, error: why};
    const missing = skipped.get(loaded.rule.id);
    if (missing !== undefined) return skippedResult(loaded.rule.id, missing, input.collectors, input.live);
    return resultOf(loaded, byId.get(loaded.rule.id) as TaskOutcome, config);
  });
  return {results, ...summariseRun(results, config.scanId, Math.round(performance.now() - started))};
}

/** Every alert of a run (most severe first, then by rule id and dedupe key) and the run's summary. */
export function summariseRun(results: readonly DetectionResult[], scanId: number | null, durationMs: number): {alerts: Alert[]; summary: DetectionRunSummary} {
  const alerts = results
    .flatMap((r) => r.alerts)
    .sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || a.rule_id.localeCompare(b.rule_id) || a.dedupe_key.localeCompare(b.dedupe_key));
  const ids = (status: RuleRunStatus): string[] => results.filter((r) => r.status === status).map((r) => r.rule_id);
  return {
    alerts,
    summary: {
      scan_id: scanId,
      rules_run: results.filter((r) => r.status !== 'not_run' && r.status !== 'skipped').length,
      rules_ok: results.filter((r) => r.status === 'ok').length,
      failed: ids('error'),
      timed_out: ids('timeout'),
      not_run: ids('not_run'),
      skipped: ids('skipped'),
      truncated: results.filter((r) => r.truncated).map((r) => r.rule_id),
      alert_count: alerts.length,
      alerts_by_severity: Object.fromEntries(ALERT_SEVERITIES.map((s) => [s, alerts.filter((a) => a.severity === s).length])) as Record<AlertSeverity, number>,
      duration_ms: durationMs,
    },
  };
}
