// A minimal alert built around the rows it carries, for the pure tests of alert models (size bounds, evidence).
import type {Alert} from '../../src/models/alert.js';

/** An alert of rule `r` whose `alert_data.processes` are `rows` (their pids affected); `extra` overrides any field. */
export function alertOfRows(rows: Record<string, unknown>[], extra: Partial<Alert> = {}): Alert {
  return {
    id: '7cebab7d-0000-4000-8000-000000000000',
    alert_time: 0,
    rule_id: 'r',
    title: 't',
    description: 'd',
    severity: 'high',
    scan_id: 42,
    affected_processes: rows.map((row) => Number(row.pid)),
    process_count: rows.length,
    alert_data: {processes: rows},
    rule_execution_time_ms: 1,
    dedupe_key: 'r',
    host: null,
    attack_techniques: [],
    attack_tactics: [],
    ...extra,
  };
}
