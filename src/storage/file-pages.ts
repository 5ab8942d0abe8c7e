// A snapshot file read from disk a page at a time, where it lies, instead of held in memory: the file read in
// place (snapshot-in-place.ts) is opened once, its pages hashed once (SHA-256 each), and every SQLite database
// that reads it — the checks' and each rule lane's, on any thread of the run — reads its pages from the open
// descriptor (the kernel's page cache, not this process's memory), each page checked against its hash. A page
// that is no longer what was hashed (someone wrote the file while it was read, or the file system answers
// differently) reads as zeros and marks the file changed; the run then fails naming it (snapshot-file.ts
// releaseFilePages), so the bytes the rules read are the bytes the checks passed, whatever happens to the
// file meanwhile. docs/storage.md "Read in place" says why this and not a stat of the file.
// Imported by the rule worker: nothing here may pull in the models (and zod), or anything but node:fs and node:crypto.
import * as nodeCrypto from 'node:crypto';
import {closeSync, readSync} from 'node:fs';

import type {Database, SqlJsStatic} from 'sql.js';

/** Bytes of one page's digest (SHA-256). */
export const DIGEST_BYTES = 32;

/**
 * An open snapshot file as every thread of a run reads it: plain data (numbers, a string and views over
 * SharedArrayBuffers), so posting it to a rule worker shares it. The descriptor is the process's, which worker
 * threads share; the thread that opened the file closes it (closeFilePages) once no database reads it.
 */
export interface FilePages {
  readonly kind: 'file-pages';
  /** The path the file was opened by (for the error that names it). */
  readonly path: string;
  /** The open descriptor (read-only). */
  readonly fd: number;
  /** The file's size when it was hashed, bytes: a whole number of pages. Nothing past it is ever read. */
  readonly size: number;
  /** SQLite's page size of the file, bytes (a power of two, 512 to 65,536). */
  readonly pageSize: number;
  /** Page 1 as it was hashed (SQLite re-reads parts of its header at every transaction: served from here). */
  readonly firstPage: Uint8Array;
  /** SHA-256 of each page as it was hashed, DIGEST_BYTES per page, page 1 first. */
  readonly digests: Uint8Array;
  /**
   * [0]: 0 while every page read was the page hashed, else 1 + the index of the first that was not (or could
   * not be read again); [1]: 1 once the descriptor is closed; [2]: pages read from the descriptor since the
   * hashing pass, by every thread (pagesRead).
   */
  readonly state: Int32Array;
}

/** True for an open file's pages (not a file's bytes in memory, not a live snapshot's rows). */
export function isFilePages(content: unknown): content is FilePages {
  return typeof content === 'object' && content !== null && (content as {kind?: unknown}).kind === 'file-pages';
}

/**
 * SHA-256 of `data` as a one-byte string ('binary', that is latin1: each character's code is one byte of the
 * digest): crypto.hash where Node has it (20.12 on), a Hash object before. A string, not a Buffer: a Buffer
 * per page read is an ArrayBuffer with a backing store of its own, dearer to allocate and collect (a 4 KiB
 * page hashed and compared, 200,000 times: 4.0 µs of CPU each into a Buffer, 2.8 µs into a string).
 */
const sha256: (data: Uint8Array) => string =
  typeof nodeCrypto.hash === 'function'
    ? (data) => nodeCrypto.hash('sha256', data, 'binary')
    : (data) => nodeCrypto.createHash('sha256').update(data).digest('binary');

/** Whether page `index`'s digest in `digests` is `digest` (sha256's string). */
function sameDigest(digests: Uint8Array, index: number, digest: string): boolean {
  const base = index * DIGEST_BYTES;
  for (let i = 0; i < DIGEST_BYTES; i++) if (digest.charCodeAt(i) !== digests[base + i]) return false;
  return true;
}

/** How much of the file one read of the hashing pass takes, bytes (a whole number of pages of any size). */
const HASH_CHUNK_BYTES = 1024 * 1024;

/** `length` bytes of `fd` from `position` into `into`, as many as there are (fewer at the end of the file). */
function readFully(fd: number, into: Uint8Array, position: number): number {
  let got = 0;
  while (got < into.length) {
    const n = readSync(fd, into, got, into.length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/**
 * Hash the pages of the open regular file `fd` of `size` bytes (fstat's, when it was opened), in steps (a
 * yield after each MiB: the caller gives the event loop its turns). Returns the FilePages, or why the file is
 * not read a page at a time (its header's page size is not one SQLite writes, the size is no whole number of
 * pages, or the file is shorter than `size` now): the caller then reads it whole and imports it by copying,
 * which names the damage. The descriptor is left open either way; FilePages owns it from then on.
 * Throws the system error of a failed read.
 */
export function* hashFilePages(path: string, fd: number, size: number): Generator<void, FilePages | string, undefined> {
  const header = new Uint8Array(Math.min(size, 100));
  if (size < 100 || readFully(fd, header, 0) < 100) return 'shorter than a SQLite header';
  const rawPageSize = (header[16] as number) * 256 + (header[17] as number);
  const pageSize = rawPageSize === 1 ? 65_536 : rawPageSize;
  if (pageSize < 512 || pageSize > 65_536 || (pageSize & (pageSize - 1)) !== 0) return `page size ${rawPageSize} is not one SQLite writes`;
  if (size % pageSize !== 0) return `${size} bytes is not a whole number of ${pageSize}-byte pages`;
  const pages = size / pageSize;
  const digests = new Uint8Array(new SharedArrayBuffer(pages * DIGEST_BYTES));
  const firstPage = new Uint8Array(new SharedArrayBuffer(pageSize));
  const chunk = new Uint8Array(Math.min(size, Math.max(HASH_CHUNK_BYTES, pageSize)));
  for (let position = 0; position < size; position += chunk.length) {
    const into = chunk.subarray(0, Math.min(chunk.length, size - position));
    if (readFully(fd, into, position) < into.length) return 'the file became shorter while it was read';
    for (let offset = 0; offset < into.length; offset += pageSize) {
      const digest = sha256(into.subarray(offset, offset + pageSize));
      const base = ((position + offset) / pageSize) * DIGEST_BYTES;
      for (let i = 0; i < DIGEST_BYTES; i++) digests[base + i] = digest.charCodeAt(i);
    }
    if (position === 0) firstPage.set(into.subarray(0, pageSize));
    yield;
  }
  return {kind: 'file-pages', path, fd, size, pageSize, firstPage, digests, state: new Int32Array(new SharedArrayBuffer(3 * 4))};
}

/** The index of the first page read that was not the page hashed (or could not be read again), or undefined. */
export function changedPage(pages: FilePages): number | undefined {
  const state = Atomics.load(pages.state, 0);
  return state === 0 ? undefined : state - 1;
}

/** Pages read from the file's descriptor since it was hashed, by every thread (SQLite's reads within page 1 are served from `firstPage`). */
export function pagesRead(pages: FilePages): number {
  return Atomics.load(pages.state, 2);
}

/** Close the descriptor (once, whichever thread asks first; later calls do nothing). */
export function closeFilePages(pages: FilePages): void {
  if (Atomics.compareExchange(pages.state, 1, 0, 1) === 0) closeSync(pages.fd);
}

/** One thread's reader of a FilePages: a page-sized scratch buffer the reads go through. */
export class FilePageReader {
  private scratch: Uint8Array;

  constructor(readonly pages: FilePages) {
    this.scratch = new Uint8Array(pages.pageSize);
  }

  /**
   * Bytes `start` to `end` of the file as they were hashed, in a view valid until the next read of this reader:
   * page 1 from memory, any other page from the descriptor, checked against its digest. A page that differs,
   * or that cannot be read (a shorter file, a closed descriptor, an I/O error), reads as zeros and marks the
   * file changed (changedPage); once it is marked, nothing more is read from it. Never throws: the caller is
   * SQLite, in the middle of a query.
   */
  read(start: number, end: number): Uint8Array {
    const {pageSize, size} = this.pages;
    const stop = Math.min(end, size);
    if (start >= stop) return new Uint8Array(0);
    if (stop <= pageSize) return this.pages.firstPage.subarray(start, stop);
    const firstIndex = Math.floor(start / pageSize);
    const from = firstIndex * pageSize;
    const length = Math.ceil(stop / pageSize) * pageSize - from;
    if (this.scratch.length < length) this.scratch = new Uint8Array(length);
    const into = this.scratch.subarray(0, length);
    if (changedPage(this.pages) !== undefined || !this.readChecked(into, from, firstIndex)) into.fill(0);
    return into.subarray(start - from, stop - from);
  }

  /** Read whole pages into `into` from `from` (page `firstIndex`) and check each; false (the file marked changed) when one is not as hashed. */
  private readChecked(into: Uint8Array, from: number, firstIndex: number): boolean {
    const {pageSize, digests} = this.pages;
    Atomics.add(this.pages.state, 2, into.length / pageSize);
    let got: number;
    try {
      got = readFully(this.pages.fd, into, from);
    } catch {
      got = -1;
    }
    for (let offset = 0; offset < into.length; offset += pageSize) {
      const index = firstIndex + offset / pageSize;
      if (got < offset + pageSize || !sameDigest(digests, index, sha256(into.subarray(offset, offset + pageSize)))) {
        Atomics.compareExchange(this.pages.state, 0, 0, index + 1);
        return false;
      }
    }
    return true;
  }
}

/**
 * The whole file as it was hashed, in a new buffer (for a reader that must copy it: an import, a baseline
 * joined to it). Pages that are no longer as hashed read as zeros and mark the file changed, as FilePageReader's.
 */
export function readAllPages(pages: FilePages): Uint8Array {
  const reader = new FilePageReader(pages);
  const bytes = new Uint8Array(pages.size);
  const step = Math.max(HASH_CHUNK_BYTES, pages.pageSize);
  for (let position = 0; position < pages.size; position += step) {
    bytes.set(reader.read(position, Math.min(pages.size, position + step)), position);
  }
  return bytes;
}

/**
 * A database file as sql.js reads it (openOnContents): its size, and bytes `start` to `end` as a typed array
 * that stays valid until the next call.
 */
export interface FileContents {
  readonly length: number;
  subarray(start: number, end: number): Uint8Array;
}

/**
 * FilePages as sql.js reads a database's file: every read is a FilePageReader read. A write would call
 * `set`, which refuses: the file is never written (`query_only`, temporary objects in memory).
 */
class DiskContents implements FileContents {
  constructor(private readonly reader: FilePageReader) {}

  get length(): number {
    return this.reader.pages.size;
  }

  subarray(start = 0, end = this.reader.pages.size): Uint8Array {
    return this.reader.read(start, end);
  }

  set(): never {
    throw new Error('a snapshot file read from disk is never written');
  }
}

/**
 * What `new SQL.Database(data)` is given: sql.js writes `data` into a new file of its in-memory file system
 * (Emscripten's MEMFS), whose first write to an empty file keeps `data.slice(0, data.length)` as the file's
 * contents; this `slice` hands over the FileContents instead of a copy. `taken` says it was called: a sql.js
 * that copied the data another way would leave it false.
 */
class ContentsData {
  taken = false;

  constructor(private readonly contents: FileContents) {}

  get length(): number {
    return this.contents.length;
  }

  slice(start: number, end: number): FileContents {
    if (start !== 0 || end !== this.contents.length) throw new Error(`sql.js asked for part of a new database's file (${start} to ${end})`);
    this.taken = true;
    return this.contents;
  }

  /** MEMFS asks that its data have one; a sql.js that copied the data through it gets an error. */
  subarray(): never {
    throw new Error('sql.js tried to copy a database file it was to read where it is');
  }
}

/**
 * Open a database in `SQL` whose file is `contents`, never copied: MEMFS's read of the file copies
 * `contents.subarray(position, position + size)` into SQLite's buffer, and reads it no other way while the
 * database only reads (test/storage/file-pages.test.ts fails if a sql.js version does). The caller must
 * never write to it (a write reaches `contents.set`). Throws sql.js's error for a file SQLite cannot open,
 * and an Error when this sql.js does not keep the file's contents as given.
 */
export function openOnContents(SQL: SqlJsStatic, contents: FileContents): Database {
  const data = new ContentsData(contents);
  const db = new SQL.Database(data as unknown as Uint8Array);
  if (!data.taken) {
    db.close();
    throw new Error("this sql.js copies a new database's file instead of keeping it: a snapshot cannot be read from disk");
  }
  return db;
}

/**
 * Open `pages` in `SQL` as a database whose file is read from disk a page at a time (FilePageReader: each
 * page checked against its hash) and never held in memory but for SQLite's own page cache. The caller must
 * never write to it (it makes the connection `query_only`; temporary objects belong in the `temp` schema,
 * kept in memory) and keeps the descriptor open while the database is. Throws as openOnContents.
 */
export function openFilePagesDatabase(SQL: SqlJsStatic, pages: FilePages): Database {
  return openOnContents(SQL, new DiskContents(new FilePageReader(pages)));
}
