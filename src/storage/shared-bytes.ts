// A snapshot file's bytes held once for every thread of a run. The rule workers and the in-process lane each
// open the snapshot in a sql.js database of their own; each used to get its own copy of the bytes (a
// structured clone per worker) and sql.js copied them again into its in-memory file system. Here the bytes
// live in one SharedArrayBuffer, which postMessage shares instead of copying, and sql.js's file is that very
// memory (openSharedSnapshot). Such a database must never be written: every thread reads the same bytes.
// Imported by the rule worker: nothing here may pull in the models (and zod).
import type {Database, SqlJsStatic} from 'sql.js';

/**
 * Bytes sql.js keeps as its file instead of copying them. sql.js's `new Database(data)` writes `data` into a
 * new file of its in-memory file system (Emscripten's MEMFS), whose first write to an empty file keeps
 * `data.slice(…)` as the file's contents; a slice that is a view instead of a copy makes the file share the
 * caller's memory. Reading a page then copies from that memory into SQLite's page cache, as it did from the
 * copy. test/storage/shared-bytes.test.ts fails if a sql.js version copies them again.
 */
class UncopiedBytes extends Uint8Array<ArrayBufferLike> {
  // The declared type says ArrayBuffer; the view is over whatever buffer these bytes are (sql.js only reads it).
  override slice(start?: number, end?: number): Uint8Array<ArrayBuffer> {
    return this.subarray(start, end) as Uint8Array<ArrayBuffer>;
  }
}

/** True when `bytes` already live in a SharedArrayBuffer (posting them to a worker shares, never copies). */
export function isShared(bytes: Uint8Array): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && bytes.buffer instanceof SharedArrayBuffer;
}

/**
 * `bytes` in a SharedArrayBuffer (the same array when they already are): copied once, so that every worker
 * they are posted to reads this one copy. The caller drops `bytes` afterwards, so the copy replaces them.
 */
export function inSharedMemory(bytes: Uint8Array): Uint8Array {
  if (isShared(bytes)) return bytes;
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
  shared.set(bytes);
  return shared;
}

/**
 * Open the snapshot file `bytes` in `SQL` without copying them: the database's file is `bytes`' memory (a
 * SharedArrayBuffer's or not), so the caller must never write to it — not a table, not a view, not an index
 * (temporary objects live in the `temp` schema, apart from the file) — and must keep `bytes` unchanged while
 * the database is open. Throws what sql.js throws for bytes that are not a database.
 */
export function openSharedSnapshot(SQL: SqlJsStatic, bytes: Uint8Array): Database {
  return new SQL.Database(new UncopiedBytes(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}
