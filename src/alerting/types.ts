// The contract between AlertManager and its sinks: a sink takes a batch of alerts and says, per alert,
// whether it was taken, so what it could not take can be spooled and retried on the next run. A sink kind
// (SinkKind) is everything about one `type` of sink: how it is built, which of its settings are secrets and
// how `health` probes it; sinks/sink-kinds.ts holds one per member of the configuration's sink union.
import type {SinkConfig} from '../config/schema.js';
import type {Alert} from '../models/alert.js';

export interface SinkSendOptions {
  /** Fires at the run's delivery deadline; a sink stops and reports what it has not sent. */
  readonly signal: AbortSignal;
  /** The same deadline as epoch milliseconds, so a sink can tell in advance that a wait would pass it. */
  readonly deadline: number;
  /** Where a sink reports something worth a warning that is not a failure (e.g. a torn last line). */
  readonly warn?: (message: string) => void;
}

export interface SinkSendResult {
  /** One flag per input alert, in order: true when the sink took it. */
  readonly delivered: readonly boolean[];
  /** Transport attempts made (requests, connections, datagram batches). */
  readonly attempts: number;
  /** Last HTTP status seen (webhook), else null. */
  readonly status: number | null;
  /** Why something was not delivered (secrets never included), else null. */
  readonly error: string | null;
}

/** A pluggable delivery channel (the reference API's `AlertSink`, docs/api.md). */
export interface AlertSink {
  readonly name: string;
  readonly type: SinkConfig['type'];
  send(alerts: readonly Alert[], options: SinkSendOptions): Promise<SinkSendResult>;
  /** Release sockets or handles; called once after the last send. */
  close?(): Promise<void> | void;
}

/** Outcome of one sink in one run, as it appears in the run summary. */
export interface SinkDelivery {
  readonly sink: string;
  /** The sink's type; null for the spool of a sink no longer configured (its type is not known). */
  readonly type: SinkConfig['type'] | null;
  /** True when every alert meant for this sink (spooled ones included) was taken. */
  readonly ok: boolean;
  readonly attempts: number;
  readonly duration_ms: number;
  readonly status: number | null;
  readonly error: string | null;
  /** Alerts the sink took this run (redelivered spool entries included). */
  readonly delivered: number;
  /** Of those, how many came from the spool of an earlier run. */
  readonly redelivered: number;
  /** Alerts left in this sink's spool after the run. */
  readonly pending: number;
  /** Oldest spool entries dropped because the spool was full. */
  readonly dropped: number;
  /**
   * This run's alerts the sink did not take that could not be saved either (the spool and the run journal
   * could not be written: a full or read-only disk): said, never hidden.
   */
  readonly lost: number;
}

/** The facts of one delivery run, ready for the summary (`detect --format json` `summary`, audit). */
export interface DeliverySummary {
  /** (alert, sink) deliveries that succeeded. */
  readonly delivered: number;
  /** Alerts suppressed by deduplication (sent within the window by an earlier run). */
  readonly suppressed: number;
  /** Alerts waiting in spools after the run, all sinks together. */
  readonly spooled: number;
  /** Spool entries dropped (oldest first) because a spool passed `max_queue_size`. */
  readonly dropped: number;
  /** Alerts neither delivered nor saved for a later run, all sinks together (see SinkDelivery.lost). */
  readonly lost: number;
  /**
   * Why state of the run was not written (deduplication state, run journal, spool), one line each; empty
   * when everything was. Alerts are printed and delivered all the same; the run exits 3.
   */
  readonly state_errors: readonly string[];
  readonly deliveries: readonly SinkDelivery[];
}

/** What building a sink may be given besides its configuration. */
export interface CreateSinkOptions {
  /** alerting.delivery_timeout_ms: the run's delivery deadline (a webhook's retries stop at it). */
  readonly deliveryTimeoutMs?: number;
  /** Where a stdout sink writes (tests); default process.stdout. */
  readonly write?: (text: string) => void;
}

/** What `health` learns of a sink: whether a run could deliver to it now, and why (no secret in it). */
export interface SinkProbeResult {
  readonly reachable: boolean;
  readonly detail: string;
}

/**
 * Everything about one type of sink, in its own module (sinks/<type>.ts). SINK_KINDS (sinks/sink-kinds.ts)
 * holds one per member of the configuration's sink union, checked by the compiler, so a new sink cannot
 * leave out construction, its secrets or its probe.
 */
export interface SinkKind<C extends SinkConfig> {
  readonly type: C['type'];
  create(config: C, options: CreateSinkOptions): AlertSink;
  /**
   * The values of its configuration that are secrets (tokens, passwords, signing keys), for the logger and
   * every delivery result to redact; [] states that it holds none.
   */
  secrets(config: C): string[];
  /**
   * Whether a run could deliver to it now, without sending an alert (`health`). May throw: the caller
   * reports the error against `where`.
   */
  probe(config: C, timeoutMs: number): Promise<SinkProbeResult>;
  /** Where it delivers, for a problem line: a path, host:port or URL origin and path, never a credential. */
  where(config: C): string;
}
