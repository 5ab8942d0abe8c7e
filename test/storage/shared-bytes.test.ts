import {describe, expect, it} from 'vitest';

import {snapshotFromRows} from '../../src/detection/fixture-snapshot.js';
import {openRuleDatabase} from '../../src/detection/rule-database.js';
import {inSharedMemory, isShared, openSharedSnapshot} from '../../src/storage/shared-bytes.js';
import {newSqlJsInstance} from '../../src/storage/sqljs.js';

/** A snapshot whose last process has a unique command line far from the file's first pages. */
async function snapshotWithMarker(marker: string): Promise<Uint8Array> {
  const rows = Array.from({length: 400}, (_, i) => ({pid: 100 + i, name: 'sleep', command_line: ['sleep', `${i}`.padEnd(200, '.')]}));
  return snapshotFromRows([...rows, {pid: 9999, name: 'marker', command_line: [marker]}]);
}

describe('snapshot bytes shared between rule lanes', () => {
  it('copies bytes into shared memory once, and keeps bytes already there', async () => {
    const bytes = await snapshotFromRows([{pid: 1}]);
    expect(isShared(bytes)).toBe(false);
    const shared = inSharedMemory(bytes);
    expect(isShared(shared)).toBe(true);
    expect(Buffer.from(shared).equals(Buffer.from(bytes))).toBe(true);
    expect(inSharedMemory(shared)).toBe(shared);
  });

  it("opens a database on the caller's bytes, not a copy of them", async () => {
    // A change to the bytes after opening, in a page SQLite has not read yet, is what the database sees:
    // sql.js read its file from these bytes. If a sql.js version copied them again, it would see the old text.
    const {module: SQL} = await newSqlJsInstance();
    const bytes = inSharedMemory(await snapshotWithMarker('needle-before'));
    const db = openSharedSnapshot(SQL, bytes);
    try {
      const at = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf('needle-before');
      expect(at).toBeGreaterThan(4096);
      bytes.set(new TextEncoder().encode('needle-after!'), at);
      expect(db.exec("SELECT json_extract(command_line, '$[0]') FROM processes WHERE pid = 9999")[0]?.values).toEqual([['needle-after!']]);
    } finally {
      db.close();
    }
  });

  it('a rule database over shared bytes, with its lists and views, never writes to them', async () => {
    const instance = await newSqlJsInstance();
    const bytes = inSharedMemory(await snapshotWithMarker('marker'));
    const before = Buffer.from(bytes);
    const {db} = openRuleDatabase(instance.module, bytes, {shells: ['sh', 'marker']}, instance);
    try {
      expect(db.exec('SELECT p.pid FROM processes p JOIN list_shells l ON l.value = p.name')[0]?.values).toEqual([[9999]]);
      expect(db.exec('SELECT count(*) FROM process_traits')[0]?.values).toEqual([[401]]);
      // Read-only: a write is an error, whichever schema it aims at.
      expect(() => db.exec("INSERT INTO processes (scan_id, pid, name) VALUES (1, 1, 'x')")).toThrow(/readonly|read-only|query_only/i);
    } finally {
      db.close();
    }
    expect(Buffer.from(bytes).equals(before)).toBe(true);
  });
});
