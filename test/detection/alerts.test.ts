import {describe, expect, it} from 'vitest';

import {dedupeKey, generateAlerts} from '../../src/detection/alerts.js';
import {AlertSchema} from '../../src/models/alert.js';

const rule = {id: 'suspicious-processes', name: 'Suspicious processes', description: 'Known bad names', severity: 'critical' as const};

describe('generateAlerts', () => {
  it('groups rows by rule id and process name into alerts of the reference shape', () => {
    const rows = [
      {pid: 1, name: 'malware.exe'},
      {pid: 2, name: 'malware.exe'},
      {pid: 3, name: 'other'},
    ];
    const alerts = generateAlerts(rule, rows, {scanId: 42, executionTimeMs: 3.4, now: 1000});
    expect(alerts).toHaveLength(2);
    for (const alert of alerts) expect(AlertSchema.safeParse(alert).success).toBe(true);
    expect(alerts[0]).toMatchObject({
      rule_id: 'suspicious-processes',
      title: 'Suspicious processes',
      severity: 'critical',
      scan_id: 42,
      affected_processes: [1, 2],
      process_count: 2,
      alert_data: {processes: rows.slice(0, 2)},
      rule_execution_time_ms: 3,
      dedupe_key: 'suspicious-processes:malware.exe',
      alert_time: 1000,
    });
    expect(alerts[1]?.dedupe_key).toBe('suspicious-processes:other');
  });

  it('uses group_by columns, configured key fields, and a process_name column when the rule returns one', () => {
    expect(dedupeKey({...rule, group_by: ['executable_path']}, {pid: 1, name: 'x', executable_path: '/tmp/x'})).toBe('suspicious-processes:/tmp/x');
    expect(dedupeKey(rule, {pid: 1, name: 'x', uid: 0}, ['rule_id', 'uid'])).toBe('suspicious-processes:0');
    expect(dedupeKey(rule, {pid: 1, name: 'x', process_name: 'y'})).toBe('suspicious-processes:y');
    expect(dedupeKey(rule, {pid: 1}, ['process_name'])).toBe('suspicious-processes:');
  });

  it('takes the scan id from the rows when the run spans several scans', () => {
    const alerts = generateAlerts(rule, [{pid: 1, name: 'a', scan_id: 7}], {scanId: null, executionTimeMs: null});
    expect(alerts[0]?.scan_id).toBe(7);
    expect(alerts[0]?.rule_execution_time_ms).toBeNull();
  });
});
