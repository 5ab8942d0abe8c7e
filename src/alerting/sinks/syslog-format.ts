// RFC 5424 message building: PRI from facility and severity, a header of printable ASCII, the alert's
// facts as structured data under `daemoneye@32473`, and a message cut at a UTF-8 boundary to fit.
import {hostname} from 'node:os';

import type {Alert} from '../../models/alert.js';
import {alertEvidence} from '../../models/alert-evidence.js';
import type {AlertSeverity} from '../../models/severity.js';
import {terminalSafe} from '../../output/terminal.js';

export const SD_ID = 'daemoneye@32473';

export const SYSLOG_FACILITIES = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
} as const;
export type SyslogFacility = keyof typeof SYSLOG_FACILITIES;

/** Severity to syslog severity (docs/alerting.md, sink table): critical → crit (2), high → err (3), medium → warning (4), low → notice (5), informational → info (6). */
export const SYSLOG_SEVERITY: Record<AlertSeverity, number> = {critical: 2, high: 3, medium: 4, low: 5, informational: 6};

/** Keep so many pids in the SD; the rest is summarised by `process_count`. */
const MAX_SD_PIDS = 64;
const UTF8_BOM = '\uFEFF';

/** Header fields are PRINTUSASCII (33–126) with a maximum length; anything else becomes `_`, empty `-`. */
function headerField(text: string, max: number): string {
  const cleaned = text.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return cleaned === '' ? '-' : cleaned;
}

/** RFC 5424 §6.3.3: inside PARAM-VALUE, `"`, `\` and `]` are escaped with a backslash. */
export function escapeSdValue(value: string): string {
  return value.replace(/["\\\]]/g, (char) => `\\${char}`);
}

export function priority(facility: SyslogFacility, severity: AlertSeverity): number {
  return SYSLOG_FACILITIES[facility] * 8 + SYSLOG_SEVERITY[severity];
}

/** Cut a string to at most `maxBytes` of UTF-8 without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let end = Math.max(0, maxBytes);
  // Back off continuation bytes (10xxxxxx) so the cut lands on a character start.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

export interface SyslogFormatOptions {
  readonly facility: SyslogFacility;
  readonly tag: string;
  readonly maxMessageBytes: number;
  readonly hostname?: string;
  readonly procId?: number;
}

/** The structured-data parameters of an alert (values unescaped); `alert_time` is RFC 3339 UTC with milliseconds. */
export function alertSdParams(alert: Alert, maxPids = MAX_SD_PIDS): [string, string][] {
  const pids = alert.affected_processes.slice(0, maxPids).join(' ');
  return [
    ['rule_id', alert.rule_id],
    ['severity', alert.severity],
    ['pids', pids],
    ['process_count', String(alert.process_count)],
    ['alert_id', alert.id],
    ['dedupe_key', alert.dedupe_key],
    ...(alert.scan_id === null ? [] : ([['scan_id', String(alert.scan_id)]] as [string, string][])),
    // The alert's own time in every transport: over a Unix socket the header's TIMESTAMP is the moment
    // util-linux logger wrote the message, not the alert's.
    ['alert_time', new Date(alert.alert_time).toISOString()],
  ];
}

export function structuredData(params: readonly [string, string][]): string {
  return `[${SD_ID}${params.map(([name, value]) => ` ${name}="${escapeSdValue(value)}"`).join('')}]`;
}

/**
 * The human text of an alert, what a SIEM shows in its message column (no control characters): the title
 * and what the alert found (alertEvidence: the process, its executable, the peer or file the rule read).
 */
export function alertMessageText(alert: Alert): string {
  return terminalSafe(`${alert.title}: ${alertEvidence(alert)}`);
}

/**
 * One RFC 5424 message for one alert, at most `maxMessageBytes` long. When it does not fit, the pid list
 * in the SD shrinks first, then MSG is cut at a character boundary and ends with `...`; it is never split.
 */
export function formatRfc5424(alert: Alert, options: SyslogFormatOptions): string {
  const pri = priority(options.facility, alert.severity);
  const header = [
    `<${pri}>1`,
    new Date(alert.alert_time).toISOString(),
    headerField(options.hostname ?? hostname(), 255),
    headerField(options.tag, 48),
    headerField(String(options.procId ?? process.pid), 128),
    'ALERT',
  ].join(' ');
  const text = alertMessageText(alert);
  // RFC 5424 §6.4: a UTF-8 MSG starts with a BOM; pure ASCII needs none (and most receivers prefer that).
  const msg = /^[\x00-\x7f]*$/.test(text) ? text : `${UTF8_BOM}${text}`;
  let sd = structuredData(alertSdParams(alert));
  let prefix = `${header} ${sd} `;
  const limit = options.maxMessageBytes;
  if (Buffer.byteLength(prefix) > limit / 2) {
    sd = structuredData(alertSdParams(alert, 0));
    prefix = `${header} ${sd} `;
  }
  if (Buffer.byteLength(prefix) >= limit) {
    // Only pathological rule ids or dedupe keys get here: keep the SD well-formed by cutting values.
    const cut = alertSdParams(alert, 0).map(([name, value]): [string, string] => [name, truncateUtf8(value, 64)]);
    sd = structuredData(cut);
    prefix = `${header} ${sd} `;
  }
  const room = limit - Buffer.byteLength(prefix);
  if (Buffer.byteLength(msg) <= room) return `${prefix}${msg}`;
  return `${prefix}${truncateUtf8(msg, Math.max(0, room - 3))}...`;
}
