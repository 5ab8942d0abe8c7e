// Every sink kind in one place: how each is built from its configuration and which of its values are secrets.
import type {SinkConfig} from '../../config/schema.js';
import type {AlertSink} from '../types.js';
import {ClickHouseSink} from './clickhouse.js';
import {FileSink} from './file.js';
import {StdoutSink} from './stdout.js';
import {SyslogSink} from './syslog.js';
import {WebhookSink} from './webhook.js';

export interface CreateSinkOptions {
  readonly deliveryTimeoutMs?: number;
  readonly write?: (text: string) => void;
}

export function createSink(config: SinkConfig, options: CreateSinkOptions = {}): AlertSink {
  switch (config.type) {
    case 'stdout':
      return new StdoutSink(config, options.write);
    case 'file':
      return new FileSink(config);
    case 'syslog':
      return new SyslogSink(config);
    case 'webhook':
      return new WebhookSink(config, options.deliveryTimeoutMs === undefined ? {} : {deliveryTimeoutMs: options.deliveryTimeoutMs});
    case 'clickhouse':
      return new ClickHouseSink(config, options.deliveryTimeoutMs === undefined ? {} : {deliveryTimeoutMs: options.deliveryTimeoutMs});
  }
}

/** Values of a sink's configuration that are secrets (header values, HMAC secret, passwords), for the logger to redact. */
export function sinkSecrets(config: SinkConfig): string[] {
  if (config.type === 'clickhouse') return new ClickHouseSink(config).secrets();
  if (config.type !== 'webhook') return [];
  const url = new URL(config.url);
  const password = url.password === '' ? [] : [url.password, decodeURIComponent(url.password)];
  // "Bearer TOKEN", "Splunk TOKEN": the token alone is a secret too, wherever it shows up.
  const headerValues = Object.values(config.headers).flatMap((value) => {
    const token = /^\S+\s+(\S.*)$/.exec(value)?.[1];
    return token === undefined ? [value] : [value, token];
  });
  return [...headerValues, ...(config.hmac_secret === null ? [] : [config.hmac_secret]), ...password];
}
