// Every sink kind, one per member of the configuration's sink union (src/config/schema.ts), each declared
// in its own module with how it is built, which of its settings are secrets and how `health` probes it.
// The `satisfies` below makes a union member without a complete kind a compile error: a new sink is its
// configuration member, its module and one line here.
import {secretValues} from '../../config/redact.js';
import type {SinkConfig} from '../../config/schema.js';
import type {AlertSink, CreateSinkOptions, SinkKind} from '../types.js';
import {CLICKHOUSE_SINK} from './clickhouse.js';
import {FILE_SINK} from './file.js';
import {STDOUT_SINK} from './stdout.js';
import {SYSLOG_SINK} from './syslog.js';
import {WEBHOOK_SINK} from './webhook.js';

export type {CreateSinkOptions} from '../types.js';

export const SINK_KINDS = {
  stdout: STDOUT_SINK,
  file: FILE_SINK,
  syslog: SYSLOG_SINK,
  webhook: WEBHOOK_SINK,
  clickhouse: CLICKHOUSE_SINK,
} as const satisfies {readonly [T in SinkConfig['type']]: SinkKind<Extract<SinkConfig, {type: T}>>};

/** The kind of a configured sink (typed for its configuration). */
export function sinkKind<C extends SinkConfig>(config: C): SinkKind<C> {
  return SINK_KINDS[config.type] as unknown as SinkKind<C>;
}

/** Build the sink a configuration entry describes. */
export function createSink(config: SinkConfig, options: CreateSinkOptions = {}): AlertSink {
  return sinkKind(config).create(config, options);
}

/**
 * Values of a sink's configuration that are secrets, for the logger and delivery results to redact: those its
 * kind declares (`secrets`) and every value the redaction policy finds by name (a key named for a secret, a
 * header, the token after `Bearer `, URL passwords and secret query values: src/config/redact.ts), so a new
 * sink's secret field counts even where its kind forgot it.
 */
export function sinkSecrets(config: SinkConfig): string[] {
  return [...new Set([...sinkKind(config).secrets(config), ...secretValues(config)])].filter((secret) => secret.length > 0);
}
