// Every sink kind, one per member of the configuration's sink union (src/config/schema.ts), each declared
// in its own module with how it is built, which of its settings are secrets and how `health` probes it.
// The `satisfies` below makes a union member without a complete kind a compile error: a new sink is its
// configuration member, its module and one line here.
// A kind's module is imported only when a configuration names that kind (loadSinkKinds): a run that delivers
// to stdout alone never evaluates the HTTP, syslog or ClickHouse clients (docs/performance.md, "What a detect
// run does").
import {secretValues} from '../../config/redact.js';
import type {SinkConfig} from '../../config/schema.js';
import type {AlertSink, CreateSinkOptions, SinkKind} from '../types.js';

export type {CreateSinkOptions} from '../types.js';

type SinkType = SinkConfig['type'];

/** Each kind's module, imported on first use. */
export const SINK_KINDS = {
  stdout: async () => (await import('./stdout.js')).STDOUT_SINK,
  file: async () => (await import('./file.js')).FILE_SINK,
  syslog: async () => (await import('./syslog.js')).SYSLOG_SINK,
  webhook: async () => (await import('./webhook.js')).WEBHOOK_SINK,
  clickhouse: async () => (await import('./clickhouse.js')).CLICKHOUSE_SINK,
} as const satisfies {readonly [T in SinkType]: () => Promise<SinkKind<Extract<SinkConfig, {type: T}>>>};

/** The kinds loaded so far (loadSinkKinds). */
const loaded = new Map<SinkType, SinkKind<SinkConfig>>();

/**
 * Import the kinds of these sinks (default: every kind), so sinkKind, createSink and sinkSecrets can answer for
 * them. Call it before building an AlertManager or reading a sink's secrets (AlertManager.fromConfig does).
 */
export async function loadSinkKinds(sinks?: readonly Pick<SinkConfig, 'type'>[]): Promise<void> {
  const types = sinks === undefined ? (Object.keys(SINK_KINDS) as SinkType[]) : [...new Set(sinks.map((sink) => sink.type))];
  for (const type of types) {
    if (!loaded.has(type)) loaded.set(type, (await SINK_KINDS[type]()) as unknown as SinkKind<SinkConfig>);
  }
}

/**
 * The kind of a configured sink (typed for its configuration). Throws a programming error when its module was
 * not loaded first (loadSinkKinds).
 */
export function sinkKind<C extends SinkConfig>(config: C): SinkKind<C> {
  const kind = loaded.get(config.type);
  if (kind === undefined) throw new Error(`programming error: the ${config.type} sink kind is used before loadSinkKinds() loaded it`);
  return kind as unknown as SinkKind<C>;
}

/** Build the sink a configuration entry describes (its kind loaded: loadSinkKinds). */
export function createSink(config: SinkConfig, options: CreateSinkOptions = {}): AlertSink {
  return sinkKind(config).create(config, options);
}

/**
 * Values of a sink's configuration that are secrets, for the logger and delivery results to redact: those its
 * kind declares (`secrets`) and every value the redaction policy finds by name (a key named for a secret, a
 * header, the token after `Bearer `, URL passwords and secret query values: src/config/redact.ts), so a new
 * sink's secret field counts even where its kind forgot it. Its kind must be loaded (loadSinkKinds).
 */
export function sinkSecrets(config: SinkConfig): string[] {
  return [...new Set([...sinkKind(config).secrets(config), ...secretValues(config)])].filter((secret) => secret.length > 0);
}
