// Alert generation (AlertManager.generate_alert in the reference API, docs/api.md): a rule's result rows become alerts, one per
// dedupe key (rule id plus the values of the rule's group_by columns), in the Alert shape of src/models/alert.ts.
import {randomUUID} from 'node:crypto';

import type {Alert} from '../models/alert.js';
import {boundAlertSize} from '../models/alert-size.js';
import {attackOfTags} from '../models/attack.js';
import type {Host} from '../models/host.js';
import {serialiseResultRow} from '../models/serialise.js';
import type {AlertSeverity} from '../models/severity.js';
import {DEFAULT_REDACTOR} from '../redaction/redact.js';
import {trimEndChar} from '../util/text.js';

/** The default dedupe key: `rule_id`, `process_name` (the process's `name`). */
export const DEFAULT_DEDUPE_KEY_FIELDS = ['rule_id', 'process_name'] as const;

export interface AlertingRule {
  readonly id: string;
  readonly name: string;
  readonly description: string | null;
  readonly severity: AlertSeverity;
  /** The rule's tags: its ATT&CK techniques and tactics (`attack.t1059.004`, `attack.execution`) go on each alert. */
  readonly tags?: readonly string[];
  /** Result columns that make the dedupe key (besides the rule id); overrides `keyFields`. */
  readonly group_by?: readonly string[] | undefined;
}

export type ResultRow = Readonly<Record<string, unknown>>;

export interface AlertGenerationOptions {
  /** The scan the rows come from; when null, taken from the rows' own `scan_id` column. */
  readonly scanId: number | null;
  /** `alerting.deduplication.key_fields` (default: rule_id, process_name). */
  readonly keyFields?: readonly string[];
  readonly executionTimeMs: number | null;
  readonly now?: number;
  /** The host of an alert's scan (src/models/host.ts); absent or null: unknown. */
  readonly hostOf?: (scanId: number | null) => Host | null;
  /** `alerting.max_alert_bytes`: each alert's JSON is bounded to this (boundAlertSize; default 64 KiB). */
  readonly maxAlertBytes?: number;
}

function keyValue(field: string, rule: AlertingRule, row: ResultRow): string {
  if (field === 'rule_id') return rule.id;
  const value = field === 'process_name' && !('process_name' in row) ? row.name : row[field];
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value as string | number);
}

/** The dedupe key of a row: the key fields' values joined with `:` (the rule id always first). */
export function dedupeKey(rule: AlertingRule, row: ResultRow, keyFields: readonly string[] = DEFAULT_DEDUPE_KEY_FIELDS): string {
  const fields = rule.group_by === undefined ? keyFields : ['rule_id', ...rule.group_by];
  const withRule = fields.includes('rule_id') ? fields : ['rule_id', ...fields];
  return withRule.map((field) => keyValue(field, rule, row)).join(':');
}

/**
 * A result row as an alert carries it to stdout and every sink: its text through the redaction policy (argv
 * columns as argv). A live snapshot is redacted when collected; this covers a saved one taken with
 * `--no-redact` and values a rule computes, so an alert never ships a secret to a remote sink.
 */
export function redactResultRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(row)) {
    const argv = name === 'cmdline' || name === 'command_line';
    if (typeof value === 'string') out[name] = DEFAULT_REDACTOR.value(argv ? 'argv' : 'text', value);
    else if (argv && Array.isArray(value) && value.every((item) => typeof item === 'string')) out[name] = DEFAULT_REDACTOR.argv(value);
    else out[name] = value;
  }
  return out;
}

/** Group rows by dedupe key into alerts; every row must carry a numeric `pid`. */
export function generateAlerts(rule: AlertingRule, rows: readonly ResultRow[], options: AlertGenerationOptions): Alert[] {
  const groups = new Map<string, ResultRow[]>();
  for (const row of rows) {
    const key = dedupeKey(rule, row, options.keyFields);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [row]);
    else group.push(row);
  }
  const now = options.now ?? Date.now();
  const alerts: Alert[] = [];
  const attack = attackOfTags(rule.tags ?? []);
  for (const [key, group] of groups) {
    const pids = [...new Set(group.map((row) => Number(row.pid)))];
    const names = [...new Set(group.map((row) => row.name).filter((name): name is string => typeof name === 'string'))];
    const scanIds = [...new Set(group.map((row) => row.scan_id).filter((id): id is number => typeof id === 'number'))];
    const scanId = options.scanId ?? (scanIds.length === 1 ? (scanIds[0] as number) : null);
    const what = `${pids.length} process${pids.length === 1 ? '' : 'es'}${names.length > 0 ? ` (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''})` : ''}`;
    const alert: Alert = {
      id: randomUUID(),
      alert_time: now,
      rule_id: rule.id,
      title: rule.name,
      // A description is a sentence: its closing period would otherwise read ".: 1 process".
      description: `${trimEndChar((rule.description ?? rule.name).trim(), '.')}: ${what}`,
      severity: rule.severity,
      scan_id: scanId,
      affected_processes: pids,
      process_count: pids.length,
      alert_data: {processes: group.map((row) => redactResultRow(serialiseResultRow(row)))},
      rule_execution_time_ms: options.executionTimeMs === null ? null : Math.round(options.executionTimeMs),
      dedupe_key: key,
      host: options.hostOf?.(scanId) ?? null,
      attack_techniques: attack.techniques,
      attack_tactics: attack.tactics,
    };
    // A process's argv or environment must not make an alert (a POST, a spool entry, a line) unbounded.
    alerts.push(boundAlertSize(alert, options.maxAlertBytes));
  }
  return alerts;
}
