// Untrusted snapshot files: every hostile edit of a good file is refused with one line naming the file, or
// read with none of its planted SQL run (and a warning naming what was left out). A view, trigger or
// generated column that ran would hang the test (each would loop forever or allocate hundreds of MB).
import {execFileSync} from 'node:child_process';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {DaemonEyeError} from '../../src/errors.js';
import {selectAll} from '../../src/storage/database.js';
import {ignoredWarning} from '../../src/storage/input.js';
import {readSnapshotFile, writeSnapshotFile} from '../../src/storage/snapshot-file.js';
import {removeDir, tempDir} from '../helpers/cli.js';
import {HOSTILE_EDITS, plant} from './helpers/hostile.js';
import {makeProcesses, makeScan} from './helpers/snapshots.js';

const dir = tempDir();
const good = join(dir, 'good.db');
afterAll(() => removeDir(dir));
beforeAll(async () => {
  const scan = makeScan(Date.UTC(2026, 5, 1), 20);
  await writeSnapshotFile(good, scan, makeProcesses(scan, 20));
});

describe('a snapshot file edited by an attacker', () => {
  // Read by copying, and by a reader that asks for the file in place (detect, query): the same outcome.
  HOSTILE_EDITS.flatMap((edit, i) => [false, true].map((inPlace) => [edit, i, inPlace] as const)).forEach(([edit, i, inPlace]) => {
    it(`${edit.name}${inPlace ? ' (read in place where it can be)' : ''}`, async () => {
      const path = plant(good, join(dir, `hostile-${i}-${String(inPlace)}.db`), edit.sql);
      const outcome = await readSnapshotFile(path, undefined, {inPlace}).then(
        (loaded) => loaded,
        (error: unknown) => error,
      );
      if ('refused' in edit.expect) {
        expect(outcome).toBeInstanceOf(DaemonEyeError);
        const error = outcome as DaemonEyeError;
        expect(error.exitCode).toBe(2);
        expect(error.toOneLine()).toContain(path);
        expect(error.toOneLine()).toMatch(edit.expect.refused);
        expect(error.toOneLine()).not.toContain('\n');
        return;
      }
      if (outcome instanceof Error) throw outcome;
      const loaded = outcome as Awaited<ReturnType<typeof readSnapshotFile>>;
      try {
        const warning = ignoredWarning(loaded);
        if (edit.expect.read === null) expect(warning).toBeUndefined();
        else {
          expect(warning).toMatch(edit.expect.read);
          // Planted objects: never read in place.
          expect(loaded.inPlace).toBeUndefined();
        }
        // Only the registry's tables (and meta) are in the copy: nothing planted came along.
        const objects = selectAll(loaded.db, "SELECT type, name FROM sqlite_master WHERE type <> 'index' ORDER BY name").map(
          (r) => `${String(r.type)} ${String(r.name)}`,
        );
        expect(objects.every((o) => o.startsWith('table '))).toBe(true);
        expect(objects).not.toContain('table planted');
        expect(selectAll(loaded.db, 'SELECT count(*) AS n FROM processes')[0]?.n).toBe(20);
      } finally {
        loaded.db.close();
      }
    });
  });

  it('keeps rows in their order and exact values through the copy', async () => {
    const loaded = await readSnapshotFile(good);
    try {
      const copied = selectAll(loaded.db, 'SELECT pid, command_line FROM processes ORDER BY rowid');
      const original = execFileSync('sqlite3', ['-json', good, 'SELECT pid, command_line FROM processes ORDER BY rowid'], {encoding: 'utf8'});
      expect(copied).toEqual(JSON.parse(original));
    } finally {
      loaded.db.close();
    }
  });

  it('rebuilds indexes from the rows: an index that lies hides nothing', async () => {
    // An index on pid whose entries all point at the wrong rows: written by editing the schema so the
    // index belongs to another table's b-tree. SQLite would answer `WHERE pid = ?` from it.
    const path = plant(
      good,
      join(dir, 'lying-index.db'),
      `CREATE TABLE decoy (pid INTEGER); INSERT INTO decoy VALUES (999999); CREATE INDEX decoy_pid ON decoy (pid);
       PRAGMA writable_schema = ON;
       UPDATE sqlite_master SET rootpage = (SELECT rootpage FROM sqlite_master WHERE name = 'decoy_pid') WHERE name = 'processes_pid';
       PRAGMA writable_schema = OFF;`,
    );
    const loaded = await readSnapshotFile(path);
    try {
      expect(selectAll(loaded.db, 'SELECT count(*) AS n FROM processes WHERE pid = 100')[0]?.n).toBe(1);
      expect(selectAll(loaded.db, "SELECT sql FROM sqlite_master WHERE name = 'processes_pid'")[0]?.sql).toMatch(/CREATE INDEX/);
    } finally {
      loaded.db.close();
    }
  });
});
