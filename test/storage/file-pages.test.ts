// A snapshot file read from disk a page at a time (src/storage/file-pages.ts): sql.js reads its file only
// through the contents object it is given, a page at a time, and keeps what it read; every page read is the
// page hashed when the file was opened, and one that is not reads as zeros and marks the file changed.
import {closeSync, fstatSync, openSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {snapshotFromRows} from '../../src/detection/fixture-snapshot.js';
import {
  changedPage,
  closeFilePages,
  type FileContents,
  type FilePages,
  hashFilePages,
  openFilePagesDatabase,
  openOnContents,
  pagesRead,
  readAllPages,
} from '../../src/storage/file-pages.js';
import {newSqlJsInstance} from '../../src/storage/sqljs.js';
import {runWhole} from '../../src/util/steps.js';
import {removeDir, tempDir} from '../helpers/cli.js';

const dir = tempDir();
afterAll(() => removeDir(dir));

const opened: FilePages[] = [];
afterAll(() => opened.forEach(closeFilePages));

/** A snapshot file whose last process has a unique command line far from the file's first pages. */
async function fileWithMarker(name: string, marker: string): Promise<string> {
  const rows = Array.from({length: 400}, (_, i) => ({pid: 100 + i, name: 'sleep', command_line: ['sleep', `${i}`.padEnd(200, '.')]}));
  const path = join(dir, name);
  writeFileSync(path, await snapshotFromRows([...rows, {pid: 9999, name: 'marker', command_line: [marker]}]));
  return path;
}

/** `path` opened and hashed, as readSnapshotFile does for a file it reads in place. */
function pagesOf(path: string): FilePages {
  const fd = openSync(path, 'r');
  const pages = runWhole(hashFilePages(path, fd, fstatSync(fd).size));
  if (typeof pages === 'string') throw new Error(pages);
  opened.push(pages);
  return pages;
}

/** Overwrite `length(to)` bytes at the offset of `from` in `path`, in place. */
function overwrite(path: string, from: string, to: string): number {
  const bytes = readFileSync(path);
  const at = bytes.indexOf(from);
  expect(at).toBeGreaterThan(4096);
  bytes.write(to, at, 'latin1');
  // Same inode, same size: a writer changing the file under the reader, not replacing it.
  writeFileSync(path, bytes, {flag: 'r+'});
  return at;
}

const MARKER_SQL = "SELECT json_extract(command_line, '$[0]') FROM processes WHERE pid = 9999";

describe("sql.js's contract: a database file read only through the contents it is given", () => {
  it('reads through length and subarray alone, a page at a time, keeps what it read, and writes through nothing but set', async () => {
    const bytes = readFileSync(await fileWithMarker('contract.db', 'needle'));
    const used = new Set<string>();
    const reads: [number, number][] = [];
    const plain: FileContents & {set: () => never} = {
      length: bytes.length,
      subarray: (start, end) => {
        reads.push([start, end]);
        return bytes.subarray(start, end);
      },
      set: () => {
        throw new Error('written');
      },
    };
    // Every property sql.js touches is recorded: an index read (`contents[i]`), a slice or a copy would show here.
    const contents = new Proxy(plain, {
      get(target, property, receiver) {
        used.add(String(property));
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
    const {module: SQL} = await newSqlJsInstance();
    const db = openOnContents(SQL, contents);
    try {
      db.exec('PRAGMA cache_size = -8192');
      expect(db.exec(MARKER_SQL)[0]?.values).toEqual([['needle']]);
      expect(db.exec('PRAGMA integrity_check')[0]?.values).toEqual([['ok']]);
      // Whole pages, or parts of page 1 (the header, read again at each transaction), and none of 8 bytes or
      // fewer: some MEMFS versions read those by indexing the contents (`contents[i]`), which FileContents has not.
      expect(reads.every(([start, end]) => (start % 4096 === 0 && end - start === 4096) || (end <= 4096 && end - start > 8))).toBe(true);
      const pageReads = reads.filter(([, end]) => end > 4096).length;
      expect(pageReads).toBeGreaterThan(0);
      // Kept: the same queries again read no page a second time (the change counter read back unchanged).
      expect(db.exec(MARKER_SQL)[0]?.values).toEqual([['needle']]);
      expect(db.exec('PRAGMA integrity_check')[0]?.values).toEqual([['ok']]);
      expect(reads.filter(([, end]) => end > 4096).length).toBe(pageReads);
      // A write reaches the contents only through set, which refuses it.
      expect(() => db.exec('CREATE TABLE planted (a); INSERT INTO planted VALUES (1)')).toThrow();
      expect([...used].filter((property) => !['length', 'subarray', 'set'].includes(property))).toEqual([]);
      expect(used.has('subarray')).toBe(true);
    } finally {
      db.close();
    }
  });
});

describe('a snapshot file read from disk a page at a time', () => {
  it('reads each page from the file when SQLite first needs it, and the whole file as it was', async () => {
    const path = await fileWithMarker('read.db', 'needle');
    const pages = pagesOf(path);
    expect(pages.size).toBe(readFileSync(path).length);
    expect(pages.digests.length).toBe((pages.size / pages.pageSize) * 32);
    const {module: SQL} = await newSqlJsInstance();
    const db = openFilePagesDatabase(SQL, pages);
    try {
      db.exec('PRAGMA cache_size = -8192; PRAGMA query_only = 1');
      // The schema's pages so far (page 1 is never read again: it is kept from the hashing pass).
      const schema = pagesRead(pages);
      expect(db.exec(MARKER_SQL)[0]?.values).toEqual([['needle']]);
      const read = pagesRead(pages);
      expect(read).toBeGreaterThan(schema);
      expect(read).toBeLessThan(pages.size / pages.pageSize);
      expect(db.exec('SELECT count(*) FROM processes')[0]?.values).toEqual([[401]]);
      expect(db.exec(MARKER_SQL)[0]?.values).toEqual([['needle']]);
      expect(changedPage(pages)).toBeUndefined();
    } finally {
      db.close();
    }
    expect(Buffer.from(readAllPages(pages)).equals(readFileSync(path))).toBe(true);
  });

  it('a page written after it was hashed reads as zeros and marks the file changed, never the new bytes; the same bytes written again change nothing', async () => {
    const path = await fileWithMarker('changed.db', 'needle-before');
    const pages = pagesOf(path);
    const {module: SQL} = await newSqlJsInstance();
    // What is checked is the content, not the time it was written.
    writeFileSync(path, readFileSync(path), {flag: 'r+'});
    const same = openFilePagesDatabase(SQL, pages);
    try {
      expect(same.exec(MARKER_SQL)[0]?.values).toEqual([['needle-before']]);
      expect(changedPage(pages)).toBeUndefined();
    } finally {
      same.close();
    }
    const at = overwrite(path, 'needle-before', 'needle-after!');
    const db = openFilePagesDatabase(SQL, pages);
    try {
      db.exec('PRAGMA query_only = 1');
      let seen: unknown;
      try {
        seen = db.exec(MARKER_SQL)[0]?.values;
      } catch (error) {
        // SQLite finds the zeroed page malformed: an error, or no row, never the text written.
        seen = (error as Error).message;
      }
      expect(JSON.stringify(seen)).not.toContain('needle-after');
      expect(changedPage(pages)).toBe(Math.floor(at / pages.pageSize));
    } finally {
      db.close();
    }
    // The whole file as it was hashed is no longer to be had: the changed page reads as zeros there too.
    expect(Buffer.from(readAllPages(pages)).includes('needle-after')).toBe(false);
  });

  it('a page that cannot be read again (the descriptor closed) marks the file changed too; closing twice is closing once', async () => {
    const pages = pagesOf(await fileWithMarker('closed.db', 'needle'));
    closeFilePages(pages);
    closeFilePages(pages);
    expect(readAllPages(pages).every((byte) => byte === 0)).toBe(true);
    expect(changedPage(pages)).toBe(0);
  });

  it('declines a file that is no whole number of SQLite pages, or shorter than a header', async () => {
    const good = readFileSync(await fileWithMarker('whole.db', 'needle'));
    const cases: [string, Uint8Array, RegExp][] = [
      ['short.db', good.subarray(0, 50), /shorter than a SQLite header/],
      ['ragged.db', good.subarray(0, good.length - 100), /not a whole number of 4096-byte pages/],
      ['odd-page-size.db', Buffer.concat([good.subarray(0, 16), Buffer.from([0x03, 0x00]), good.subarray(18)]), /page size 768/],
    ];
    for (const [name, bytes, reason] of cases) {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      const fd = openSync(path, 'r');
      try {
        expect(runWhole(hashFilePages(path, fd, bytes.length))).toMatch(reason);
      } finally {
        closeSync(fd);
      }
    }
  });
});
