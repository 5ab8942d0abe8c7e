// Reading a snapshot file in place (src/storage/snapshot-in-place.ts): a file this build wrote is read where
// its bytes are; a file whose schema differs by one object, one column's type or constraint, a meta row, a
// header field, a value of another type or an index that does not match its table is not (it is imported by
// copying, which refuses what must be refused); and the readers that must write (redaction, keeping one
// scan) import such a file by copying first.
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {DaemonEyeError} from '../../src/errors.js';
import {loadSqlJs, selectAll} from '../../src/storage/database.js';
import {loadLatestScan, readInputSnapshot} from '../../src/storage/input.js';
import {type FilePages, isFilePages, readAllPages} from '../../src/storage/file-pages.js';
import {importedCopy, readSnapshotFile, releaseSnapshot, writeSnapshotFile} from '../../src/storage/snapshot-file.js';
import {sqlJsInstanceOf} from '../../src/storage/sqljs.js';
import {openInPlace} from '../../src/storage/snapshot-in-place.js';
import {removeDir, tempDir} from '../helpers/cli.js';
import {plant} from './helpers/hostile.js';
import {makeProcesses, makeScan} from './helpers/snapshots.js';

/** The reads here are of files this test wrote: no warning is expected, none is checked. */
const noWarning = (): void => undefined;

const dir = tempDir();
const good = join(dir, 'good.db');
afterAll(() => removeDir(dir));
beforeAll(async () => {
  const scan = makeScan(Date.UTC(2026, 5, 1), 20);
  await writeSnapshotFile(good, scan, makeProcesses(scan, 20));
});

async function whyNot(path: string): Promise<string | undefined> {
  const opened = await openInPlace(await loadSqlJs(), readFileSync(path));
  if ('db' in opened) {
    opened.db.close();
    return undefined;
  }
  return opened.declined;
}

/** readSnapshotFile in place and by copying give the same: both refuse with the same line, or both read the same rows. */
async function sameAsCopy(path: string): Promise<string> {
  const outcome = async (inPlace: boolean): Promise<string> => {
    try {
      const loaded = await readSnapshotFile(path, undefined, {inPlace});
      try {
        return JSON.stringify(selectAll(loaded.db, 'SELECT * FROM processes ORDER BY rowid'));
      } finally {
        loaded.db.close();
      }
    } catch (error) {
      if (!(error instanceof DaemonEyeError)) throw error;
      return error.toOneLine();
    }
  };
  const [inPlace, copied] = [await outcome(true), await outcome(false)];
  expect(inPlace).toBe(copied);
  return inPlace;
}

describe('a snapshot file read in place', () => {
  it('a file this build wrote: read where it lies, from the open file, read-only', async () => {
    expect(await whyNot(good)).toBeUndefined();
    const before = readFileSync(good);
    const loaded = await readSnapshotFile(good, undefined, {inPlace: true});
    const pages = loaded.inPlace as FilePages;
    try {
      expect(isFilePages(pages)).toBe(true);
      // Nothing of the file is held in memory but its first page (and SQLite's page cache).
      expect([pages.size, pages.firstPage.length]).toEqual([before.length, pages.pageSize]);
      expect(Buffer.from(readAllPages(pages)).equals(before)).toBe(true);
      expect(loaded.scans).toHaveLength(1);
      expect(selectAll(loaded.db, 'SELECT count(*) AS n FROM processes')[0]?.n).toBe(20);
      expect(() => loaded.db.exec("INSERT INTO meta VALUES ('planted', 'x')")).toThrow(/readonly|query_only/i);
      expect(readFileSync(good).equals(before)).toBe(true);
      // Checked and opened in a sql.js instance of its own, freed with it: the pages the checks touched are
      // not left in this thread's own instance for the rest of the run.
      const own = new (await loadSqlJs()).Database();
      expect(sqlJsInstanceOf(loaded.db)).toBeDefined();
      expect(sqlJsInstanceOf(loaded.db)).not.toBe(sqlJsInstanceOf(own));
      own.close();
    } finally {
      releaseSnapshot(loaded);
    }
    // Closed with the snapshot: its descriptor is not left open.
    expect(Atomics.load(pages.state, 1)).toBe(1);
    // Without the option, the copy as before.
    const copied = await readSnapshotFile(good);
    expect(copied.inPlace).toBeUndefined();
    copied.db.close();
  });

  it('a file written after its checks is never copied as written: importing it then fails, naming it', async () => {
    const path = join(dir, 'written-after.db');
    const scan = makeScan(Date.UTC(2026, 5, 3), 60);
    await writeSnapshotFile(path, scan, makeProcesses(scan, 60));
    const loaded = await readSnapshotFile(path, undefined, {inPlace: true});
    expect(loaded.inPlace).toBeDefined();
    // A writer changes the last page (same inode, same size) after the checks passed, before the copy is made.
    const bytes = readFileSync(path);
    bytes.fill(0x41, bytes.length - 64);
    writeFileSync(path, bytes, {flag: 'r+'});
    const error = await importedCopy(loaded).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(DaemonEyeError);
    expect((error as DaemonEyeError).toOneLine()).toBe(
      `${path}: changed while being read: page ${bytes.length / 4096} is no longer what was checked (copy it somewhere only you can write and run again)`,
    );
    // Its descriptor is closed all the same.
    expect(Atomics.load((loaded.inPlace as FilePages).state, 1)).toBe(1);
  });

  const differing: [string, string, RegExp][] = [
    ['one more object: a view', 'CREATE VIEW v AS SELECT 1;', /schema is not this build's/],
    ['one more object: an index', 'CREATE INDEX planted ON processes (cwd);', /schema is not this build's/],
    ['one more object: a trigger', 'CREATE TRIGGER t AFTER INSERT ON meta BEGIN SELECT 1; END;', /schema is not this build's/],
    ['one object less: an index', 'DROP INDEX processes_ppid;', /schema is not this build's/],
    [
      "one column's type",
      "PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = replace(sql, 'ppid INTEGER', 'ppid TEXT') WHERE name = 'processes';",
      /schema is not this build's/,
    ],
    [
      "one column's constraint (a CHECK)",
      "PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = replace(sql, 'cwd TEXT', 'cwd TEXT CHECK (length(cwd) < 100000)') WHERE name = 'processes';",
      /schema is not this build's/,
    ],
    [
      "one column's DEFAULT",
      "PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = replace(sql, 'tty TEXT', 'tty TEXT DEFAULT ''pts/0''') WHERE name = 'processes';",
      /schema is not this build's/,
    ],
    ['an older schema version', "UPDATE meta SET value = '6' WHERE key = 'schema_version';", /meta table is not one this build writes/],
    ['an extra meta row', "INSERT INTO meta VALUES ('planted', 'x');", /meta table is not one this build writes/],
    ['text in an integer column', "UPDATE processes SET ppid = 'one' WHERE rowid = 3;", /processes row 3 holds a value of another type/],
    ['a real in an integer column', 'UPDATE processes SET pid = 1.5 WHERE rowid = 4;', /processes row 4 holds a value of another type/],
    ['a boolean that is 2', 'UPDATE processes SET accessible = 2 WHERE rowid = 5;', /processes row 5/],
    ['a number inside argv', 'UPDATE processes SET command_line = \'["sh", 1]\' WHERE rowid = 6;', /processes row 6/],
    ['a write-ahead log file format', 'PRAGMA journal_mode = WAL;', /write-ahead log/],
    [
      // The index lacks pid 100's entry: a rule that looks pid 100 up through it would never see the process.
      'an index that does not match its table',
      "DROP INDEX processes_pid; CREATE INDEX processes_pid ON processes (pid) WHERE pid <> 100; PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = 'CREATE INDEX processes_pid ON processes (pid)' WHERE name = 'processes_pid';",
      /integrity check of processes/,
    ],
  ];
  for (const [name, sql, reason] of differing) {
    it(`declines ${name}; the copy decides, as before`, async () => {
      const path = plant(good, join(dir, `${name.replace(/\W+/g, '-')}.db`), sql);
      expect(await whyNot(path)).toMatch(reason);
      await sameAsCopy(path);
    });
  }

  it('a value of another type in a file of the exact schema is still refused, naming the column', async () => {
    const path = plant(good, join(dir, 'text-pid.db'), "UPDATE processes SET pid = 'abc' WHERE rowid = 2;");
    expect(await sameAsCopy(path)).toMatch(/processes\.pid: a value is not an integer/);
  });

  it('an index that hides a row hides nothing: the process is found', async () => {
    const path = plant(
      good,
      join(dir, 'hiding-index.db'),
      "DROP INDEX processes_pid; CREATE INDEX processes_pid ON processes (pid) WHERE pid <> 100; PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = 'CREATE INDEX processes_pid ON processes (pid)' WHERE name = 'processes_pid';",
    );
    const loaded = await readSnapshotFile(path, undefined, {inPlace: true});
    try {
      expect(loaded.inPlace).toBeUndefined();
      expect(selectAll(loaded.db, 'SELECT count(*) AS n FROM processes WHERE pid = 100')[0]?.n).toBe(1);
    } finally {
      loaded.db.close();
    }
  });

  it('a secret the read policy removes: imported by copying and redacted (the file is never written)', async () => {
    const path = plant(
      good,
      join(dir, 'secret.db'),
      `UPDATE processes SET command_line = '["mysql","--password=hunter2"]', cmdline = 'mysql --password=hunter2' WHERE rowid = 1;`,
    );
    expect(await whyNot(path)).toBeUndefined();
    const loaded = await readInputSnapshot(path, {onWarning: noWarning, inPlace: true});
    try {
      expect(loaded.inPlace).toBeUndefined();
      expect(JSON.stringify(selectAll(loaded.db, 'SELECT command_line, cmdline FROM processes'))).not.toContain('hunter2');
    } finally {
      loaded.db.close();
    }
    expect(readFileSync(path).includes('hunter2')).toBe(true);
  });

  it('a file of two scans: the latest alone, in a copy', async () => {
    const first = makeScan(Date.UTC(2026, 5, 1), 3);
    const second = makeScan(Date.UTC(2026, 5, 2), 4);
    const path = join(dir, 'two-scans.db');
    await writeSnapshotFile(path, [first, second], [...makeProcesses(first, 3), ...makeProcesses(second, 4)]);
    expect(await whyNot(path)).toBeUndefined();
    const latest = await loadLatestScan(path, {onWarning: noWarning, inPlace: true});
    try {
      expect(latest.inPlace).toBeUndefined();
      expect(latest.scanIds).toEqual([second.id]);
      expect(selectAll(latest.db, 'SELECT DISTINCT scan_id FROM processes')).toEqual([{scan_id: second.id}]);
    } finally {
      latest.db.close();
    }
  });
});
