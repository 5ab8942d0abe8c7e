import {execFileSync} from 'node:child_process';
import {readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {DaemonEyeError} from '../../src/errors.js';
import {SCHEMA_VERSION, selectAll} from '../../src/storage/database.js';
import {openSnapshotBytes, readSnapshotFile, serializeSnapshot, writeSnapshotFile} from '../../src/storage/snapshot-file.js';
import {rowToProcess} from '../../src/models/process.js';
import {removeDir, tempDir} from '../helpers/cli.js';
import {makeProcesses, makeScan, sha256File} from './helpers/snapshots.js';

const dir = tempDir();
afterAll(() => removeDir(dir));

const scan = makeScan(Date.UTC(2026, 0, 2, 3, 4, 5), 50);
const processes = makeProcesses(scan, 50);

async function expectProblem(path: string, code: string, message: RegExp): Promise<void> {
  const error = await readSnapshotFile(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DaemonEyeError);
  const problem = error as DaemonEyeError;
  expect(problem.code).toBe(code);
  expect(problem.exitCode).toBe(2);
  expect(problem.toOneLine()).toContain(path);
  expect(problem.toOneLine()).toMatch(message);
  expect(problem.toOneLine()).not.toContain('\n');
}

describe('snapshot files', () => {
  it('round-trips records, scans and meta', async () => {
    const path = join(dir, 'round.db');
    const result = await writeSnapshotFile(path, scan, processes);
    expect(result).toMatchObject({path, processCount: 50, scanIds: [scan.id], alertCount: 0});
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const loaded = await readSnapshotFile(path);
    try {
      expect(loaded.scans).toEqual([scan]);
      expect(loaded.fileSchemaVersion).toBe(SCHEMA_VERSION);
      const rows = selectAll(loaded.db, 'SELECT * FROM processes ORDER BY rowid').map(rowToProcess);
      expect(rows).toEqual(processes);
      const meta = Object.fromEntries(selectAll(loaded.db, 'SELECT key, value FROM meta').map((r) => [r.key, r.value]));
      expect(meta).toMatchObject({schema_version: String(SCHEMA_VERSION), tool_version: expect.any(String), created: expect.stringMatching(/^\d+$/)});
    } finally {
      loaded.db.close();
    }
    expect(readdirSync(dir).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('is readable by the stock sqlite3 CLI', async () => {
    const path = join(dir, 'stock.db');
    await writeSnapshotFile(path, scan, processes);
    expect(execFileSync('sqlite3', [path, 'select count(*) from processes'], {encoding: 'utf8'}).trim()).toBe('50');
    expect(execFileSync('sqlite3', [path, 'PRAGMA integrity_check'], {encoding: 'utf8'}).trim()).toBe('ok');
    expect(execFileSync('sqlite3', [path, "select value from meta where key = 'schema_version'"], {encoding: 'utf8'}).trim()).toBe(String(SCHEMA_VERSION));
    expect(execFileSync('sqlite3', [path, 'select cmdline from processes where pid = 100'], {encoding: 'utf8'}).trim()).toBe(
      processes[0]?.command_line.join(' '),
    );
  });

  it('replaces an existing file whole', async () => {
    const path = join(dir, 'replace.db');
    await writeSnapshotFile(path, scan, processes);
    const other = makeScan(scan.start_time + 60_000, 3);
    await writeSnapshotFile(path, other, makeProcesses(other, 3));
    const loaded = await readSnapshotFile(path);
    expect(loaded.scans.map((s) => s.id)).toEqual([other.id]);
    loaded.db.close();
  });

  it('never writes to the file it reads', async () => {
    const path = join(dir, 'readonly.db');
    await writeSnapshotFile(path, scan, processes);
    const before = sha256File(path);
    const mtime = statSync(path).mtimeMs;
    const loaded = await readSnapshotFile(path);
    loaded.db.exec('DELETE FROM processes');
    loaded.db.close();
    expect(sha256File(path)).toBe(before);
    expect(statSync(path).mtimeMs).toBe(mtime);
  });
});

describe('strict reading', () => {
  it('refuses an empty file', async () => {
    const path = join(dir, 'empty.db');
    writeFileSync(path, '');
    await expectProblem(path, 'INPUT_CORRUPT', /empty/);
  });

  it('refuses random bytes', async () => {
    const path = join(dir, 'random.db');
    writeFileSync(path, Buffer.from(Array.from({length: 8192}, (_, i) => (i * 7919 + 13) % 251)));
    await expectProblem(path, 'INPUT_CORRUPT', /not a SQLite database/);
  });

  it('refuses a file truncated mid-page and one truncated at a page boundary', async () => {
    const good = join(dir, 'whole.db');
    await writeSnapshotFile(good, scan, processes);
    const bytes = readFileSync(good);
    const midPage = join(dir, 'trunc-mid.db');
    writeFileSync(midPage, bytes.subarray(0, Math.floor(bytes.length / 2) + 17));
    await expectProblem(midPage, 'INPUT_CORRUPT', /truncated/);
    const atPage = join(dir, 'trunc-page.db');
    writeFileSync(atPage, bytes.subarray(0, 4096 * 2));
    await expectProblem(atPage, 'INPUT_CORRUPT', /truncated/);
    const headerOnly = join(dir, 'trunc-header.db');
    writeFileSync(headerOnly, bytes.subarray(0, 60));
    await expectProblem(headerOnly, 'INPUT_CORRUPT', /truncated/);
  });

  it('refuses a file with a damaged page', async () => {
    const good = join(dir, 'to-damage.db');
    await writeSnapshotFile(good, scan, makeProcesses(scan, 400));
    const bytes = readFileSync(good);
    // Overwrite the root page of the processes table with garbage (a damaged index is never read: indexes are rebuilt).
    const root = Number(execFileSync('sqlite3', [good, "SELECT rootpage FROM sqlite_master WHERE name = 'processes'"], {encoding: 'utf8'}).trim());
    for (let i = 4096 * (root - 1); i < 4096 * root; i++) bytes[i] = (i * 31) % 256;
    const path = join(dir, 'damaged.db');
    writeFileSync(path, bytes);
    await expectProblem(path, 'INPUT_CORRUPT', /damaged|malformed/);
  });

  it('refuses a SQLite file that is not a snapshot, and one lacking a table', async () => {
    const foreign = join(dir, 'foreign.db');
    execFileSync('sqlite3', [foreign, 'CREATE TABLE t (x); INSERT INTO t VALUES (1);']);
    await expectProblem(foreign, 'INPUT_CORRUPT', /not a DaemonEye snapshot \(no meta table\)/);
    const noProcesses = join(dir, 'no-processes.db');
    await writeSnapshotFile(noProcesses, scan, processes);
    execFileSync('sqlite3', [noProcesses, 'DROP TABLE processes']);
    await expectProblem(noProcesses, 'INPUT_CORRUPT', /processes table is missing/);
    const lacksColumn = join(dir, 'lacks-column.db');
    await writeSnapshotFile(lacksColumn, scan, processes);
    execFileSync('sqlite3', [lacksColumn, 'DROP INDEX processes_name; ALTER TABLE processes DROP COLUMN name']);
    await expectProblem(lacksColumn, 'INPUT_CORRUPT', /processes table lacks column name/);
    const noVersion = join(dir, 'no-version.db');
    await writeSnapshotFile(noVersion, scan, processes);
    execFileSync('sqlite3', [noVersion, "DELETE FROM meta WHERE key = 'schema_version'"]);
    await expectProblem(noVersion, 'INPUT_CORRUPT', /no schema_version/);
  });

  it('refuses a newer schema version with exit 2 and says to upgrade', async () => {
    const path = join(dir, 'newer.db');
    await writeSnapshotFile(path, scan, processes);
    execFileSync('sqlite3', [path, `UPDATE meta SET value = '${SCHEMA_VERSION + 1}' WHERE key = 'schema_version'`]);
    await expectProblem(path, 'INPUT_INCOMPATIBLE', new RegExp(`schema version ${SCHEMA_VERSION + 1} is newer.*upgrade daemoneye`));
  });

  it('refuses a directory given as a snapshot file', async () => {
    await expectProblem(dir, 'INPUT_UNREADABLE', /directory/);
  });

  it('opens bytes without touching the disk', async () => {
    const bytes = await serializeSnapshot(scan, processes);
    const loaded = await openSnapshotBytes('(memory)', bytes);
    expect(loaded.scans).toHaveLength(1);
    loaded.db.close();
  });
});
