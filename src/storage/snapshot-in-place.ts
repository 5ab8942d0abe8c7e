// Reading an untrusted snapshot file where its bytes are, without importing it: when the file's schema is
// exactly what this build writes (every sqlite_master row — type, name, table, SQL — equal to what the
// registry's DDL creates, nothing more) and SQLite's integrity check and the registry's type check of every
// value pass, the file's own pages are what the rules read (from disk, each checked against the hash taken
// before these checks ran: file-pages.ts; or, for bytes already in memory, from those bytes). Nothing in such a file can run (it has no view,
// trigger or virtual table: the schema is ours), no index can hide a row (the integrity check compares every
// index with its table) and every value has the type, shape and range the copy into STRICT tables
// (snapshot-import.ts) would demand. Any difference — another schema version, one more object, one column's
// type or constraint, a value of another type, a page SQLite finds damaged, a header field this build never
// writes — declines, and the caller imports the file by copying (which refuses what must be refused, with the
// same messages as before). Reading in place saves the copy: a second database, its export and the growth of
// the thread's sql.js heap, each as large as the file, and, read from disk, the file's bytes in memory too
// (docs/performance.md, "Memory at scale").
import type {Database, SqlJsStatic} from 'sql.js';

import type {ColumnSpec} from '../models/columns.js';
import {TABLES, type TableDefinition} from '../models/tables.js';
import {TimeSlicer} from '../util/interrupt.js';
import {SCHEMA_VERSION, schemaStatements} from './database.js';
import {type FilePages, isFilePages, openFilePagesDatabase} from './file-pages.js';
import {openSharedSnapshot} from './shared-bytes.js';
import {columnConstraint} from './snapshot-import.js';

/** The file could be read in place: `db` is opened on its bytes, read-only (`PRAGMA query_only`). */
export interface InPlaceSnapshot {
  readonly db: Database;
}

/** Why a file is not read in place (it is imported by copying instead): for tests and the debug log. */
export interface Declined {
  readonly declined: string;
}

const HEADER_SIZE = 100;

/** KiB of the checks' page cache beyond the file's size (the temporary b-trees of the type pass). */
const CACHE_SLACK_KIB = 2048;

/**
 * Header fields this build always writes: file format versions 1 (no write-ahead log), no reserved bytes per
 * page, UTF-8 text, and a page count that is valid (its "version valid for" equals the change counter) and
 * matches the file's `size`. `bytes`: the file's first bytes. Returns what differs, or undefined.
 */
function unusualHeader(bytes: Uint8Array, size: number): string | undefined {
  if (bytes.length < HEADER_SIZE) return 'shorter than a header';
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  if (view.getUint8(18) !== 1 || view.getUint8(19) !== 1) return 'file format version is not 1 (a write-ahead log)';
  if (view.getUint8(20) !== 0) return 'pages reserve bytes';
  if (view.getUint32(56) !== 1) return 'text encoding is not UTF-8';
  const rawPageSize = view.getUint16(16);
  const pageSize = rawPageSize === 1 ? 65_536 : rawPageSize;
  if (view.getUint32(92) !== view.getUint32(24)) return 'the page count in the header is not current';
  if (view.getUint32(28) * pageSize !== size) return 'the header page count does not match the size';
  return undefined;
}

/** sqlite_master of a database as sorted `type name table sql` lines. */
function schemaRows(db: Database): string[] {
  const rows = db.exec('SELECT type, name, tbl_name, sql FROM sqlite_master')[0]?.values ?? [];
  return rows.map((row) => JSON.stringify(row)).sort();
}

/** sqlite_master of the schema this build writes, per sql.js module (a WeakMap: a throw-away module is not kept). */
const expectedSchemas = new WeakMap<SqlJsStatic, readonly string[]>();

function expectedSchema(SQL: SqlJsStatic): readonly string[] {
  let rows = expectedSchemas.get(SQL);
  if (rows === undefined) {
    const db = new SQL.Database();
    try {
      db.exec(schemaStatements().join(';\n'));
      rows = schemaRows(db);
    } finally {
      db.close();
    }
    expectedSchemas.set(SQL, rows);
  }
  return rows;
}

/**
 * The condition a value of `column` meets exactly as this build writes it: SQLite's storage class of the
 * column's type (a REAL column reads back as real whatever the record holds), null only where the column is
 * nullable, the CHECK the copy would add (booleans, enums, JSON shape) and the element types of JSON arrays.
 * Stricter than the copy, which converts (an integer into a TEXT column becomes its text): such a value
 * declines, and the copy decides.
 */
function valueCondition(column: ColumnSpec): string {
  const c = column.name;
  const type = column.sqlType === 'INTEGER' ? 'integer' : column.sqlType === 'REAL' ? 'real' : 'text';
  const parts = [`typeof(${c}) = '${type}'`];
  const check = columnConstraint(column);
  if (check !== undefined) parts.push(`(${check})`);
  if (column.elementType !== undefined) {
    const types = column.elementType === 'real' ? "'real', 'integer'" : `'${column.elementType}'`;
    parts.push(`NOT EXISTS (SELECT 1 FROM json_each(${c}) WHERE type NOT IN (${types}))`);
  }
  const value = parts.join(' AND ');
  return column.nullable ? `(${c} IS NULL OR (${value}))` : `(${value})`;
}

/** Rows checked per statement: a signal is handled between two (sql.js cannot be interrupted). */
const CHECK_ROWS = 20_000;

/** The first rowid (SQLite's decimal text) of a row of `table` breaking valueCondition, or undefined; a slice at a time. */
async function firstBadRow(db: Database, table: TableDefinition, slicer: TimeSlicer): Promise<string | undefined> {
  const condition = table.columns.map(valueCondition).join(' AND ');
  let after: string | undefined;
  for (;;) {
    // rowid is no column of a registry table (the schema is exactly the registry's), so it names the rowid.
    const [row] =
      db.exec(
        `SELECT CAST(max(r) AS TEXT), count(*), CAST(min(CASE WHEN ok THEN NULL ELSE r END) AS TEXT) FROM
           (SELECT rowid AS r, ${condition} AS ok FROM ${table.name} NOT INDEXED ${after === undefined ? '' : `WHERE rowid > ${after}`} ORDER BY rowid LIMIT ${CHECK_ROWS})`,
      )[0]?.values ?? [];
    const [last, count, bad] = row ?? [null, 0, null];
    if (typeof bad === 'string') return bad;
    if (Number(count) < CHECK_ROWS || typeof last !== 'string') return undefined;
    after = last;
    if (slicer.due()) await slicer.pause();
  }
}

/**
 * Open the snapshot file `source` in `SQL` where it is — an open file's pages (openFilePagesDatabase: read
 * from disk, each checked against its hash) or its bytes in memory (openSharedSnapshot: never copied) — when
 * it can be read without importing it (see the header of this file); else say why not. A file SQLite cannot
 * open at all declines too (the copy path refuses it with SQLite's words). The database is read-only
 * (`PRAGMA query_only` refuses any write); the caller keeps bytes in memory unchanged, or the file open,
 * while it is open. The checks run a table at a time, with a turn of the event loop between slices.
 */
export async function openInPlace(SQL: SqlJsStatic, source: Uint8Array | FilePages): Promise<InPlaceSnapshot | Declined> {
  const header = isFilePages(source) ? unusualHeader(source.firstPage, source.size) : unusualHeader(source, source.length);
  if (header !== undefined) return {declined: header};
  let db: Database;
  try {
    db = isFilePages(source) ? openFilePagesDatabase(SQL, source) : openSharedSnapshot(SQL, source);
  } catch (error) {
    return {declined: `SQLite cannot open it (${(error as Error).message})`};
  }
  let opened = false;
  try {
    // No write can reach the bytes; no function of a schema (there is none once the schema is ours) may run.
    db.exec('PRAGMA query_only = 1; PRAGMA trusted_schema = OFF');
    // Read from disk, each page the checks read again costs a read and a hash (SQLite's default 2 MB cache made
    // the checks read a 30,000-process file's pages 3.9 times over: 41,062 reads of 10,555 pages). A cache as
    // large as the file reads each once; it lives in this instance, which is freed before the rules run.
    if (isFilePages(source)) db.exec(`PRAGMA cache_size = -${Math.ceil(source.size / 1024) + CACHE_SLACK_KIB}`);
    const declined = await whyNotInPlace(SQL, db);
    if (declined !== undefined) return {declined};
    opened = true;
    return {db};
  } catch (error) {
    return {declined: `SQLite: ${(error as Error).message}`};
  } finally {
    if (!opened) db.close();
  }
}

async function whyNotInPlace(SQL: SqlJsStatic, db: Database): Promise<string | undefined> {
  const found = schemaRows(db);
  const expected = expectedSchema(SQL);
  if (found.length !== expected.length || found.some((row, i) => row !== expected[i])) {
    const extra = found.find((row) => !expected.includes(row)) ?? expected.find((row) => !found.includes(row));
    return `the schema is not this build's (${(extra ?? '').slice(0, 120)})`;
  }
  // meta as a snapshot this build writes holds it: its version, and at most the tool's version and the time, short text.
  const [meta] =
    db.exec(
      `SELECT count(*), sum(key = 'schema_version' AND value = '${SCHEMA_VERSION}'),
              sum(key IN ('schema_version', 'tool_version', 'created') AND typeof(key) = 'text' AND typeof(value) = 'text' AND length(value) <= 64)
       FROM meta NOT INDEXED`,
    )[0]?.values ?? [];
  if (meta === undefined || Number(meta[1]) !== 1 || Number(meta[0]) !== Number(meta[2]) || Number(meta[0]) > 3) {
    return `the meta table is not one this build writes (schema version ${SCHEMA_VERSION}, tool version, time)`;
  }
  const slicer = new TimeSlicer();
  // Every page, every b-tree and every index against its table (a forged index could hide a row from a rule
  // that uses it), NOT NULL and UNIQUE: SQLite's integrity check, a table and its indexes at a time.
  for (const table of ['meta', ...TABLES.map((t) => t.name)]) {
    const result = db.exec(`PRAGMA integrity_check(${table})`)[0]?.values ?? [];
    if (result.length !== 1 || result[0]?.[0] !== 'ok') return `SQLite's integrity check of ${table}: ${String(result[0]?.[0]).slice(0, 120)}`;
    if (slicer.due()) await slicer.pause();
  }
  for (const table of TABLES) {
    const bad = await firstBadRow(db, table, slicer);
    if (bad !== undefined) return `${table.name} row ${bad} holds a value of another type or shape than this build writes`;
  }
  return undefined;
}
