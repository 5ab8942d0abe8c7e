import {readFileSync} from 'node:fs';
import {join} from 'node:path';

import {describe, expect, it} from 'vitest';

import {
  AlertSchema,
  DetectionRuleSchema,
  PROCESS_TABLE_COLUMN_NAMES,
  PROCESS_TABLE_COLUMNS,
  ProcessRecordSchema,
  createTableSql,
  processToRow,
  renderSchemaDoc,
  rowToProcess,
} from '../../src/models/index.js';
import {ROOT} from '../helpers/cli.js';

// The reference API's example objects (docs/api.md), with a real SHA-256 in place of the elided hash.
const referenceProcess = {
  id: '3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f',
  scan_id: 12345,
  collection_time: 1640995200000,
  pid: 1234,
  ppid: 1,
  name: 'chrome',
  executable_path: '/usr/bin/chrome',
  command_line: ['chrome', '--no-sandbox'],
  start_time: 1640995100000,
  cpu_usage: 15.5,
  memory_usage: 1073741824,
  executable_hash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  hash_algorithm: 'sha256',
  user_id: '1000',
  accessible: true,
  file_exists: true,
  platform_data: {thread_count: 25, priority: 'normal'},
};

const referenceAlert = {
  id: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
  alert_time: 1640995200000,
  rule_id: 'suspicious-processes',
  title: 'Suspicious Process Detected',
  description: 'Process with suspicious name detected',
  severity: 'high',
  scan_id: 12345,
  affected_processes: [1234, 5678],
  process_count: 2,
  alert_data: {
    processes: [
      {pid: 1234, name: 'malware.exe'},
      {pid: 5678, name: 'backdoor.exe'},
    ],
  },
  rule_execution_time_ms: 15,
  dedupe_key: 'suspicious-processes:malware.exe',
};

describe('models', () => {
  it('round-trips the reference ProcessRecord through JSON unchanged', () => {
    const parsed = ProcessRecordSchema.parse(JSON.parse(JSON.stringify(referenceProcess)));
    expect(JSON.parse(JSON.stringify(parsed))).toEqual(referenceProcess);
    expect(Object.keys(parsed)).toEqual(Object.keys(referenceProcess));
  });

  it('round-trips the reference Alert through JSON unchanged, host and ATT&CK defaulting to none', () => {
    const parsed = AlertSchema.parse(JSON.parse(JSON.stringify(referenceAlert)));
    expect(JSON.parse(JSON.stringify(parsed))).toEqual({...referenceAlert, host: null, attack_techniques: [], attack_tactics: []});
  });

  it('rejects upper-case severities and unknown fields', () => {
    expect(AlertSchema.safeParse({...referenceAlert, severity: 'High'}).success).toBe(false);
    expect(ProcessRecordSchema.safeParse({...referenceProcess, extra: 1}).success).toBe(false);
    expect(ProcessRecordSchema.safeParse({...referenceProcess, executable_hash: 'a1b2c3d4e5f6...'}).success).toBe(false);
  });

  it('validates a reference-shaped DetectionRule with lower-case source type', () => {
    const rule = {
      id: 'suspicious-processes',
      name: 'Suspicious processes',
      description: null,
      version: 1,
      sql_query: 'SELECT pid FROM processes',
      enabled: true,
      severity: 'high',
      category: 'execution',
      tags: ['attack.t1059.004'],
      author: null,
      created_at: 1,
      updated_at: 1,
      source_type: 'builtin',
      source_path: null,
    };
    expect(DetectionRuleSchema.parse(rule)).toEqual(rule);
    expect(DetectionRuleSchema.safeParse({...rule, source_type: 'Builtin'}).success).toBe(false);
  });

  it('derives the processes columns from the schema, reference fields first', () => {
    expect(PROCESS_TABLE_COLUMN_NAMES.slice(0, 17)).toEqual(Object.keys(referenceProcess));
    expect(PROCESS_TABLE_COLUMN_NAMES).toContain('cmdline');
    expect(PROCESS_TABLE_COLUMN_NAMES).toContain('exe_deleted');
    const byName = new Map(PROCESS_TABLE_COLUMNS.map((c) => [c.name, c]));
    expect(byName.get('pid')?.sqlType).toBe('INTEGER');
    expect(byName.get('cpu_usage')?.sqlType).toBe('REAL');
    expect(byName.get('command_line')?.json).toBe(true);
    expect(byName.get('accessible')?.boolean).toBe(true);
    expect(byName.get('ppid')?.nullable).toBe(true);
    expect(byName.get('pid')?.nullable).toBe(false);
    expect(createTableSql('processes', PROCESS_TABLE_COLUMNS, 'id')).toMatch(
      /^CREATE TABLE processes \(\n {2}id TEXT PRIMARY KEY,\n {2}scan_id INTEGER NOT NULL,/,
    );
  });

  it('converts a record to a row and back', () => {
    const row = processToRow(ProcessRecordSchema.parse(referenceProcess));
    expect(row).toHaveLength(PROCESS_TABLE_COLUMNS.length);
    const named = Object.fromEntries(PROCESS_TABLE_COLUMN_NAMES.map((name, i) => [name, row[i]]));
    expect(named.cmdline).toBe('chrome --no-sandbox');
    expect(named.accessible).toBe(1);
    expect(rowToProcess(named)).toEqual(referenceProcess);
  });

  it('keeps docs/schema.md in step with the models (run `npm run docs` after changing them)', () => {
    expect(readFileSync(join(ROOT, 'docs', 'schema.md'), 'utf8')).toBe(renderSchemaDoc());
  });
});
