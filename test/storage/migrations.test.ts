import {execFileSync} from 'node:child_process';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {ALERT_TABLE_COLUMNS} from '../../src/models/alert.js';
import {PROCESS_RECORD_COLUMNS, PROCESS_TABLE_COLUMNS, processToRow, rowToProcess} from '../../src/models/process.js';
import {SCAN_TABLE_COLUMNS} from '../../src/models/scan.js';
import {createTableSql, toSqlValue} from '../../src/models/columns.js';
import {loadSqlJs, SCHEMA_VERSION, selectAll} from '../../src/storage/database.js';
import {MIGRATIONS} from '../../src/storage/migrations.js';
import {readSnapshotFile, serializeSnapshot, writeSnapshotBytes} from '../../src/storage/snapshot-file.js';
import {TABLES} from '../../src/models/tables.js';
import {removeDir, tempDir} from '../helpers/cli.js';
import {makeProcesses, makeScan, sha256File} from './helpers/snapshots.js';

const dir = tempDir();
afterAll(() => removeDir(dir));

/** A file in the version-0 layout: record columns only, no cmdline or platform columns, no alerts, no ld_so_preload. */
async function versionZeroFile(path: string): Promise<{scan: ReturnType<typeof makeScan>; processes: ReturnType<typeof makeProcesses>}> {
  const scan = makeScan(Date.UTC(2025, 5, 1), 5);
  const processes = makeProcesses(scan, 5);
  const SQL = await loadSqlJs();
  const db = new SQL.Database();
  const scanColumns = SCAN_TABLE_COLUMNS.filter((c) => c.name !== 'ld_so_preload' && c.name !== 'tables');
  db.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)');
  db.run("INSERT INTO meta VALUES ('schema_version', '0'), ('tool_version', '0.0.1')");
  db.exec(createTableSql('scans', scanColumns, 'id'));
  db.exec(createTableSql('processes', PROCESS_RECORD_COLUMNS, 'id'));
  db.run(
    `INSERT INTO scans (${scanColumns.map((c) => c.name).join(', ')}) VALUES (${scanColumns.map(() => '?').join(', ')})`,
    scanColumns.map((c) => toSqlValue(c, (scan as Record<string, unknown>)[c.name])),
  );
  for (const record of processes) {
    db.run(`INSERT INTO processes VALUES (${PROCESS_RECORD_COLUMNS.map(() => '?').join(', ')})`, processToRow(record).slice(0, PROCESS_RECORD_COLUMNS.length));
  }
  writeSnapshotBytes(path, db.export());
  db.close();
  return {scan, processes};
}

describe('in-memory migrations', () => {
  it('has a step from every older version up to the current one', () => {
    expect(MIGRATIONS.map((m) => m.from)).toEqual(Array.from({length: SCHEMA_VERSION}, (_, i) => i));
  });

  it('reads a version-0 file as the current schema without touching the file', async () => {
    const path = join(dir, 'v0.db');
    const {scan, processes} = await versionZeroFile(path);
    const before = sha256File(path);
    const loaded = await readSnapshotFile(path);
    try {
      expect(loaded.fileSchemaVersion).toBe(0);
      expect(loaded.scans).toEqual([{...scan, ld_so_preload: null, tables: ['processes']}]);
      const rows = selectAll(loaded.db, 'SELECT * FROM processes ORDER BY pid');
      expect(rows.map(rowToProcess)).toEqual(processes);
      // Derived columns are filled exactly as a fresh write fills them.
      expect(rows[0]?.cmdline).toBe(processes[0]?.command_line.join(' '));
      expect(rows.map((r) => r.uid)).toEqual(processes.map((p) => p.platform_data?.uid));
      expect(rows[0]?.exe_deleted).toBe(0);
      expect(selectAll(loaded.db, "SELECT value FROM meta WHERE key = 'schema_version'")).toEqual([{value: String(SCHEMA_VERSION)}]);
      expect(selectAll(loaded.db, 'SELECT count(*) AS n FROM alerts')).toEqual([{n: 0}]);
      expect(selectAll(loaded.db, "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'processes_pid'")).toHaveLength(1);
    } finally {
      loaded.db.close();
    }
    expect(sha256File(path)).toBe(before);
    expect(execFileSync('sqlite3', [path, "select value from meta where key = 'schema_version'"], {encoding: 'utf8'}).trim()).toBe('0');
  });

  it('reads a version-1 file (no exe_name, bytes_escaped, live_thread_tid) with exe_name derived', async () => {
    const path = join(dir, 'v1.db');
    const scan = makeScan(Date.UTC(2025, 6, 1), 3);
    const processes = makeProcesses(scan, 3).map((p, i) => ({
      ...p,
      executable_path: i === 0 ? null : `/usr/lib/tool-${i}/bin/run.${i}`,
      platform_data: Object.fromEntries(Object.entries(p.platform_data ?? {}).filter(([k]) => k !== 'bytes_escaped' && k !== 'live_thread_tid')),
    }));
    const v1Columns = PROCESS_TABLE_COLUMNS.filter((c) => !['exe_name', 'bytes_escaped', 'live_thread_tid'].includes(c.name));
    const SQL = await loadSqlJs();
    const db = new SQL.Database();
    db.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)');
    db.run("INSERT INTO meta VALUES ('schema_version', '1'), ('tool_version', '0.1.0')");
    const v1Scans = SCAN_TABLE_COLUMNS.filter((c) => c.name !== 'tables');
    db.exec(createTableSql('scans', v1Scans, 'id'));
    db.exec(createTableSql('processes', v1Columns, 'id'));
    db.exec(createTableSql('alerts', ALERT_TABLE_COLUMNS, 'id'));
    db.run(
      `INSERT INTO scans (${v1Scans.map((c) => c.name).join(', ')}) VALUES (${v1Scans.map(() => '?').join(', ')})`,
      v1Scans.map((c) => toSqlValue(c, (scan as Record<string, unknown>)[c.name])),
    );
    for (const record of processes) {
      const full = processToRow(record);
      const values = v1Columns.map((c) => full[PROCESS_TABLE_COLUMNS.indexOf(c)] ?? null);
      db.run(`INSERT INTO processes (${v1Columns.map((c) => c.name).join(', ')}) VALUES (${v1Columns.map(() => '?').join(', ')})`, values);
    }
    writeSnapshotBytes(path, db.export());
    db.close();
    const loaded = await readSnapshotFile(path);
    try {
      expect(loaded.fileSchemaVersion).toBe(1);
      const rows = selectAll(loaded.db, 'SELECT exe_name, bytes_escaped, live_thread_tid FROM processes ORDER BY pid');
      expect(rows).toEqual([
        {exe_name: null, bytes_escaped: null, live_thread_tid: null},
        {exe_name: 'run.1', bytes_escaped: null, live_thread_tid: null},
        {exe_name: 'run.2', bytes_escaped: null, live_thread_tid: null},
      ]);
    } finally {
      loaded.db.close();
    }
  });

  it('reads a version-2 file (no scans.tables, no live-response tables): its scans collected processes only', async () => {
    const path = join(dir, 'v2.db');
    const scan = makeScan(Date.UTC(2025, 6, 1), 7);
    const processes = makeProcesses(scan, 4);
    const SQL = await loadSqlJs();
    const db = new SQL.Database(await serializeSnapshot(scan, processes));
    for (const table of TABLES.filter((t) => t.collected && t.name !== 'processes')) db.exec(`DROP TABLE ${table.name}`);
    db.exec('ALTER TABLE scans DROP COLUMN tables');
    db.run("UPDATE meta SET value = '2' WHERE key = 'schema_version'");
    writeSnapshotBytes(path, db.export());
    db.close();
    const before = sha256File(path);
    const loaded = await readSnapshotFile(path);
    try {
      expect(loaded.fileSchemaVersion).toBe(2);
      expect(loaded.scans).toEqual([{...scan, tables: ['processes']}]);
      for (const table of TABLES)
        expect(selectAll(loaded.db, `SELECT count(*) AS n FROM ${table.name}`)[0]?.n, table.name).toBe(
          table.name === 'processes' ? 4 : table.name === 'scans' ? 1 : 0,
        );
    } finally {
      loaded.db.close();
    }
    expect(sha256File(path)).toBe(before);
  });

  it('reads a version-4 file (no process_libraries) with the table empty and its scans not claiming it', async () => {
    const path = join(dir, 'v4.db');
    const scan = {...makeScan(Date.UTC(2026, 5, 1), 9), tables: ['processes', 'process_envs']};
    const SQL = await loadSqlJs();
    const db = new SQL.Database(await serializeSnapshot(scan, makeProcesses(scan, 3)));
    db.exec('DROP TABLE process_libraries');
    db.run("UPDATE meta SET value = '4' WHERE key = 'schema_version'");
    writeSnapshotBytes(path, db.export());
    db.close();
    const before = sha256File(path);
    const loaded = await readSnapshotFile(path);
    try {
      expect(loaded.fileSchemaVersion).toBe(4);
      expect(loaded.scans.map((s) => s.tables)).toEqual([['processes', 'process_envs']]);
      expect(selectAll(loaded.db, 'SELECT count(*) AS n FROM process_libraries')).toEqual([{n: 0}]);
    } finally {
      loaded.db.close();
    }
    expect(sha256File(path)).toBe(before);
  });
});
