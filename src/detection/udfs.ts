// Registers DaemonEye's user functions (sql-policy.ts, USER_FUNCTIONS) in a rule database: REGEXP (SQLite has
// the operator but no implementation), basename and dirname for executable paths, and whatever joins them
// there. Documented in docs/rules-sql.md, which is generated from the same list.
//
// A command line is the attacker's text and can be megabytes long; one rule may match it against twenty
// patterns, and every rule reads it again. sql.js hands a function its text arguments by decoding the UTF-8
// bytes into a JavaScript string on every call, which was most of a rule's time over long argvs. Functions
// marked `longText` (regexp, regexp_flags) therefore read their arguments straight from sql.js's memory:
// a text of LONG_TEXT_BYTES or more is decoded once per database and reused while its bytes are the same
// (compared byte for byte, never by a hash), with the function's result for the same other arguments.
//
// Every function's text result goes back through sql.js's heap (malloc, then sqlite3_result_text copying it),
// never through sql.js's own create_function: that one passes a result string to sqlite3_result_text as a
// `string` argument, which sql.js copies onto the WebAssembly stack (5 MiB) without a bound, so a function
// returning a longer text (shell_unquote of a 6 MB command line) wrote past the stack over the heap, and the
// run died later with "memory access out of bounds" (red-team trial 8, F5).
import type {Database, SqlJsStatic} from 'sql.js';

import {type SqlJsInstance, sqlJsInstanceOf, type WasmMemory} from '../storage/sqljs.js';
import {SQL_POLICY, type SqlPolicy, type UserFunction} from './sql-policy.js';

/** Texts at least this long (bytes of UTF-8) are decoded once per database and reused; shorter ones cost less to decode than to compare. */
export const LONG_TEXT_BYTES = 4096;

/** Bytes the long-text cache of one database holds (the raw bytes and the decoded string): older texts are dropped first. */
export const LONG_TEXT_CACHE_BYTES = 64 * 1024 * 1024;

/**
 * Register every user function of `policy` in `db`, each with its own state (caches are per database).
 * `instance`: the sql.js instance `db` was opened in (default: the one it belongs to, sqlJsInstanceOf). Returns the
 * database's long-text cache, or undefined when `db` was not opened by that instance (its functions then
 * take sql.js's plain path).
 */
export function registerUdfs(
  db: Database,
  policy: SqlPolicy = SQL_POLICY,
  instance: SqlJsInstance | undefined = sqlJsInstanceOf(db),
): LongTextCache | undefined {
  const raw = rawAccess(db, instance);
  const cache = new LongTextCache(LONG_TEXT_CACHE_BYTES);
  for (const udf of policy.userFunctions) {
    const implementation = udf.create();
    if (raw !== undefined) registerRaw(raw, udf, implementation, cache);
    else db.create_function(udf.name, boundedResults(udf.name, implementation));
  }
  return raw === undefined ? undefined : cache;
}

type Value = number | string | Uint8Array | null;

/**
 * The longest text result (bytes of UTF-8) a function registered through sql.js's own create_function may
 * return: sql.js copies it onto the WebAssembly stack (5 MiB, part of it in use). Only a database of a sql.js
 * module this project did not instantiate takes that path (sqljs.ts instantiates every module it uses).
 */
export const PLAIN_PATH_MAX_RESULT_BYTES = 1024 * 1024;

/** `implementation`, erring (the rule's error, not a corrupt heap) on a text result sql.js's stack cannot hold. */
function boundedResults(name: string, implementation: (...args: unknown[]) => Value): (...args: unknown[]) => Value {
  return (...args) => {
    const result = implementation(...args);
    if (typeof result === 'string' && result.length * 3 > PLAIN_PATH_MAX_RESULT_BYTES && Buffer.byteLength(result, 'utf8') > PLAIN_PATH_MAX_RESULT_BYTES)
      throw new Error(`${name}: a result of more than ${String(PLAIN_PATH_MAX_RESULT_BYTES)} bytes is not returned by this database`);
    return result;
  };
}

/** An error message as SQLite gets it: sql.js copies it onto its stack too, so it is kept short. */
const MAX_ERROR_CHARS = 1000;
const shortMessage = (message: string): string => (message.length > MAX_ERROR_CHARS ? `${message.slice(0, MAX_ERROR_CHARS)}…` : message);

/** What the raw path needs of sql.js: its exported C functions and helpers (all public in sql.js's build). */
interface SqlJsExports {
  addFunction(fn: (context: number, argc: number, argv: number) => void, signature: string): number;
  UTF8ToString(pointer: number, maxBytes?: number): string;
  cwrap(name: string, returns: string | null, args: string[]): (...args: unknown[]) => unknown;
  _sqlite3_value_type(value: number): number;
  _sqlite3_value_text(value: number): number;
  _sqlite3_value_blob(value: number): number;
  _sqlite3_value_bytes(value: number): number;
  _sqlite3_value_double(value: number): number;
  _sqlite3_result_int(context: number, value: number): void;
  _sqlite3_result_double(context: number, value: number): void;
  _sqlite3_result_null(context: number): void;
  _sqlite3_result_text(context: number, pointer: number, bytes: number, destructor: number): void;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
}

interface RawAccess {
  readonly sql: SqlJsExports;
  readonly memory: WasmMemory;
  /** The database's `sqlite3*`. */
  readonly handle: number;
}

/** The raw path for `db`, when it was opened by `loaded` (whose memory is known). */
function rawAccess(db: Database, loaded: SqlJsInstance | undefined): RawAccess | undefined {
  const handle = (db as unknown as {db?: unknown}).db;
  if (loaded === undefined || typeof handle !== 'number' || !(db instanceof (loaded.module as SqlJsStatic).Database)) return undefined;
  const sql = loaded.module as unknown as SqlJsExports;
  if (
    typeof sql.addFunction !== 'function' ||
    typeof sql._sqlite3_value_bytes !== 'function' ||
    typeof sql._sqlite3_result_text !== 'function' ||
    typeof sql._malloc !== 'function' ||
    typeof sql._free !== 'function'
  )
    return undefined;
  return {sql, memory: loaded.memory, handle};
}

const SQLITE_INTEGER = 1;
const SQLITE_FLOAT = 2;
const SQLITE_TEXT = 3;
const SQLITE_BLOB = 4;
const SQLITE_UTF8 = 1;
/** sqlite3_result_text's destructor meaning "copy the bytes now". */
const SQLITE_TRANSIENT = -1;

/** One long text: its bytes (a copy), the string they decode to, and results already computed over it. */
interface LongText {
  readonly bytes: Buffer;
  readonly text: string;
  readonly results: Map<string, Value>;
}

/** Long texts by their bytes, least recently used first, within `maxBytes`. */
export class LongTextCache {
  private readonly byKey = new Map<string, LongText[]>();
  private readonly order = new Map<LongText, string>();
  private held = 0;
  /** Texts decoded so far (a text dropped and met again is decoded again). */
  decoded = 0;

  constructor(private readonly maxBytes: number) {}

  /** The entry holding exactly these bytes, or a new one whose text `decode` gives. */
  get(bytes: Uint8Array, decode: () => string): LongText {
    const key = LongTextCache.key(bytes);
    const candidates = this.byKey.get(key);
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const found = candidates?.find((entry) => entry.bytes.equals(view));
    if (found !== undefined) {
      // Most recently used last.
      this.order.delete(found);
      this.order.set(found, key);
      return found;
    }
    const entry: LongText = {bytes: Buffer.from(view), text: decode(), results: new Map()};
    this.decoded++;
    const size = LongTextCache.size(entry);
    if (size > this.maxBytes) return entry;
    while (this.held + size > this.maxBytes) this.evictOldest();
    this.byKey.set(key, [...(candidates ?? []), entry]);
    this.order.set(entry, key);
    this.held += size;
    return entry;
  }

  private evictOldest(): void {
    const oldest = this.order.entries().next();
    if (oldest.done === true) return;
    const [entry, key] = oldest.value;
    this.order.delete(entry);
    const rest = (this.byKey.get(key) ?? []).filter((e) => e !== entry);
    if (rest.length === 0) this.byKey.delete(key);
    else this.byKey.set(key, rest);
    this.held -= LongTextCache.size(entry);
  }

  /** Length and the first and last 32 bytes: texts that differ mostly differ there; equal keys are compared in full. */
  private static key(bytes: Uint8Array): string {
    const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(32, bytes.byteLength)).toString('latin1');
    const tail = Buffer.from(bytes.buffer, bytes.byteOffset + Math.max(0, bytes.byteLength - 32), Math.min(32, bytes.byteLength)).toString('latin1');
    return `${bytes.byteLength}:${head}:${tail}`;
  }

  private static size(entry: LongText): number {
    return entry.bytes.byteLength + entry.text.length * 2;
  }
}

/**
 * Register `udf` through sqlite3_create_function_v2 with a wrapper that reads its arguments as sql.js's own
 * create_function does (numbers as doubles, text as strings, blobs as byte arrays, NULL as null) and
 * returns a text result through the heap (any length SQLite takes; a heap that cannot hold it is SQLite's
 * "out of memory" for the calling rule). For a function marked `longText`, a text of LONG_TEXT_BYTES or more
 * comes from `cache`, and the result for one long text and the same other arguments is computed once.
 */
function registerRaw(raw: RawAccess, udf: UserFunction, implementation: (...args: unknown[]) => Value, cache: LongTextCache): void {
  const {sql, memory} = raw;
  const resultError = sql.cwrap('sqlite3_result_error', null, ['number', 'string', 'number']);
  const createFunction = sql.cwrap('sqlite3_create_function_v2', 'number', [
    'number',
    'string',
    'number',
    'number',
    'number',
    'number',
    'number',
    'number',
    'number',
  ]);
  const call = (context: number, argc: number, argv: number): void => {
    const args: Value[] = [];
    let long: LongText | undefined;
    let longCount = 0;
    for (let i = 0; i < argc; i++) {
      const value = new DataView(memory.buffer).getInt32(argv + 4 * i, true);
      const type = sql._sqlite3_value_type(value);
      if (type === SQLITE_INTEGER || type === SQLITE_FLOAT) args.push(sql._sqlite3_value_double(value));
      else if (type === SQLITE_TEXT) {
        const pointer = sql._sqlite3_value_text(value);
        const bytes = sql._sqlite3_value_bytes(value);
        if (bytes < LONG_TEXT_BYTES || udf.longText !== true) args.push(sql.UTF8ToString(pointer, bytes));
        else {
          long = cache.get(new Uint8Array(memory.buffer, pointer, bytes), () => sql.UTF8ToString(pointer, bytes));
          longCount++;
          args.push(long.text);
        }
      } else if (type === SQLITE_BLOB) {
        const pointer = sql._sqlite3_value_blob(value);
        const bytes = sql._sqlite3_value_bytes(value);
        args.push(new Uint8Array(memory.buffer, pointer, bytes).slice());
      } else args.push(null);
    }
    // The other arguments (a pattern, flags) are short: they key the result kept with the long text.
    const key = long !== undefined && longCount === 1 ? resultKey(udf.name, args, long.text) : undefined;
    let result: Value;
    try {
      if (key !== undefined && long?.results.has(key) === true) result = long.results.get(key) as Value;
      else {
        result = implementation(...args);
        if (key !== undefined) long?.results.set(key, result);
      }
    } catch (error) {
      resultError(context, shortMessage(error instanceof Error ? error.message : String(error)), -1);
      return;
    }
    if (result === null || result === undefined) sql._sqlite3_result_null(context);
    else if (typeof result === 'number' && Number.isInteger(result) && Math.abs(result) <= 0x7fffffff) sql._sqlite3_result_int(context, result);
    else if (typeof result === 'number') sql._sqlite3_result_double(context, result);
    else if (typeof result === 'string') resultText(context, result);
    else resultError(context, `${udf.name} returned a ${typeof result}, which a rule function does not return`, -1);
  };
  /** A text result copied into a heap buffer of its own, handed to SQLite (which copies it) and freed. */
  const resultText = (context: number, text: string): void => {
    const bytes = Buffer.byteLength(text, 'utf8');
    const pointer = sql._malloc(Math.max(1, bytes));
    if (pointer === 0) {
      resultError(context, 'out of memory', -1);
      return;
    }
    try {
      // The heap may have grown in malloc: the view is taken after it.
      new TextEncoder().encodeInto(text, new Uint8Array(memory.buffer, pointer, bytes));
      sql._sqlite3_result_text(context, pointer, bytes, SQLITE_TRANSIENT);
    } finally {
      sql._free(pointer);
    }
  };
  const pointer = sql.addFunction(call, 'viii');
  // The arity is the implementation's own, as sql.js's create_function takes it.
  const status = createFunction(raw.handle, udf.name, implementation.length, SQLITE_UTF8, 0, pointer, 0, 0, 0);
  if (status !== 0) throw new Error(`cannot register the rule function ${udf.name} (SQLite error ${String(status)})`);
}

/** The function's name and its arguments other than the long text, as one key; undefined when one is a blob. */
function resultKey(name: string, args: readonly Value[], longText: string): string | undefined {
  if (args.some((arg) => arg instanceof Uint8Array)) return undefined;
  return JSON.stringify([name, ...args.map((arg) => (arg === longText ? {long: true} : arg))]);
}
