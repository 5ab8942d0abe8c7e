// StdoutSink: alerts as JSON, NDJSON or one human line each. `detect` prints its own alerts; a configured
// stdout sink only chooses detect's default format, so AlertManager never sends to it (no double print).
import type {SinkConfig} from '../../config/schema.js';
import type {Alert} from '../../models/alert.js';
import {renderViewPieces, rowPieces} from '../../output/view.js';
import {writePieces} from '../../output/write-pieces.js';
import {terminalSafe} from '../../output/terminal.js';
import type {AlertSink, SinkKind, SinkSendResult} from '../types.js';

export type StdoutSinkConfig = Extract<SinkConfig, {type: 'stdout'}>;
export type AlertTextFormat = StdoutSinkConfig['format'];

/** One human line: time, severity, rule, pids, title (terminal-safe). */
export function alertTextLine(alert: Alert, marker = ''): string {
  const pids = alert.affected_processes.length === 0 ? '' : ` pids=${alert.affected_processes.join(',')}`;
  return `${terminalSafe(`${marker}${new Date(alert.alert_time).toISOString()} ${alert.severity.toUpperCase()} ${alert.rule_id}${pids} ${alert.title}`)}\n`;
}

export function renderAlerts(alerts: readonly Alert[], format: AlertTextFormat): string {
  return [...alertPieces(alerts, format)].join('');
}

/** renderAlerts' text in pieces (JSON tokens, a line per alert: src/output/view.ts), for a writer that writes as it goes. */
export function alertPieces(alerts: readonly Alert[], format: AlertTextFormat): Iterable<string> {
  return format === 'text' ? rowPieces(alerts, (alert) => alertTextLine(alert)) : renderViewPieces(format, {rows: alerts});
}

export class StdoutSink implements AlertSink {
  readonly type = 'stdout' as const;
  readonly name: string;

  constructor(
    private readonly config: StdoutSinkConfig,
    private readonly write: (text: string) => void = (text) => process.stdout.write(text),
  ) {
    this.name = config.name;
  }

  get format(): AlertTextFormat {
    return this.config.format;
  }

  async send(alerts: readonly Alert[]): Promise<SinkSendResult> {
    // In chunks, with turns of the event loop between them: any number of alerts (src/output/write-pieces.ts).
    await writePieces(alertPieces(alerts, this.config.format), (chunk) => this.write(chunk));
    return {delivered: alerts.map(() => true), attempts: 1, status: null, error: null};
  }
}

/** The stdout sink kind: it only chooses `detect`'s default format, holds no secret, and is always there. */
export const STDOUT_SINK: SinkKind<StdoutSinkConfig> = {
  type: 'stdout',
  create: (config, options) => new StdoutSink(config, options.write),
  secrets: () => [],
  probe: async () => ({reachable: true, detail: 'stdout'}),
  where: () => 'stdout',
};
