import {describe, expect, it} from 'vitest';

import {TABLE_NAMES} from '../../src/models/tables.js';
import {createSnapshotDatabase, insertProcesses, insertScan, schemaStatements, selectAll, SCHEMA_VERSION} from '../../src/storage/database.js';
import {ProcessRecordSchema, rowToProcess} from '../../src/models/index.js';

const record = ProcessRecordSchema.parse({
  id: '3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f',
  scan_id: 1,
  collection_time: 2,
  pid: 10,
  ppid: 1,
  name: 'sleep',
  executable_path: '/usr/bin/sleep',
  command_line: ['sleep', '100'],
  start_time: 3,
  cpu_usage: 0,
  memory_usage: 4096,
  executable_hash: null,
  hash_algorithm: null,
  user_id: '0',
  accessible: true,
  file_exists: true,
  platform_data: {exe_deleted: false, uid: 0, tty: null},
});

describe('snapshot database', () => {
  it('creates the schema with meta rows', async () => {
    const db = await createSnapshotDatabase();
    expect(selectAll(db, "SELECT value FROM meta WHERE key = 'schema_version'")).toEqual([{value: String(SCHEMA_VERSION)}]);
    expect(selectAll(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").map((r) => r.name)).toEqual(['meta', ...TABLE_NAMES].sort());
    expect(schemaStatements().length).toBeGreaterThan(4);
  });

  it('inserts processes with derived columns and reads them back', async () => {
    const db = await createSnapshotDatabase();
    insertProcesses(db, [record]);
    insertScan(db, {
      id: 1,
      hostname: 'h',
      host_id: null,
      os: null,
      kernel: null,
      arch: null,
      boot_time: null,
      boot_id: null,
      start_time: 1,
      end_time: 2,
      process_count: 1,
      collector: 'procfs',
      tool_version: '0.1.0',
      ld_so_preload: null,
      decorations: null,
      tables: ['processes'],
      errors: [],
    });
    const [row] = selectAll(db, 'SELECT * FROM processes');
    expect(row?.cmdline).toBe('sleep 100');
    expect(row?.exe_deleted).toBe(0);
    expect(row?.uid).toBe(0);
    expect(rowToProcess(row as Record<string, unknown>)).toEqual(record);
  });
});
