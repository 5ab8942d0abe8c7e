// `detect` and `query` as library calls: load and validate the rules, start the sandbox workers early,
// get the snapshot (live or saved), run, and return a result object holding every fact worth auditing.
import {join} from 'node:path';

import {statePaths} from '../config/paths.js';
import type {DaemonEyeConfig} from '../config/schema.js';
import {DaemonEyeError} from '../errors.js';
import type {Alert} from '../models/alert.js';
import {type Host, hostOfScan, hostResolver} from '../models/host.js';
import type {ScanRecord} from '../models/scan.js';
import {serialiseResultRow} from '../models/serialise.js';
import {type AlertSeverity, isAtLeast} from '../models/severity.js';
import {appendToStore, retentionFromConfig, type StoreAppendResult} from '../storage/store.js';
import {loadLatestScan} from '../storage/input.js';
import {readsBaseline, withBaseline} from './baseline.js';
import {DetectionEngine} from './engine.js';
import {RULE_CACHE_FILE} from './rule-cache.js';
import {type LoadedRule, RuleManager} from './rule-manager.js';
import {type DetectionResult, type DetectionRunSummary, missingTables, runDetection, snapshotPayload, summariseRun} from './run-detection.js';
import type {SnapshotForDetection, SnapshotNeeds, SnapshotSource} from './snapshot-source.js';
import {tableDefinition} from '../models/tables.js';
import {SqlValidator} from './sql-validator.js';

export interface DetectOptions {
  readonly config: DaemonEyeConfig;
  readonly env?: NodeJS.ProcessEnv;
  /** `--rules DIR`. */
  readonly rulesPaths?: readonly string[];
  /** `--rule ID`: only these (enabled or not). */
  readonly ruleIds?: readonly string[];
  /** `--timeout`: deadline of the run (default detection.run_timeout_ms). */
  readonly timeoutMs?: number;
  readonly snapshots: SnapshotSource;
  /** `--fail-on`. */
  readonly failOn?: AlertSeverity;
  /** `--store DIR`: save the live snapshot with its alerts there (retention from storage.*). */
  readonly storeDir?: string;
  /** `--baseline FILE|DIR`: its latest scan is given to rules as `baseline_<table>` tables. */
  readonly baseline?: string;
}

export interface DetectReport {
  readonly alerts: readonly Alert[];
  readonly results: readonly DetectionResult[];
  readonly summary: DetectionRunSummary & {
    /** Each rule's outcome without its alerts: status, time, rows, error (for audit and `--format json`). */
    readonly rules: readonly Omit<DetectionResult, 'alerts'>[];
    readonly scan_ids: readonly number[];
    readonly source: string;
    readonly rules_loaded: number;
    readonly fail_on: AlertSeverity | null;
    /** Alerts at or above --fail-on. */
    readonly findings: number;
  };
  /** The snapshots the rules ran on (bytes dropped; the live collection kept). */
  readonly snapshots: readonly SnapshotForDetection[];
  /** The store file written by `--store`. */
  readonly stored: StoreAppendResult | null;
  /** Built-in rules taken from the build-time index instead of being parsed (for `--verbose`). */
  readonly rulesFromIndex: number;
}

function engineFor(config: DaemonEyeConfig): DetectionEngine {
  return new DetectionEngine({workers: config.detection.max_concurrent_rules});
}

/**
 * Merge the per-scan results of one rule: the worst status of the scans it ran on wins, alerts and counts
 * add up; `skipped` only when no scan held the tables it reads (`missing_tables` still names what some lacked).
 */
function mergeResults(results: readonly DetectionResult[]): DetectionResult {
  const first = results[0] as DetectionResult;
  const ran = results.filter((r) => r.status !== 'skipped');
  const status = ran.length === 0 ? 'skipped' : ((['timeout', 'error', 'not_run'] as const).find((s) => ran.some((r) => r.status === s)) ?? 'ok');
  return {
    rule_id: first.rule_id,
    status,
    alerts: results.flatMap((r) => r.alerts),
    row_count: results.reduce((sum, r) => sum + r.row_count, 0),
    truncated: results.some((r) => r.truncated),
    execution_time_ms: results.reduce((sum, r) => sum + r.execution_time_ms, 0),
    error: (ran.length === 0 ? results : ran).find((r) => r.error !== null)?.error ?? null,
    missing_tables: [...new Set(results.flatMap((r) => r.missing_tables ?? []))],
  };
}

/** The host object of a scan id among `scans` (null for none or an unknown id). */
function scanHosts(scans: readonly ScanRecord[]): (scanId: number | null) => Host | null {
  return (scanId) => {
    const scan = scans.find((s) => s.id === scanId);
    return scan === undefined ? null : hostOfScan(scan);
  };
}

/**
 * Run the rules over each snapshot the source yields (one per scan). An invalid rule file throws before
 * anything runs; the workers start before the snapshot is taken, so their start-up overlaps collection.
 */
export async function detect(options: DetectOptions): Promise<DetectReport> {
  const started = performance.now();
  const {config} = options;
  const manager = new RuleManager({
    config,
    extraPaths: options.rulesPaths ?? [],
    ruleCache: config.detection.rule_cache ? join(statePaths(config, options.env).stateDir, RULE_CACHE_FILE) : null,
    ...(options.env === undefined ? {} : {env: options.env}),
  });
  const ruleSet = manager.loadRules();
  const selected: LoadedRule[] = RuleManager.select(ruleSet.rules, options.ruleIds ?? []);
  // Rules about "new since the baseline" are off without one: skipped and named, never failed.
  const needBaseline = options.baseline === undefined ? selected.filter((r) => readsBaseline(r.rule.sql_query)).map((r) => r.rule.id) : [];
  const rules = selected.filter((r) => !needBaseline.includes(r.rule.id));
  const baseline = options.baseline === undefined ? undefined : await loadLatestScan(options.baseline);
  const engine = engineFor(config);
  // One worker now; runDetection adds more only for a snapshot big enough to repay them (workersForSnapshot).
  if (rules.length > 0) engine.start(1);
  const deadline = started + (options.timeoutMs ?? config.detection.run_timeout_ms);
  const perRule = new Map<string, DetectionResult[]>(rules.map((r) => [r.rule.id, []]));
  const snapshots: SnapshotForDetection[] = [];
  try {
    // A live snapshot collects exactly the host tables the rules read.
    const tables = [...new Set(rules.flatMap((r) => manager.validator.referencedTables(r.rule.sql_query)))].filter(
      (table) => tableDefinition(table)?.collected === true,
    );
    for await (const snapshot of options.snapshots({tables})) {
      const remaining = Math.round(deadline - performance.now());
      const scanId = snapshot.scanIds.length === 1 ? (snapshot.scanIds[0] as number) : null;
      const run =
        remaining <= 0
          ? undefined
          : await runDetection({
              engine,
              validator: manager.validator,
              rules,
              lists: ruleSet.lists,
              snapshot: baseline === undefined ? snapshot.bytes : await withBaseline(snapshot.bytes, baseline.db),
              tables: snapshot.tables,
              config: {
                scanId,
                timeout: remaining,
                ruleTimeoutMs: config.detection.rule_timeout_ms,
                keyFields: config.alerting.deduplication.key_fields,
                hostOf: scanHosts(snapshot.scans),
              },
            });
      for (const loaded of rules) {
        const result = run?.results.find((r) => r.rule_id === loaded.rule.id) ?? {
          rule_id: loaded.rule.id,
          status: 'not_run' as const,
          alerts: [],
          row_count: 0,
          truncated: false,
          execution_time_ms: 0,
          error: 'the run deadline passed first',
        };
        perRule.get(loaded.rule.id)?.push(result);
      }
      // Keep what the report needs, not the bytes (a long range must not pile up in memory).
      snapshots.push({
        bytes: new Uint8Array(0),
        scanIds: snapshot.scanIds,
        tables: snapshot.tables,
        scans: snapshot.scans,
        source: snapshot.source,
        processCount: snapshot.processCount,
        inaccessibleCount: snapshot.inaccessibleCount,
        ...(snapshot.live === undefined ? {} : {live: snapshot.live}),
      });
    }
  } finally {
    await engine.close();
    baseline?.db.close();
  }
  // A rule that compares with a baseline is skipped without one: in the results, named, never failed.
  const results = selected.map((r) =>
    needBaseline.includes(r.rule.id)
      ? {
          rule_id: r.rule.id,
          status: 'skipped' as const,
          alerts: [],
          row_count: 0,
          truncated: false,
          execution_time_ms: 0,
          error: 'it compares with a baseline: give --baseline FILE (a snapshot taken while the host was known good)',
          missing_tables: [],
        }
      : mergeResults(perRule.get(r.rule.id) ?? []),
  );
  const summary = summarise(results, snapshots, Math.round(performance.now() - started));
  const failOn = options.failOn ?? null;
  const findings = failOn === null ? 0 : summary.alerts.filter((a) => isAtLeast(a.severity, failOn)).length;
  let stored: StoreAppendResult | null = null;
  if (options.storeDir !== undefined) {
    const live = snapshots[0]?.live;
    if (live === undefined) throw new DaemonEyeError('USAGE', '--store saves a live snapshot; it cannot be combined with --input', {hint: 'drop one of them'});
    stored = await appendToStore(options.storeDir, live.scan, live.processes, {
      alerts: summary.alerts,
      retention: retentionFromConfig(config.storage),
      tables: live.tables,
    });
  }
  return {
    stored,
    rulesFromIndex: ruleSet.indexed,
    alerts: summary.alerts,
    results,
    summary: {
      ...summary.summary,
      rules: results.map(({alerts: _alerts, ...rest}) => rest),
      source: snapshots[0]?.source ?? 'none',
      rules_loaded: ruleSet.rules.length,
      fail_on: failOn,
      findings,
    },
    snapshots,
  };
}

function summarise(
  results: readonly DetectionResult[],
  snapshots: readonly SnapshotForDetection[],
  durationMs: number,
): {alerts: Alert[]; summary: DetectionRunSummary & {scan_ids: number[]}} {
  const scanIds = snapshots.flatMap((s) => s.scanIds);
  const {alerts, summary} = summariseRun(results, scanIds.length === 1 ? (scanIds[0] as number) : null, durationMs);
  return {alerts, summary: {...summary, scan_ids: scanIds}};
}

export interface QueryOptions {
  readonly config: DaemonEyeConfig;
  readonly sql: string;
  /** The snapshot to query; `needs.tables` are the host tables the SQL reads (a live snapshot collects those). */
  readonly snapshot: (needs: SnapshotNeeds) => Promise<SnapshotForDetection>;
  /** Rows kept; more are dropped and `truncated` says so. */
  readonly maxRows?: number;
}

export interface QueryReport {
  readonly columns: readonly string[];
  /**
   * Result rows as records: boolean and JSON columns of the snapshot tables in their record shape (src/models/serialise.ts),
   * each with the `host` it comes from (src/models/host.ts: its `scan_id`'s host, else the input's one host, else null)
   * unless the query returns a column named `host` itself.
   */
  readonly rows: readonly Record<string, unknown>[];
  readonly row_count: number;
  readonly truncated: boolean;
  readonly elapsed_ms: number;
  readonly source: string;
  readonly scan_ids: readonly number[];
}

export const QUERY_MAX_ROWS = 100_000;

/** Validate, then run one ad-hoc query in the sandbox. Refused SQL throws SQL_REFUSED (exit 2). */
export async function runQuery(options: QueryOptions): Promise<QueryReport> {
  const {config} = options;
  const validator = new SqlValidator().withReadOnlyMode(true).withTimeout(config.detection.rule_timeout_ms);
  const verdict = validator.validateQuery(options.sql);
  if (!verdict.valid) {
    const first = verdict.errors[0];
    throw new DaemonEyeError(
      'SQL_REFUSED',
      `SQL refused: ${first?.message ?? 'invalid'}${first?.workaround === undefined ? '' : ` (workaround: ${first.workaround})`}`,
      {
        hint: 'see docs/rules-sql.md',
        details: verdict.errors.map((e) => `${e.reason}: ${e.message}`),
      },
    );
  }
  const engine = new DetectionEngine({workers: 1, maxRows: options.maxRows ?? QUERY_MAX_ROWS}).start();
  try {
    const tables = validator.referencedTables(options.sql).filter((table) => tableDefinition(table)?.collected === true);
    const snapshot = await options.snapshot({tables});
    const missing = missingTables(validator, options.sql, snapshot.tables);
    if (missing.length > 0) throw notCollected(snapshot, missing);
    const payload = snapshotPayload(snapshot.bytes, {}, [options.sql], validator);
    const [outcome] = await engine.runTasks([{key: 'query', sql: options.sql, timeoutMs: validator.timeoutMs, snapshot: payload}], {
      deadlineMs: config.detection.run_timeout_ms,
    });
    if (outcome === undefined || outcome.status !== 'ok') {
      const timedOut = outcome?.status === 'timeout' || outcome?.status === 'not_run';
      throw new DaemonEyeError(timedOut ? 'RULE_TIMEOUT' : 'RULE_FAILED', `query ${timedOut ? 'timed out' : 'failed'}: ${outcome?.error ?? 'no result'}`, {
        hint: timedOut ? 'narrow the query or raise detection.rule_timeout_ms' : 'fix the query',
      });
    }
    return {
      columns: outcome.columns,
      rows: withHosts(
        outcome.rows.map((row) => serialiseResultRow(row)),
        snapshot.scans,
        outcome.columns,
      ),
      row_count: outcome.rows.length,
      truncated: outcome.truncated,
      elapsed_ms: Math.round(outcome.elapsedMs),
      source: snapshot.source,
      scan_ids: snapshot.scanIds,
    };
  } finally {
    await engine.close();
  }
}

/** Each row with its `host` (a column the query named `host` wins). */
function withHosts(rows: Record<string, unknown>[], scans: readonly ScanRecord[], columns: readonly string[]): Record<string, unknown>[] {
  if (columns.includes('host')) return rows;
  const hostOf = hostResolver(scans);
  return rows.map((row) => ({...row, host: hostOf(row)}));
}

/**
 * The query reads tables some scans of its input did not collect: which scans (by start time) and what to
 * do. When later scans hold them, `--since` past the newest scan that lacks one narrows the input to those.
 */
function notCollected(snapshot: SnapshotForDetection, missing: readonly string[]): DaemonEyeError {
  const lacking = snapshot.scans.filter((scan) => missing.some((table) => !scan.tables.includes(table)));
  const newest = lacking.at(-1);
  const which =
    newest === undefined || lacking.length === snapshot.scans.length
      ? `${snapshot.source} did not collect`
      : `${lacking.length} of the ${snapshot.scans.length} scans in ${snapshot.source} did not collect, the newest of them taken ${new Date(newest.start_time).toISOString()}`;
  const later = newest === undefined ? false : snapshot.scans.some((scan) => scan.start_time > newest.start_time);
  const since = later && newest !== undefined ? `query the later scans with \`--since ${new Date(newest.start_time + 1).toISOString()}\`, or ` : '';
  return new DaemonEyeError('INPUT_INCOMPATIBLE', `the query reads ${missing.join(', ')}, which ${which}`, {
    ...(snapshot.source === 'live' ? {} : {file: snapshot.source}),
    hint: `${since}save snapshots with \`scan --tables ${missing.join(',')}\` (or \`--tables all\`), or query the live host without --input`,
  });
}
