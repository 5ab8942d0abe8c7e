// One call per stage that turns a library result into the run's metrics, so a command's wiring is one line:
// `recordCollectionMetrics(this.metrics, snapshot.stats)`. Inputs are structural: only the facts counted.
import {ALERT_SEVERITIES} from '../models/severity.js';
import type {MetricsCollector} from './metrics.js';

export interface CollectionFacts {
  /** Processes recorded. */
  readonly processes: number;
  /** Wall time of the whole collection, milliseconds. */
  readonly total_ms: number;
  /** Executable bytes read for hashing. */
  readonly hashed_bytes: number;
  /** Executables whose digest came from the hash cache (not read). */
  readonly hash_cache_hits: number;
}

export function recordCollectionMetrics(metrics: MetricsCollector, facts: CollectionFacts): void {
  metrics.recordHistogram('daemoneye_collection_duration_seconds', facts.total_ms / 1000);
  metrics.recordCounter('daemoneye_processes_collected_total', facts.processes);
  metrics.recordGauge('daemoneye_active_processes', facts.processes);
  metrics.recordCounter('daemoneye_hash_bytes_total', facts.hashed_bytes);
  metrics.recordCounter('daemoneye_hash_cache_hits_total', facts.hash_cache_hits);
}

/** One rule of a detection run, as `DetectionResult` (src/detection) reports it. */
export interface RuleRunFacts {
  readonly rule_id: string;
  /** `ok`, or why not: `error`, `timeout`, `not_run` (the deadline came first). */
  readonly status: string;
  readonly execution_time_ms: number;
}

/** The detection report (`detect()` returns it): each rule's result and the alerts. */
export interface DetectionFacts {
  readonly results: readonly RuleRunFacts[];
  readonly alerts: ReadonlyArray<{readonly severity: string}>;
  /** The snapshots the rules ran on; `live` holds the collection when detect took it itself. */
  readonly snapshots?: ReadonlyArray<{readonly live?: {readonly stats: CollectionFacts} | undefined}>;
}

/**
 * Rule durations by rule, rules failed, timed out, not run and skipped (separate counters), alerts by severity (every severity present, 0 when none) and, for a
 * live run, the collection series.
 */
export function recordDetectionMetrics(metrics: MetricsCollector, facts: DetectionFacts): void {
  for (const snapshot of facts.snapshots ?? []) if (snapshot.live !== undefined) recordCollectionMetrics(metrics, snapshot.live.stats);
  for (const rule of facts.results) {
    if (rule.status !== 'not_run') metrics.recordHistogram('daemoneye_rule_duration_seconds', rule.execution_time_ms / 1000, {rule: rule.rule_id});
  }
  // One series per outcome: a skipped rule (no baseline given, a table the input lacks) is not a failure.
  const count = (status: string): number => facts.results.filter((rule) => rule.status === status).length;
  metrics.recordCounter('daemoneye_rules_failed_total', count('error'));
  metrics.recordCounter('daemoneye_rules_timed_out_total', count('timeout'));
  metrics.recordCounter('daemoneye_rules_not_run_total', count('not_run'));
  metrics.recordCounter('daemoneye_rules_skipped_total', count('skipped'));
  // Zero-valued series keep dashboards and `absent()` alerts honest on a quiet host.
  for (const severity of ALERT_SEVERITIES) metrics.recordCounter('daemoneye_alerts_generated_total', 0, {severity});
  for (const alert of facts.alerts) metrics.recordCounter('daemoneye_alerts_generated_total', 1, {severity: alert.severity});
}

export interface DeliveryFacts {
  readonly sink: string;
  /** e.g. `delivered`, `failed`, `spooled`, `suppressed`. */
  readonly result: string;
  readonly count?: number;
}

export function recordDeliveryMetrics(metrics: MetricsCollector, deliveries: readonly DeliveryFacts[]): void {
  for (const delivery of deliveries)
    metrics.recordCounter('daemoneye_alert_deliveries_total', delivery.count ?? 1, {sink: delivery.sink, result: delivery.result});
}

/** The alerting run summary (`AlertManager.deliver(...).summary`): per sink delivered, spooled and dropped. */
export interface DeliverySummaryFacts {
  readonly suppressed: number;
  readonly deliveries: ReadonlyArray<{readonly sink: string; readonly delivered: number; readonly pending: number; readonly dropped: number}>;
}

export function recordDeliverySummaryMetrics(metrics: MetricsCollector, summary: DeliverySummaryFacts): void {
  recordDeliveryMetrics(
    metrics,
    summary.deliveries.flatMap((d) => [
      {sink: d.sink, result: 'delivered', count: d.delivered},
      {sink: d.sink, result: 'spooled', count: d.pending},
      {sink: d.sink, result: 'dropped', count: d.dropped},
    ]),
  );
  if (summary.suppressed > 0) recordDeliveryMetrics(metrics, [{sink: 'all', result: 'suppressed', count: summary.suppressed}]);
}
