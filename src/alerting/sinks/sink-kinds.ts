// Every sink kind in one place: how each is built from its configuration and which of its values are secrets.
import {secretValues} from '../../config/redact.js';
import type {SinkConfig} from '../../config/schema.js';
import type {AlertSink} from '../types.js';
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
  }
}

/**
 * Values of a sink's configuration that are secrets, for the logger and delivery results to scrub: every
 * value of a key named for a secret or of a header (and the token after `Bearer `), URL passwords and secret
 * query values (src/config/redact.ts decides by the redaction policy, so a new sink's secret fields count too).
 */
export function sinkSecrets(config: SinkConfig): string[] {
  return secretValues(config);
}
