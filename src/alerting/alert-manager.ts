// AlertManager: what happens to a run's alerts after detection. Deduplication across runs decides what
// may leave the process; the run's alerts are then written ahead for every sink (one run journal, then each
// sink's spool) before the first delivery to any; each sink then gets the spool of earlier runs first and
// the new alerts after, all sinks in parallel under one run deadline; what a sink took leaves its spool.
// State that cannot be written (a full or read-only disk, an unsafe file) never stops a delivery: it is
// said in the summary's state_errors, and what could be neither delivered nor saved is counted as lost.
import type {Config} from '../config/builder.js';
import {ensureStateDir} from '../config/paths.js';
import type {DaemonEyeConfig, SinkConfig} from '../config/schema.js';
import {type AlertGenerationOptions, type AlertingRule, generateAlerts, type ResultRow} from '../detection/alerts.js';
import {DaemonEyeError, isDaemonEyeError} from '../errors.js';
import type {Alert} from '../models/alert.js';
import {isAtLeast} from '../models/severity.js';
import {type Logger, silentLogger} from '../output/logger.js';
import {applyDeduplication} from './dedupe.js';
import {Scrubber} from '../redaction/redact.js';
import {createSink, loadSinkKinds, sinkSecrets} from './sinks/sink-kinds.js';
import {
  type Claim,
  claimSpool,
  readSpool,
  recoverJournals,
  removeJournal,
  settleJournal,
  settleSpool,
  spooledSinkNames,
  spoolPath,
  writeJournal,
} from './spool.js';
import type {AlertSink, DeliverySummary, SinkDelivery} from './types.js';

export type DeduplicationConfig = DaemonEyeConfig['alerting']['deduplication'];

/** The reference API's AlertManagerConfig (docs/api.md), plus where state lives and the run deadline. */
export interface AlertManagerConfig {
  readonly deduplication: DeduplicationConfig;
  readonly max_queue_size: number;
  /** Cap on one alert's delivery to one sink, retries included. */
  readonly delivery_timeout_ms: number;
  /** Cap on all deliveries of one run; what is not delivered by then is spooled. */
  readonly delivery_deadline_ms: number;
  readonly state_dir: string;
  readonly sinks: readonly SinkConfig[];
}

export interface AlertManagerOptions {
  readonly logger?: Logger;
  readonly now?: () => number;
  /** Build a sink from its configuration (tests substitute sinks). */
  readonly createSink?: (config: SinkConfig) => AlertSink;
}

export interface DeliverOptions {
  /** Only these sinks (`detect --sink`); all configured sinks when absent or empty. */
  readonly sinkNames?: readonly string[];
  /**
   * Called once the run's alerts are written ahead (or could not be) and before the first delivery, with
   * the alerts that passed deduplication and those it suppressed: `detect` prints them here.
   */
  readonly beforeDelivery?: (passed: readonly Alert[], suppressed: readonly Alert[]) => Promise<void> | void;
}

const describe = (error: unknown): string => (isDaemonEyeError(error) ? error.toOneLine() : error instanceof Error ? error.message : String(error));

/** One sink's part of a run: its new alerts, and its spool claim when the spool could take it. */
interface SinkPlan {
  readonly config: SinkConfig;
  readonly fresh: readonly Alert[];
  readonly claim: Claim | undefined;
}

export interface DeliveryRunResult {
  /** Alerts that may leave the process (print these): everything when deduplication is off. */
  readonly alerts: readonly Alert[];
  /** Alerts suppressed by deduplication: not printed (unless --show-suppressed), not sent. */
  readonly suppressedAlerts: readonly Alert[];
  readonly summary: DeliverySummary;
}

export class AlertManager {
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly build: (config: SinkConfig) => AlertSink;
  /** This run's sink secrets and the redaction policy, over every error text a delivery result carries. */
  private readonly scrubber = new Scrubber();

  /** The kinds of `config.sinks` must be loaded first (loadSinkKinds in sinks/sink-kinds.ts; fromConfig does it). */
  constructor(
    readonly config: AlertManagerConfig,
    options: AlertManagerOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.build = options.createSink ?? ((sink) => createSink(sink, {deliveryTimeoutMs: config.delivery_timeout_ms}));
    for (const secret of config.sinks.flatMap(sinkSecrets)) {
      this.scrubber.add(secret);
      this.logger.addSecret(secret);
    }
  }

  /**
   * The manager for a loaded configuration (state under alerting.state_dir, default <app.state_dir>/alerts), with
   * the modules of the configured sinks' kinds loaded (and only those).
   */
  static async fromConfig(config: Config, options: AlertManagerOptions = {}): Promise<AlertManager> {
    const alerting = config.values.alerting;
    await loadSinkKinds(alerting.sinks);
    return new AlertManager({...alerting, state_dir: config.paths.alertsDir}, options);
  }

  /** The output format a configured stdout sink asks for (detect's default), if any. */
  stdoutFormat(sinkNames: readonly string[] = []): 'json' | 'ndjson' | 'text' | undefined {
    const stdout = this.selectSinks(sinkNames).find((sink) => sink.type === 'stdout');
    return stdout?.type === 'stdout' ? stdout.format : undefined;
  }

  /**
   * The reference API's `generate_alert` (docs/api.md): a rule's result rows become alerts, one per dedupe key, keyed by
   * `alerting.deduplication.key_fields` (the detection engine's own generator, so keys always agree).
   */
  generateAlerts(rule: AlertingRule, rows: readonly ResultRow[], options: Omit<AlertGenerationOptions, 'keyFields'>): Alert[] {
    return generateAlerts(rule, rows, {...options, keyFields: this.config.deduplication.key_fields});
  }

  /** The reference API's `deliver_alert` (docs/api.md): one alert through deduplication to every sink. */
  deliverAlert(alert: Alert, options: DeliverOptions = {}): Promise<DeliveryRunResult> {
    return this.deliver([alert], options);
  }

  /**
   * Deduplicate a run's alerts, write what passes ahead for every selected sink, then deliver it (after
   * earlier runs' spool) to each. Never throws for state it cannot write (see DeliverySummary.state_errors);
   * throws SINK_UNKNOWN for an unknown sink name.
   */
  async deliver(alerts: readonly Alert[], options: DeliverOptions = {}): Promise<DeliveryRunResult> {
    const sinks = this.selectSinks(options.sinkNames ?? []).filter((sink) => sink.type !== 'stdout');
    const stateDir = this.config.state_dir;
    const problems: string[] = [];
    let journal: string | undefined;
    // Write ahead: one atomic journal of every alert for every sink, so a kill at any later moment leaves
    // each alert delivered or recoverable for each sink.
    const writeAhead = (passed: readonly Alert[]): void => {
      if (passed.length === 0 || sinks.length === 0) return;
      const perSink = new Map(sinks.map((sink) => [sink.name, passed.filter((alert) => isAtLeast(alert.severity, sink.min_severity))]));
      try {
        journal = writeJournal(stateDir, perSink, {now: this.now()});
      } catch (error) {
        problems.push(describe(error));
      }
    };
    let passed: readonly Alert[] = alerts;
    let suppressed: readonly Alert[] = [];
    if (this.config.deduplication.enabled && alerts.length > 0) {
      const outcome = await applyDeduplication(stateDir, alerts, {
        windowMinutes: this.config.deduplication.window_minutes,
        now: this.now(),
        warn: (message) => this.logger.warn(message),
        lockTimeoutMs: this.config.delivery_deadline_ms,
        beforeRecord: writeAhead,
      });
      passed = outcome.passed;
      suppressed = outcome.suppressed;
      problems.push(...outcome.problems);
      if (suppressed.length > 0)
        this.logger.info(
          `${suppressed.length} alert${suppressed.length === 1 ? '' : 's'} suppressed: already sent within ${this.config.deduplication.window_minutes} min (alerting.deduplication.window_minutes)`,
        );
    } else {
      writeAhead(alerts);
    }
    const summary = await this.deliverToSinks(sinks, passed, {
      journal,
      problems,
      beforeDelivery: async () => options.beforeDelivery?.(passed, suppressed),
    });
    return {alerts: passed, suppressedAlerts: suppressed, summary: {...summary, suppressed: suppressed.length}};
  }

  /**
   * `alerts deliver`: retry every spool (or those of `sinkNames`). Spools of sinks no longer configured
   * are reported as pending, never silently discarded.
   */
  async deliverSpool(options: DeliverOptions = {}): Promise<DeliverySummary> {
    const names = options.sinkNames ?? [];
    const selected = this.selectSinks(names).filter((sink) => sink.type !== 'stdout');
    // Retrying the spools is writing them: a state directory that cannot be written fails the command.
    if (selected.length > 0) ensureStateDir(this.config.state_dir);
    const summary = await this.deliverToSinks(selected, [], {journal: undefined, problems: []});
    if (names.length > 0) return summary;
    const configured = new Set(this.config.sinks.map((sink) => sink.name));
    const orphans: SinkDelivery[] = [];
    for (const name of spooledSinkNames(this.config.state_dir)) {
      if (configured.has(name)) continue;
      const pending = readSpool(spoolPath(this.config.state_dir, name), (message) => this.logger.warn(message)).length;
      if (pending === 0) continue;
      const error = `sink "${name}" is no longer configured; configure it again, or remove ${spoolPath(this.config.state_dir, name)} to discard its alerts`;
      this.logger.warn(error);
      orphans.push({
        sink: name,
        type: null,
        ok: false,
        attempts: 0,
        duration_ms: 0,
        status: null,
        error,
        delivered: 0,
        redelivered: 0,
        pending,
        dropped: 0,
        lost: 0,
      });
    }
    return {...summary, spooled: summary.spooled + orphans.reduce((sum, o) => sum + o.pending, 0), deliveries: [...summary.deliveries, ...orphans]};
  }

  private selectSinks(names: readonly string[]): readonly SinkConfig[] {
    if (names.length === 0) return this.config.sinks;
    const byName = new Map(this.config.sinks.map((sink) => [sink.name, sink]));
    return [...new Set(names)].map((name) => {
      const sink = byName.get(name);
      if (sink === undefined) {
        const known = [...byName.keys()];
        throw new DaemonEyeError('SINK_UNKNOWN', `no sink named "${name}" is configured`, {
          hint: known.length === 0 ? 'add one under alerting.sinks in the configuration' : `configured sinks: ${known.join(', ')}`,
        });
      }
      return sink;
    });
  }

  private scrub(text: string | null): string | null {
    return text === null ? null : this.scrubber.text(text);
  }

  private async deliverToSinks(
    sinks: readonly SinkConfig[],
    alerts: readonly Alert[],
    run: {journal: string | undefined; problems: string[]; beforeDelivery?: () => Promise<void>},
  ): Promise<DeliverySummary> {
    const stateDir = this.config.state_dir;
    const {problems} = run;
    const staleAfterMs = 2 * this.config.delivery_deadline_ms + 60_000;
    const deadline = this.now() + this.config.delivery_deadline_ms;
    const lockTimeoutMs = (): number => Math.max(1_000, deadline - this.now());
    const warn = (message: string) => this.logger.warn(message);
    if (sinks.length > 0) {
      // Runs killed before their alerts reached the spools left journals: their alerts go out with this run.
      const recovery = await recoverJournals(stateDir, {now: this.now(), warn, staleAfterMs, lockTimeoutMs: lockTimeoutMs()});
      problems.push(...recovery.problems);
      if (recovery.folded > 0) this.logger.info(`recovered the alerts of ${recovery.folded} interrupted run(s) from their journals`);
    }
    // Every sink's spool takes this run's alerts before the first delivery to any sink.
    const plans = await Promise.all(
      sinks.map(async (config): Promise<SinkPlan> => {
        const fresh = alerts.filter((alert) => isAtLeast(alert.severity, config.min_severity));
        try {
          const claim = await claimSpool(stateDir, config.name, {
            add: fresh,
            now: this.now(),
            warn: (message) => this.logger.warn(`sink ${config.name}: ${message}`),
            staleAfterMs,
            lockTimeoutMs: lockTimeoutMs(),
          });
          return {config, fresh, claim};
        } catch (error) {
          problems.push(describe(error));
          return {config, fresh, claim: undefined};
        }
      }),
    );
    const allClaimed = plans.every((plan) => plan.claim !== undefined);
    if (run.journal !== undefined && allClaimed) {
      try {
        removeJournal(run.journal);
      } catch (error) {
        problems.push(describe(error));
      }
    }
    await run.beforeDelivery?.();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.max(0, deadline - this.now()));
    let deliveries: SinkDelivery[];
    let notTakenBySink: Map<string, readonly Alert[]>;
    try {
      const outcomes = await Promise.all(plans.map((plan) => this.deliverToSink(plan, controller.signal, deadline, run.journal !== undefined, problems)));
      deliveries = outcomes.map((o) => o.delivery);
      notTakenBySink = new Map(
        plans.flatMap((plan, index) => (plan.claim === undefined ? [[plan.config.name, outcomes[index]?.notTakenFresh ?? []] as const] : [])),
      );
    } finally {
      clearTimeout(timer);
    }
    // A sink whose spool could not take its alerts keeps them in the journal (what it did not take).
    if (run.journal !== undefined && !allClaimed) {
      try {
        settleJournal(run.journal, notTakenBySink, {now: this.now()});
      } catch (error) {
        problems.push(describe(error));
      }
    }
    const stateErrors = [...new Set(problems)].map((problem) => this.scrub(problem) ?? problem);
    return {
      delivered: deliveries.reduce((sum, d) => sum + d.delivered, 0),
      suppressed: 0,
      spooled: deliveries.reduce((sum, d) => sum + d.pending, 0),
      dropped: deliveries.reduce((sum, d) => sum + d.dropped, 0),
      lost: deliveries.reduce((sum, d) => sum + d.lost, 0),
      state_errors: stateErrors,
      deliveries,
    };
  }

  private async deliverToSink(
    plan: SinkPlan,
    signal: AbortSignal,
    deadline: number,
    journaled: boolean,
    problems: string[],
  ): Promise<{delivery: SinkDelivery; notTakenFresh: readonly Alert[]}> {
    const {config, claim} = plan;
    const started = performance.now();
    const stateDir = this.config.state_dir;
    const warn = (message: string) => this.logger.warn(`sink ${config.name}: ${message}`);
    // Earlier runs' alerts go first: they have waited longest. Without a claim the spool is not touched:
    // only this run's alerts go out.
    const earlier = claim?.earlier ?? [];
    const queue = claim === undefined ? [...plan.fresh] : [...earlier.map((entry) => entry.alert), ...claim.fresh];
    let delivered: readonly boolean[] = queue.map(() => false);
    let attempts = 0;
    let status: number | null = null;
    let error: string | null = null;
    if (queue.length > 0) {
      let sink: AlertSink | undefined;
      try {
        sink = this.build(config);
        const result = await sink.send(queue, {signal, deadline, warn});
        ({delivered, attempts, status} = result);
        error = this.scrub(result.error);
      } catch (caught) {
        error = this.scrub(describe(caught));
      } finally {
        await sink?.close?.();
      }
    }
    const deliveredIds = new Set(queue.filter((_, index) => delivered[index] === true).map((alert) => alert.id));
    const notTakenFresh = plan.fresh.filter((alert) => !deliveredIds.has(alert.id));
    const notTaken = queue.length - deliveredIds.size;
    if (notTaken > 0 && error === null) error = signal.aborted ? 'delivery deadline reached' : 'not every alert was taken';
    let pending = 0;
    let dropped = 0;
    let lost = 0;
    if (claim === undefined) {
      // The run journal (when it could be written) keeps what the sink did not take; otherwise it is lost.
      // What earlier runs spooled stays there, untouched, for a run that can write the spool.
      if (journaled) pending = notTakenFresh.length;
      else lost = notTakenFresh.length;
      try {
        pending += readSpool(spoolPath(stateDir, config.name), () => undefined, this.now()).length;
      } catch {
        // said already: the claim failed on the same file
      }
    } else if (queue.length > 0) {
      try {
        ({pending, dropped} = await settleSpool(stateDir, config.name, {
          claimed: new Set(queue.map((alert) => alert.id)),
          delivered: deliveredIds,
          error,
          maxQueueSize: this.config.max_queue_size,
          now: this.now(),
          warn,
          // The spool must be settled even after the deadline: losing alerts is worse than a late exit.
          lockTimeoutMs: 30_000,
        }));
      } catch (settleError) {
        // The claimed entries stay in the spool, claimed by this run: once it ends they are free again and
        // sent once more (at least once), so nothing is lost.
        problems.push(describe(settleError));
        pending = notTaken;
      }
    } else {
      // Nothing of ours, but report what other runs left pending (e.g. claimed by a live concurrent run).
      try {
        pending = readSpool(spoolPath(stateDir, config.name), warn, this.now()).length;
      } catch (readError) {
        problems.push(describe(readError));
      }
    }
    const delivery: SinkDelivery = {
      sink: config.name,
      type: config.type,
      ok: notTaken === 0,
      attempts,
      duration_ms: Math.round(performance.now() - started),
      status,
      error: notTaken === 0 ? null : error,
      delivered: deliveredIds.size,
      redelivered: earlier.filter((entry) => deliveredIds.has(entry.alert.id)).length,
      pending,
      dropped,
      lost,
    };
    if (!delivery.ok) {
      const kept =
        lost > 0
          ? `${lost} alert(s) could be neither delivered nor saved for a later run (the state directory could not be written): lost`
          : claim === undefined
            ? `${notTakenFresh.length} alert(s) kept in the run journal for the next run`
            : `${notTaken} alert(s) spooled for the next run (${pending} pending)`;
      warn(`${delivery.error ?? 'delivery failed'}; ${kept}`);
    }
    if (dropped > 0) warn(`spool full (alerting.max_queue_size ${this.config.max_queue_size}): dropped the ${dropped} oldest alert(s)`);
    if (delivery.redelivered > 0) this.logger.info(`sink ${config.name}: delivered ${delivery.redelivered} spooled alert(s) from earlier runs`);
    return {delivery, notTakenFresh};
  }
}

/** The one call `detect` makes: deduplicate, deliver to the configured (or named) sinks, spool the rest. */
export async function deliverRun(
  config: Config,
  alerts: readonly Alert[],
  options: DeliverOptions & {logger?: Logger; now?: () => number} = {},
): Promise<DeliveryRunResult> {
  return (await AlertManager.fromConfig(config, options)).deliver(alerts, options);
}

/** The call `alerts deliver` makes: retry the spools, report what is still pending. */
export async function deliverSpool(config: Config, options: DeliverOptions & {logger?: Logger; now?: () => number} = {}): Promise<DeliverySummary> {
  return (await AlertManager.fromConfig(config, options)).deliverSpool(options);
}

/** An alert as printed with `--show-suppressed`: marked so readers and jq filters can tell. */
export type PrintedAlert = Alert & {suppressed?: true};

/**
 * What `detect` prints, in the order found: the alerts deduplication let through and, with
 * `showSuppressed`, the suppressed ones too, each marked `"suppressed": true`.
 */
export function alertsToPrint(
  found: readonly Alert[],
  result: Pick<DeliveryRunResult, 'alerts' | 'suppressedAlerts'>,
  showSuppressed: boolean,
): PrintedAlert[] {
  const passed = new Set(result.alerts);
  const suppressed = new Set(result.suppressedAlerts);
  return found.flatMap((alert): PrintedAlert[] => {
    if (passed.has(alert)) return [alert];
    if (showSuppressed && suppressed.has(alert)) return [{...alert, suppressed: true}];
    return [];
  });
}

/** True when some sink did not take everything meant for it (detect then exits 3 unless --fail-on gives 1). */
export function deliveryFailed(summary: DeliverySummary): boolean {
  return summary.deliveries.some((delivery) => !delivery.ok);
}
