// The rules over every snapshot of a run (the middle stage of `detect`): load and validate the rules, take
// each snapshot (live or saved, one scan at a time), run the rules on it (rules-on-snapshot.ts), merge the
// per-scan results, and return a report holding every fact worth auditing.
// src/app/detect.ts wraps it with delivery, the stderr summary and the exit code.
import {join} from 'node:path';

import {statePaths} from '../config/paths.js';
import type {DaemonEyeConfig} from '../config/schema.js';
import {DaemonEyeError} from '../errors.js';
import type {Alert} from '../models/alert.js';
import {type Host, hostOfScan} from '../models/host.js';
import type {ScanRecord} from '../models/scan.js';
import {type AlertSeverity, isAtLeast} from '../models/severity.js';
// The store and saved-input modules are imported only by runs that use them (--store, --baseline).
import {snapshotBytes} from '../storage/snapshot-build.js';
import type {StoreAppendResult} from '../storage/store.js';
import {readsBaseline, withBaseline} from './baseline.js';
import {DetectionEngine} from './engine.js';
import {holdYoungGeneration} from '../util/gc.js';
import {RULE_CACHE_FILE} from './rule-cache.js';
import {type LoadedRule, RuleManager} from './rule-manager.js';
import {type DetectionResult, type DetectionRunSummary, runRulesOnSnapshot, summariseRun} from './rules-on-snapshot.js';
import type {SnapshotForDetection, SnapshotSource} from './snapshot-source.js';
import {tableDefinition} from '../models/tables.js';
import {snapshotLimitsFromConfig} from '../storage/snapshot-file.js';

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
  /** A baseline file holding objects a snapshot never has (ignoredWarning, src/storage/input.ts) is said here, as every reader says it. */
  readonly onWarning: (warning: string) => void;
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
  /** Wall ms of the run's phases (docs/performance.md), summed over snapshots; logged at debug level. */
  readonly timings: DetectTimings;
}

/** Where a detect run's wall time went, ms: the phases of docs/performance.md. */
export interface DetectTimings {
  /** Loading and validating the rules (the build-time index, the rule cache, rule files). */
  readonly rules_load_ms: number;
  /** A live snapshot: the /proc walk, hashing and the live tables. */
  readonly collect_ms: number;
  /** A live snapshot: building the snapshot database and exporting its bytes. */
  readonly snapshot_build_ms: number;
  /** Saved input: reading and checking the file(s). */
  readonly input_ms: number;
  /** Rules in the workers, wall: waiting for a worker, loading the snapshot into it, the queries, the alerts. */
  readonly rules_ms: number;
  /** Of rules_ms, the queries alone (sum of each rule's time inside its worker). */
  readonly queries_ms: number;
  /** `--store`: appending the snapshot and alerts to the store. */
  readonly store_ms: number;
  /** The most rule lanes that ran at once (the in-process lane counted), and the worker threads started. */
  readonly rule_lanes: number;
  readonly workers_started: number;
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
 * anything runs.
 */
export async function runRulesOverSnapshots(options: DetectOptions): Promise<DetectReport> {
  const started = performance.now();
  // From here on V8's young generation keeps its size (util/gc.ts): loading the rules and reading the
  // snapshot grew it in some runs and not others, and the rule phase grows it to ≈ 18 MiB more.
  holdYoungGeneration();
  const {config} = options;
  const manager = new RuleManager({
    config,
    extraPaths: options.rulesPaths ?? [],
    ruleCache: config.detection.rule_cache ? join(statePaths(config, options.env).stateDir, RULE_CACHE_FILE) : null,
    ...(options.env === undefined ? {} : {env: options.env}),
  });
  const ruleSet = await manager.loadRules();
  const rulesLoaded = performance.now();
  const timings = {
    rules_load_ms: Math.round(rulesLoaded - started),
    collect_ms: 0,
    snapshot_build_ms: 0,
    input_ms: 0,
    rules_ms: 0,
    queries_ms: 0,
    store_ms: 0,
    rule_lanes: 0,
    workers_started: 0,
  };
  const selected: LoadedRule[] = RuleManager.select(ruleSet.rules, options.ruleIds ?? []);
  // Rules about "new since the baseline" are off without one: skipped and named, never failed.
  const needBaseline = options.baseline === undefined ? selected.filter((r) => readsBaseline(r.rule.sql_query)).map((r) => r.rule.id) : [];
  const rules = selected.filter((r) => !needBaseline.includes(r.rule.id));
  const baseline =
    options.baseline === undefined
      ? undefined
      : await (
          await import('../storage/input.js')
        ).loadLatestScan(options.baseline, {limits: snapshotLimitsFromConfig(config.storage, config.collection.argv), onWarning: options.onWarning});
  // No worker is started ahead: the rules start on this thread (the engine's in-process lane), and a run
  // that falls behind its deadline adds workers, no more than the snapshot's size repays (workersForSnapshot)
  // and the memory holds (lanesForMemory).
  const engine = engineFor(config);
  const deadline = started + (options.timeoutMs ?? config.detection.run_timeout_ms);
  const perRule = new Map<string, DetectionResult[]>(rules.map((r) => [r.rule.id, []]));
  const snapshots: SnapshotForDetection[] = [];
  try {
    // A live snapshot collects exactly the host tables the rules read.
    const tables = [...new Set(rules.flatMap((r) => manager.validator.referencedTables(r.rule.sql_query)))].filter(
      (table) => tableDefinition(table)?.collected === true,
    );
    let waitFrom = performance.now();
    for await (const snapshot of options.snapshots({tables})) {
      const rulesFrom = performance.now();
      if (snapshot.timings === undefined) timings.input_ms += Math.round(rulesFrom - waitFrom);
      else {
        timings.collect_ms += snapshot.timings.collect_ms;
        timings.snapshot_build_ms += snapshot.timings.snapshot_build_ms;
      }
      const remaining = Math.round(deadline - performance.now());
      const scanId = snapshot.scanIds.length === 1 ? (snapshot.scanIds[0] as number) : null;
      const run =
        remaining <= 0
          ? undefined
          : await runRulesOnSnapshot({
              engine,
              validator: manager.validator,
              rules,
              lists: ruleSet.lists,
              snapshot: baseline === undefined ? snapshot.content : await withBaseline(await snapshotBytes(snapshot.content), baseline.db),
              tables: snapshot.tables,
              collectors: snapshot.scans.map((scan) => scan.collector),
              live: snapshot.source === 'live',
              config: {
                scanId,
                timeout: remaining,
                ruleTimeoutMs: config.detection.rule_timeout_ms,
                keyFields: config.alerting.deduplication.key_fields,
                hostOf: scanHosts(snapshot.scans),
                maxAlertBytes: config.alerting.max_alert_bytes,
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
      timings.rules_ms += Math.round(performance.now() - rulesFrom);
      timings.queries_ms += Math.round(run?.results.reduce((sum, r) => sum + r.execution_time_ms, 0) ?? 0);
      // Keep what the report needs, not the snapshot content (a long range must not pile up in memory); a
      // live run's one snapshot is kept: its live tables are only there, and `--store` saves it.
      snapshots.push({
        content: snapshot.live === undefined ? new Uint8Array(0) : snapshot.content,
        scanIds: snapshot.scanIds,
        tables: snapshot.tables,
        scans: snapshot.scans,
        source: snapshot.source,
        processCount: snapshot.processCount,
        inaccessibleCount: snapshot.inaccessibleCount,
        ...(snapshot.live === undefined ? {} : {live: snapshot.live}),
      });
      waitFrom = performance.now();
    }
  } finally {
    timings.rule_lanes = engine.peakLanes;
    timings.workers_started = engine.workersStarted;
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
    const storeFrom = performance.now();
    stored = await storeLiveSnapshot(snapshots, summary.alerts, options.storeDir, config);
    timings.store_ms = Math.round(performance.now() - storeFrom);
  }
  return {
    timings,
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

/**
 * `--store DIR`: save the live snapshot of a run with its alerts in a store (retention from storage.*).
 * Throws USAGE when the run had no live snapshot, or the store's file error (a full disk, STATE_UNSAFE).
 */
export async function storeLiveSnapshot(
  snapshots: readonly SnapshotForDetection[],
  alerts: readonly Alert[],
  storeDir: string,
  config: DaemonEyeConfig,
): Promise<StoreAppendResult> {
  const snapshot = snapshots[0];
  const live = snapshot?.live;
  if (snapshot === undefined || live === undefined) {
    throw new DaemonEyeError('USAGE', '--store saves a live snapshot; it cannot be combined with --input', {hint: 'drop one of them'});
  }
  const {appendToStore, retentionFromConfig} = await import('../storage/store.js');
  // The snapshot the rules ran over (its live tables are in it, not in `live`), with the run's alerts added.
  return appendToStore(storeDir, live.scan, live.processes, {
    alerts: [...alerts],
    retention: retentionFromConfig(config.storage),
    snapshot: await snapshotBytes(snapshot.content),
  });
}
