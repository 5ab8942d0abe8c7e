import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {withBaseline} from '../../src/detection/baseline.js';
import {createSnapshotDatabase, insertProcesses, insertScan, loadSqlJs, selectAll} from '../../src/storage/database.js';
import {loadLatestScan} from '../../src/storage/input.js';
import {readSnapshotFile, writeSnapshotBytes} from '../../src/storage/snapshot-file.js';
import {keepOnlyScans, readScanProcesses, readTableRows} from '../../src/storage/table-rows.js';
import {removeDir, tempDir} from '../helpers/cli.js';
import {COLLECTED_LIVE, library, makeProcesses, makeScan, multiScanFile, socket} from './helpers/snapshots.js';

/** The reads here are of files this test wrote: no warning is expected, none is checked. */
const noWarning = (): void => undefined;

const dir = tempDir();
afterAll(() => removeDir(dir));
const T0 = Date.UTC(2026, 11, 1);

const older = {...makeScan(T0, 2, 1), tables: COLLECTED_LIVE};
const newer = {...makeScan(T0 + 60_000, 2, 2), tables: COLLECTED_LIVE};
const twoScans = (): Promise<string> =>
  multiScanFile(join(dir, 'two-scans.db'), [
    {scan: older, tables: {process_open_sockets: [socket(100, 4444)], listening_ports: [], process_libraries: [library(100, '/tmp/old.so', true)]}},
    {scan: newer, tables: {process_open_sockets: [socket(101, 8080)], listening_ports: [], process_libraries: [library(101, '/usr/lib/new.so', false)]}},
  ]);

describe('insertTableRows', () => {
  it("stamps the scan's id into rows the collector made without one", async () => {
    const loaded = await readSnapshotFile(await twoScans());
    try {
      expect(selectAll(loaded.db, 'SELECT scan_id, pid, local_port FROM process_open_sockets ORDER BY scan_id')).toEqual([
        {scan_id: older.id, pid: 100, local_port: 4444},
        {scan_id: newer.id, pid: 101, local_port: 8080},
      ]);
    } finally {
      loaded.db.close();
    }
  });
});

describe('keepOnlyScans', () => {
  it('removes the other scans from every table tied to a scan, the live-response tables included', async () => {
    const loaded = await readSnapshotFile(await twoScans());
    try {
      keepOnlyScans(loaded.db, [newer.id]);
      for (const table of ['scans', 'processes', 'process_open_sockets', 'process_libraries']) {
        const column = table === 'scans' ? 'id' : 'scan_id';
        expect(selectAll(loaded.db, `SELECT DISTINCT ${column} AS id FROM ${table}`), table).toEqual([{id: newer.id}]);
      }
    } finally {
      loaded.db.close();
    }
  });

  it('is what the latest scan of a multi-scan file keeps: no other scan`s sockets or libraries (the --input and --baseline defect)', async () => {
    const latest = await loadLatestScan(await twoScans(), {onWarning: noWarning});
    try {
      expect(latest.scanIds).toEqual([newer.id]);
      expect(selectAll(latest.db, 'SELECT pid, local_port FROM process_open_sockets')).toEqual([{pid: 101, local_port: 8080}]);
      expect(selectAll(latest.db, 'SELECT path FROM process_libraries')).toEqual([{path: '/usr/lib/new.so'}]);
      // The baseline tables a rule reads come from that copy: the older scan's listener is not in them.
      const SQL = await loadSqlJs();
      const target = new SQL.Database(await withBaseline((await createSnapshotDatabase()).export(), latest.db));
      try {
        expect(selectAll(target, 'SELECT pid, local_port FROM baseline_process_open_sockets')).toEqual([{pid: 101, local_port: 8080}]);
        expect(selectAll(target, 'SELECT count(*) AS n FROM baseline_process_libraries')).toEqual([{n: 1}]);
      } finally {
        target.close();
      }
    } finally {
      latest.db.close();
    }
  });
});

describe('readTableRows', () => {
  it("gives one scan's rows in their declared types: booleans are booleans again", async () => {
    const loaded = await readSnapshotFile(await twoScans());
    try {
      expect(await readTableRows(loaded.db, older, 'process_libraries')).toEqual([{scan_id: older.id, ...library(100, '/tmp/old.so', true)}]);
      expect(await readTableRows(loaded.db, newer, 'process_open_sockets')).toEqual([{scan_id: newer.id, ...socket(101, 8080)}]);
      expect((await readScanProcesses(loaded.db, newer.id)).map((p) => p.pid)).toEqual([100, 101]);
    } finally {
      loaded.db.close();
    }
  });

  it('is null for a table the scan did not collect, an empty list for one it collected and found empty', async () => {
    const loaded = await readSnapshotFile(await twoScans());
    try {
      expect(await readTableRows(loaded.db, newer, 'listening_ports')).toEqual([]);
      expect(await readTableRows(loaded.db, newer, 'process_envs')).toBeNull();
    } finally {
      loaded.db.close();
    }
  });
});

describe('a table added to the registry', () => {
  it('needs no schema version or migration: a file without it opens with it empty, and its scans did not collect it', async () => {
    const db = await createSnapshotDatabase();
    const scan = makeScan(T0, 2, 3);
    insertScan(db, scan);
    insertProcesses(db, makeProcesses(scan, 2));
    // A file of the same schema version written before process_envs existed.
    db.run('DROP TABLE process_envs');
    const path = join(dir, 'without-envs.db');
    writeSnapshotBytes(path, db.export());
    db.close();
    const loaded = await readSnapshotFile(path);
    try {
      expect(loaded.addedTables).toEqual(['process_envs']);
      expect(selectAll(loaded.db, 'SELECT count(*) AS n FROM process_envs')).toEqual([{n: 0}]);
      expect(await readTableRows(loaded.db, scan, 'process_envs')).toBeNull();
    } finally {
      loaded.db.close();
    }
  });
});
