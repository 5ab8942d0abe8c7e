// `detect` and `query` as library calls: load and validate the rules, start the sandbox workers early,
// get the snapshot (live or saved), run, and return a result object holding every fact worth auditing.
import type {DaemonEyeConfig} from '../config/schema.js';
import {DaemonEyeError} from '../errors.js';
import type {Alert} from '../models/alert.js';
import {type AlertSeverity, isAtLeast} from '../models/severity.js';
import {DetectionEngine} from './engine.js';
import {type LoadedRule, RuleManager} from './rule-manager.js';
import {type DetectionResult, type DetectionRunSummary, runDetection, snapshotPayload} from './run-detection.js';
import type {SnapshotForDetection} from './snapshot-source.js';
import {SqlValidator} from './sql-validator.js';

/** Produces the snapshot once the workers are starting (so collection overlaps their start-up). */
export type SnapshotProvider = () => Promise<SnapshotForDetection>;

export interface DetectOptions {
  readonly config: DaemonEyeConfig;
  readonly env?: NodeJS.ProcessEnv;
  /** `--rules DIR`. */
  readonly rulesPaths?: readonly string[];
  /** `--rule ID`: only these (enabled or not). */
  readonly ruleIds?: readonly string[];
  /** `--timeout`: deadline of the run (default detection.run_timeout_ms). */
  readonly timeoutMs?: number;
  readonly snapshot: SnapshotProvider;
  /** `--fail-on`. */
  readonly failOn?: AlertSeverity;
}

export interface DetectReport {
  readonly alerts: readonly Alert[];
  readonly results: readonly DetectionResult[];
  readonly summary: DetectionRunSummary & {
    readonly source: string;
    readonly rules_loaded: number;
    readonly fail_on: AlertSeverity | null;
    /** Alerts at or above --fail-on. */
    readonly findings: number;
  };
  /** The snapshot the rules ran on (for `--store`). */
  readonly snapshot: SnapshotForDetection;
}

function engineFor(config: DaemonEyeConfig): DetectionEngine {
  return new DetectionEngine({workers: config.detection.max_concurrent_rules});
}

/** Run the rules over one snapshot. An invalid rule file throws before anything runs. */
export async function detect(options: DetectOptions): Promise<DetectReport> {
  const {config} = options;
  const manager = new RuleManager({config, extraPaths: options.rulesPaths ?? [], ...(options.env === undefined ? {} : {env: options.env})});
  const ruleSet = manager.loadRules();
  const rules: LoadedRule[] = RuleManager.select(ruleSet.rules, options.ruleIds ?? []);
  const engine = engineFor(config);
  if (rules.length > 0) engine.start();
  try {
    const snapshot = await options.snapshot();
    const scanId = snapshot.scanIds.length === 1 ? (snapshot.scanIds[0] as number) : null;
    const run = await runDetection({
      engine,
      validator: manager.validator,
      rules,
      lists: ruleSet.lists,
      snapshot: snapshot.bytes,
      config: {
        scanId,
        timeout: options.timeoutMs ?? config.detection.run_timeout_ms,
        ruleTimeoutMs: config.detection.rule_timeout_ms,
        keyFields: config.alerting.deduplication.key_fields,
      },
    });
    const failOn = options.failOn ?? null;
    const findings = failOn === null ? 0 : run.alerts.filter((a) => isAtLeast(a.severity, failOn)).length;
    return {
      alerts: run.alerts,
      results: run.results,
      summary: {...run.summary, source: snapshot.source, rules_loaded: ruleSet.rules.length, fail_on: failOn, findings},
      snapshot,
    };
  } finally {
    await engine.close();
  }
}

export interface QueryOptions {
  readonly config: DaemonEyeConfig;
  readonly sql: string;
  readonly snapshot: SnapshotProvider;
  /** Rows kept; more are dropped and `truncated` says so. */
  readonly maxRows?: number;
}

export interface QueryReport {
  readonly columns: readonly string[];
  readonly rows: readonly Record<string, string | number | null>[];
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
    const snapshot = await options.snapshot();
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
      rows: outcome.rows,
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
