// `daemoneye detect` as one library call (the outer stage of the detect chain): the rules over the chosen
// snapshots (src/detection/rules-over-snapshots.ts), deduplication and delivery to the sinks, what to print
// (suppressed alerts marked), the stderr summary and the exit code by the precedence of src/errors.ts. The
// command parses flags, calls runDetect, renders detectView (detect-view.ts) and audits.
import type {Config} from '../config/builder.js';
import {DaemonEyeError, ExitCode, combineExitCodes, isDaemonEyeError} from '../errors.js';
import type {AlertSeverity} from '../models/severity.js';
import type {Logger} from '../output/logger.js';
import type {MetricsCollector} from '../telemetry/metrics.js';
import {DETECT_REDACTION_OFF} from '../redaction/redact.js';
import {recordDeliverySummaryMetrics, recordDetectionMetrics} from '../telemetry/record-metrics.js';
import {type DetectReport, type DetectTimings, runRulesOverSnapshots, storeLiveSnapshot} from '../detection/rules-over-snapshots.js';
import {summaryLines} from '../detection/detection-view.js';
import {detectionSnapshots} from '../detection/snapshot-source.js';
import type {DeliverySummary} from '../alerting/types.js';
import type {FanoutCut} from '../collect/fanout.js';
import type {PrintedAlert} from '../alerting/alert-manager.js';

export interface DetectRunOptions {
  readonly config: Config;
  /** `--input FILE|DIR`; live snapshot when absent. */
  readonly input?: string;
  /** `--since`, epoch ms. */
  readonly since?: number;
  readonly rulesPaths?: readonly string[];
  readonly ruleIds?: readonly string[];
  readonly storeDir?: string;
  readonly timeoutMs?: number;
  readonly failOn?: AlertSeverity;
  /** `--sink NAME`: deliver to these only (default every configured sink). */
  readonly sinkNames?: readonly string[];
  readonly showSuppressed?: boolean;
  /** `--baseline FILE|DIR`: given to rules as `baseline_<table>` tables. */
  readonly baseline?: string;
  /** A live snapshot also collects these tables for the output (`--format tree` shows sockets). */
  readonly alsoCollect?: readonly string[];
  readonly logger: Logger;
  readonly metrics?: MetricsCollector;
  /**
   * Called with what stdout shows once the alerts are written ahead and before the first delivery to a
   * sink or any other state is written (the command prints line formats here), with the stdout sink's
   * format for when no --format is given.
   */
  readonly onPrintable?: (printed: readonly PrintedAlert[], defaultFormat: 'json' | 'ndjson' | 'text' | undefined) => Promise<void> | void;
}

export interface DetectRunResult {
  readonly report: DetectReport;
  readonly delivery: DeliverySummary;
  /** What stdout shows: alerts that passed deduplication, and with showSuppressed the suppressed ones marked. */
  readonly printed: readonly PrintedAlert[];
  /** The format a configured stdout sink asks for, when no --format is given. */
  readonly defaultFormat: 'json' | 'ndjson' | 'text' | undefined;
  /** By precedence: 2 (a store file unusable) over 1 (findings at --fail-on) over 3 (a rule or sink failed). */
  readonly exitCode: ExitCode;
  /** How much of a live snapshot the rules could see (zeros for saved input, whose records say it themselves). */
  readonly visibility: Visibility;
  /** The ledger payload of the run (without exit_code, which the command's base stamps once audit problems are known). */
  readonly audit: ReturnType<typeof detectionAudit>;
  /** Wall ms of the run's phases; `delivery_ms`: deduplication and the sinks (docs/performance.md). */
  readonly timings: DetectTimings & {readonly delivery_ms: number};
}

export interface Visibility {
  /** Processes the rules ran over: the live snapshot's, or those of every input scan. */
  readonly processes_scanned: number;
  /** Of those, records with `accessible: false`: a file needed for them could not be read when collected. */
  readonly processes_inaccessible: number;
  /**
   * The host tables the rules ran over (`processes` and live-response tables), sorted: a live run collects
   * only the tables its loaded rules read (and what the output needs); saved input, the tables its scans hold.
   */
  readonly tables: readonly string[];
  /**
   * Processes a live snapshot read short of what they hold (collection.fanout, collection.argv,
   * collection.environ): the source (`fd`, `maps`; `argv` in bytes of /proc/PID/cmdline, `environ` in bytes of
   * /proc/PID/environ), pid, entries read and entries held (null when the kernel does not say). Empty for saved input, whose scans'
   * `errors` hold the same as one `collection limit: ` line per source.
   */
  readonly collection_limits: readonly CollectionLimit[];
  /**
   * The warnings of reading the snapshots the rules judged, each the line stderr has: a live run's
   * `collection limit: ` lines; for saved input, a file of several scans whose latest alone was judged, or a
   * latest scan holding no processes (a live scan always has some: the file is incomplete or altered).
   */
  readonly snapshot_warnings: readonly string[];
}

/** One process a live scan read short of what it holds (Visibility.collection_limits). */
export interface CollectionLimit extends FanoutCut {
  readonly source: string;
}

function visibilityOf(report: DetectReport, snapshotWarnings: readonly string[]): Visibility {
  const sum = (count: (s: DetectReport['snapshots'][number]) => number): number => report.snapshots.reduce((total, s) => total + count(s), 0);
  return {
    processes_scanned: sum((s) => s.processCount),
    processes_inaccessible: sum((s) => s.inaccessibleCount),
    tables: [...new Set(report.snapshots.flatMap((s) => s.tables))].sort(),
    collection_limits: report.snapshots.flatMap((s) =>
      [
        ...Object.entries(s.live?.stats.fanout_cuts ?? {}),
        ['argv', s.live?.stats.argv_cuts ?? []] as const,
        ['environ', s.live?.stats.environ_cuts ?? []] as const,
      ].flatMap(([source, cuts]) => cuts.map((cut) => ({source, ...cut}))),
    ),
    snapshot_warnings: snapshotWarnings,
  };
}

/**
 * Whether a failure of runDetect is a refusal to run (an invalid rule file, rule SQL the validator refused:
 * exit 2), which the ledger records as `detection_refused` rather than as a run.
 */
export function isDetectionRefusal(error: unknown): error is DaemonEyeError {
  return isDaemonEyeError(error) && (error.code === 'RULE_INVALID' || error.code === 'SQL_REFUSED');
}

/**
 * Run detection and deliver its alerts. Throws DaemonEyeError for usage and input errors (unknown --sink,
 * --store with --input, no scan in range, invalid rule files: exit 2); an unusable file inside a store is
 * logged and skipped, and the run ends with exit 2.
 */
export async function runDetect(options: DetectRunOptions): Promise<DetectRunResult> {
  const {config, logger} = options;
  if (options.storeDir !== undefined && options.input !== undefined) {
    throw new DaemonEyeError('USAGE', '--store saves a live snapshot; it cannot be combined with --input (inputs are never modified)', {
      hint: 'drop one of them',
    });
  }
  const [{AlertManager, alertsToPrint, deliveryFailed}, {deliverySummaryLines}] = await Promise.all([
    import('../alerting/alert-manager.js'),
    import('../alerting/delivery-view.js'),
  ]);
  // Built before detection so an unknown --sink is a usage error before any work is done.
  const alerting = await AlertManager.fromConfig(config, {logger});
  if (!config.values.collection.redaction.enabled) logger.warn(DETECT_REDACTION_OFF);
  const sinkNames = options.sinkNames ?? [];
  const defaultFormat = alerting.stdoutFormat([...sinkNames]);
  const codes: ExitCode[] = [];
  const snapshotWarnings: string[] = [];
  const onProblem = (problem: DaemonEyeError): void => {
    logger.error(problem.toOneLine());
    codes.push(ExitCode.UsageOrInput);
  };
  // --store is written after delivery (below): a full store disk must not cost the alerts.
  const report: DetectReport = await runRulesOverSnapshots({
    config: config.values,
    rulesPaths: options.rulesPaths ?? [],
    ruleIds: options.ruleIds ?? [],
    snapshots: detectionSnapshots({
      config: config.values,
      input: options.input,
      since: options.since,
      onProblem,
      onWarning: (warning) => {
        snapshotWarnings.push(warning);
        logger.warn(warning);
      },
      alsoCollect: options.alsoCollect ?? [],
    }),
    ...(options.timeoutMs === undefined ? {} : {timeoutMs: options.timeoutMs}),
    ...(options.failOn === undefined ? {} : {failOn: options.failOn}),
    ...(options.baseline === undefined ? {} : {baseline: options.baseline}),
    onWarning: (warning) => logger.warn(warning),
  });
  logger.debug('rules loaded', {rules: report.summary.rules_loaded, from_build_index: report.rulesFromIndex});
  const liveStats = report.snapshots[0]?.live?.stats;
  if (liveStats?.hash_cache_problem !== undefined && liveStats.hash_cache_problem !== null) logger.warn(liveStats.hash_cache_problem);
  if (options.metrics !== undefined) recordDetectionMetrics(options.metrics, report);
  // Deduplication decides what leaves the process (stdout and sinks alike); --fail-on still judges report.alerts.
  // The alerts are written ahead for every sink, printed, then delivered; state comes after.
  const deliveryFrom = performance.now();
  const delivery = await alerting.deliver(report.alerts, {
    sinkNames: [...sinkNames],
    beforeDelivery: (alerts, suppressedAlerts) =>
      options.onPrintable?.(alertsToPrint(report.alerts, {alerts, suppressedAlerts}, options.showSuppressed === true), defaultFormat),
  });
  const deliveryMs = Math.round(performance.now() - deliveryFrom);
  if (options.metrics !== undefined) recordDeliverySummaryMetrics(options.metrics, delivery.summary);
  const printed = alertsToPrint(report.alerts, delivery, options.showSuppressed === true);
  for (const problem of delivery.summary.state_errors) logger.error(`state was not written: ${problem}`);
  if (delivery.summary.state_errors.length > 0) codes.push(ExitCode.RuntimeFailure);
  let stored: DetectReport['stored'] = null;
  let storeMs = 0;
  if (options.storeDir !== undefined) {
    const storeFrom = performance.now();
    try {
      stored = await storeLiveSnapshot(report.snapshots, report.alerts, options.storeDir, config.values);
    } catch (error) {
      if (!isDaemonEyeError(error) || error.exitCode === ExitCode.UsageOrInput) throw error;
      logger.error(`state was not written: --store ${options.storeDir}: ${error.toOneLine()}`);
      codes.push(ExitCode.RuntimeFailure);
    }
    storeMs = Math.round(performance.now() - storeFrom);
  }

  if (report.summary.rules_loaded === 0) logger.warn('no rules were loaded: check detection.builtin_rules, detection.rules_paths and --rules');
  const withoutBaseline = report.results.filter((r) => r.status === 'skipped' && (r.missing_tables ?? []).length === 0).map((r) => r.rule_id);
  if (withoutBaseline.length > 0) logger.info(`rules skipped without --baseline: ${withoutBaseline.join(', ')}`);
  const [headline, ...problems] = summaryLines(report);
  logger.info(headline ?? '');
  for (const line of problems) logger.warn(line);
  for (const line of deliverySummaryLines(delivery.summary)) logger.info(line);
  if (stored !== null) logger.info(`saved scan ${stored.scanIds.join(', ')} with ${stored.alertCount} alerts to ${stored.path}`);

  const visibility = visibilityOf(report, snapshotWarnings);
  const live = report.snapshots.every((snapshot) => snapshot.live !== undefined);
  if (visibility.processes_inaccessible > 0 && !live) {
    logger.warn(
      `${visibility.processes_inaccessible} of ${visibility.processes_scanned} processes in the input were partly unreadable when they were collected; rules did not see those fields, so this run may miss what they would show.`,
    );
  } else if (visibility.processes_inaccessible > 0) {
    // Name a few, so a user can tell their own sandbox's processes from something hiding.
    const partly = report.snapshots.flatMap((snapshot) => snapshot.live?.processes ?? []).filter((p) => !p.accessible);
    const named = `${partly
      .slice(0, 5)
      .map((p) => `${p.pid} ${p.name}`)
      .join(', ')}${partly.length > 5 ? ', …' : ''}`;
    const count = `${visibility.processes_inaccessible} of ${visibility.processes_scanned} processes (${named})`;
    logger.warn(
      process.getuid?.() === 0
        ? `${count} could not be fully read even as root (a security module, a container boundary or a mount hid their executables, fds, environment or cwd); rules did not see those fields, so this run may miss what they would show.`
        : `${count} could not be fully read (not root: their executables, fds, environment or cwd are hidden); rules did not see those fields, so this run may miss what they would show. Run as root for complete records.`,
    );
  }
  const s = report.summary;
  // A rule asked for by name that could not run on any scan is an input error, not a quiet pass.
  for (const id of (options.ruleIds ?? []).filter((ruleId) => s.skipped.includes(ruleId))) {
    const why = report.results.find((r) => r.rule_id === id)?.error ?? 'skipped';
    logger.error(`${id}: asked for with --rule, but it cannot run on ${s.source}: ${why}`);
    codes.push(ExitCode.UsageOrInput);
  }
  if (deliveryFailed(delivery.summary)) codes.push(ExitCode.RuntimeFailure);
  if (s.findings > 0) codes.push(ExitCode.CheckFailed);
  if (s.failed.length + s.timed_out.length + s.not_run.length > 0) codes.push(ExitCode.RuntimeFailure);
  return {
    report: {...report, stored},
    delivery: delivery.summary,
    printed,
    defaultFormat,
    exitCode: combineExitCodes(codes),
    visibility,
    timings: {...report.timings, store_ms: storeMs, delivery_ms: deliveryMs},
    audit: detectionAudit(report.summary, visibility, delivery.summary, stored?.path ?? null),
  };
}

/** The ledger payload of a run (the `detection` action of src/audit/schema.ts), without exit_code: the command's base stamps it. */
function detectionAudit(s: DetectReport['summary'], visibility: Visibility, delivery: DeliverySummary, stored: string | null) {
  // The ledger's payload keeps its shape: the limits are in the output and on stderr.
  const {collection_limits: _limits, snapshot_warnings: _warnings, ...seen} = visibility;
  return {
    ...seen,
    scan_ids: s.scan_ids,
    source: s.source,
    rules_run: s.rules_run,
    failed: s.failed,
    timed_out: s.timed_out,
    not_run: s.not_run,
    alerts_by_severity: s.alerts_by_severity,
    findings: s.findings,
    deliveries: delivery.deliveries.map(({sink, ok, attempts, delivered, pending, error}) => ({sink, ok, attempts, delivered, pending, error})),
    suppressed: delivery.suppressed,
    stored,
    state_errors: delivery.state_errors,
    lost: delivery.lost,
  };
}
