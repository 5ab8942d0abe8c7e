// A prepared INSERT bound through SQLite's C API in sql.js's exported functions, for the bulk inserts that
// build a snapshot (bulk-insert.ts). sql.js's own Statement.bind encodes each string to UTF-8 with a
// JavaScript loop into its own malloc'd copy and frees them all at the next bind: at 1,100 processes that was
// about two thirds of building a live snapshot, SQLite itself a fifth (docs/performance.md, "Building the
// snapshot"). Here every string of a batch is encoded by TextEncoder.encodeInto into ONE buffer of the wasm
// heap, kept for the whole insert, and bound without a copy (SQLITE_STATIC). Values are bound exactly as
// sql.js binds them: a 32-bit integer as an integer, any other number as a double, a string as text of its
// UTF-8 bytes (embedded NULs kept), null as NULL. Imported by the rule worker: nothing here may pull in the
// models (and zod).
import type {Database, SqlJsStatic} from 'sql.js';

import {type SqlJsInstance, sqlJsInstanceOf, type WasmMemory} from './sqljs.js';

type Value = string | number | null;

/** The C functions of sql.js's build this uses (all exported by sql.js's own wasm). */
interface SqliteExports {
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  _sqlite3_prepare_v2(db: number, sql: number, bytes: number, statement: number, tail: number): number;
  _sqlite3_bind_text(statement: number, index: number, text: number, bytes: number, destructor: number): number;
  _sqlite3_bind_int(statement: number, index: number, value: number): number;
  _sqlite3_bind_double(statement: number, index: number, value: number): number;
  _sqlite3_clear_bindings(statement: number): number;
  _sqlite3_step(statement: number): number;
  _sqlite3_reset(statement: number): number;
  _sqlite3_finalize(statement: number): number;
  _sqlite3_errmsg(db: number): number;
  UTF8ToString(pointer: number, maxBytes?: number): string;
}

const SQLITE_OK = 0;
const SQLITE_DONE = 101;
/** SQLITE_STATIC: SQLite uses the bytes where they are, without a copy; they stay valid until the next bind. */
const SQLITE_STATIC = 0;

const encoder = new TextEncoder();

/** A prepared statement of `db` bound through the C API; `run(values)` binds, steps once and resets. */
export interface RawInsert {
  run(values: readonly Value[]): void;
  /** Finalize the statement and free its buffer (always call it, also after an error). */
  free(): void;
}

/**
 * Prepare `sql` on `db` through the C API when `db` was opened by `instance` (default the instance `db`
 * belongs to: loadSqlJs's, or a throw-away one of newSqlJsInstance); undefined otherwise (the caller then uses
 * sql.js's Statement). Throws SQLite's message for SQL it refuses.
 */
export function prepareRawInsert(db: Database, sql: string, instance: SqlJsInstance | undefined = sqlJsInstanceOf(db)): RawInsert | undefined {
  const loaded = instance;
  const handle = (db as unknown as {db?: unknown}).db;
  if (loaded === undefined || typeof handle !== 'number' || !(db instanceof (loaded.module as SqlJsStatic).Database)) return undefined;
  const c = loaded.module as unknown as SqliteExports;
  if (typeof c._sqlite3_clear_bindings !== 'function' || typeof c._sqlite3_bind_text !== 'function' || typeof c._malloc !== 'function') return undefined;
  return new CInsert(c, loaded.memory, handle, sql);
}

class CInsert implements RawInsert {
  private statement = 0;
  /** The wasm heap buffer the batch's strings are encoded into, and its size in bytes. */
  private buffer = 0;
  private capacity = 0;

  constructor(
    private readonly c: SqliteExports,
    private readonly memory: WasmMemory,
    private readonly db: number,
    sql: string,
  ) {
    const bytes = encoder.encode(sql);
    // The SQL text, then the statement pointer the call writes (4 bytes, aligned).
    const scratch = c._malloc(bytes.length + 8);
    if (scratch === 0) throw new Error('out of memory preparing an insert');
    try {
      new Uint8Array(memory.buffer).set(bytes, scratch);
      const out = scratch + ((bytes.length + 3) & ~3);
      const status = c._sqlite3_prepare_v2(db, scratch, bytes.length, out, 0);
      if (status !== SQLITE_OK) throw new Error(this.message());
      this.statement = new DataView(memory.buffer).getInt32(out, true);
    } finally {
      c._free(scratch);
    }
  }

  run(values: readonly Value[]): void {
    const {c} = this;
    const statement = this.statement;
    if (statement === 0) throw new Error('the insert statement was freed');
    // The batch's strings' UTF-8 bytes, exactly (a lone surrogate counts 3, as either encoding writes it).
    let needed = 0;
    for (const value of values) if (typeof value === 'string') needed += Buffer.byteLength(value, 'utf8');
    if (needed > this.capacity) this.grow(needed);
    c._sqlite3_clear_bindings(statement);
    // Taken after any malloc: the heap's ArrayBuffer is replaced when it grows.
    const heap = new Uint8Array(this.memory.buffer);
    let offset = this.buffer;
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      let status = SQLITE_OK;
      if (typeof value === 'string') {
        const written = encodeUtf8(value, heap, offset, this.buffer + this.capacity);
        status = c._sqlite3_bind_text(statement, i + 1, offset, written, SQLITE_STATIC);
        offset += written;
      } else if (typeof value === 'number') {
        status = value === (value | 0) ? c._sqlite3_bind_int(statement, i + 1, value) : c._sqlite3_bind_double(statement, i + 1, value);
      } else if (value !== null) {
        throw new Error(`cannot bind a value of type ${typeof value}`);
      }
      if (status !== SQLITE_OK) throw new Error(this.message());
    }
    const stepped = c._sqlite3_step(statement);
    const problem = stepped === SQLITE_DONE ? undefined : this.message();
    c._sqlite3_reset(statement);
    if (problem !== undefined) throw new Error(problem);
  }

  free(): void {
    if (this.statement !== 0) this.c._sqlite3_finalize(this.statement);
    this.statement = 0;
    if (this.buffer !== 0) this.c._free(this.buffer);
    this.buffer = 0;
    this.capacity = 0;
  }

  private grow(bytes: number): void {
    if (this.buffer !== 0) this.c._free(this.buffer);
    this.buffer = 0;
    this.capacity = 0;
    // At least 64 KiB, and half again what is asked, so a table's batches seldom grow it twice.
    const size = Math.max(64 * 1024, Math.ceil(bytes * 1.5));
    const pointer = this.c._malloc(size);
    if (pointer === 0) throw new Error(`out of memory binding ${bytes} bytes of text`);
    this.buffer = pointer;
    this.capacity = size;
  }

  private message(): string {
    return this.c.UTF8ToString(this.c._sqlite3_errmsg(this.db));
  }
}

/**
 * Write `text` as UTF-8 at `offset` of `heap`, never past `end`; returns the bytes written (no terminating
 * NUL). A string that is not well-formed UTF-16 (a lone surrogate) is written as sql.js writes it, a surrogate
 * as its 3-byte form, so both paths store the same bytes.
 */
function encodeUtf8(text: string, heap: Uint8Array, offset: number, end: number): number {
  if ((text as unknown as {isWellFormed(): boolean}).isWellFormed()) {
    const {read, written} = encoder.encodeInto(text, heap.subarray(offset, end));
    if (read !== text.length) throw new Error('the text buffer is too small (a bug: its size is counted first)');
    return written;
  }
  if (offset + Buffer.byteLength(text, 'utf8') > end) throw new Error('the text buffer is too small (a bug: its size is counted first)');
  let at = offset;
  for (let i = 0; i < text.length; i++) {
    const point = text.codePointAt(i) as number;
    if (point <= 0x7f) heap[at++] = point;
    else if (point <= 0x7ff) {
      heap[at++] = 0xc0 | (point >> 6);
      heap[at++] = 0x80 | (point & 63);
    } else if (point <= 0xffff) {
      heap[at++] = 0xe0 | (point >> 12);
      heap[at++] = 0x80 | ((point >> 6) & 63);
      heap[at++] = 0x80 | (point & 63);
    } else {
      heap[at++] = 0xf0 | (point >> 18);
      heap[at++] = 0x80 | ((point >> 12) & 63);
      heap[at++] = 0x80 | ((point >> 6) & 63);
      heap[at++] = 0x80 | (point & 63);
      i++;
    }
  }
  return at - offset;
}
