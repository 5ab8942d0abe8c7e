// A snapshot database as data: the statements that create its schema and the rows of each table as flat
// values (a SnapshotBuild), and the one function that turns such a build into a sql.js database. The main
// thread of a live detect hands the build to the rule worker, which builds the database itself, so the main
// thread never instantiates sql.js and the snapshot never exists as a second in-memory database there
// (docs/performance.md, "Where a live detect's time goes"). Snapshot files are written through the same
// build (snapshot-file.ts), so a worker's database and a saved file hold the same rows.
// Imported by the rule worker: nothing here may pull in the models (and zod) at run time.
import type {Database, SqlJsStatic} from 'sql.js';

import type {SqlRowValue} from '../models/columns.js';
import {insertFlatRows, type Stamp} from './bulk-insert.js';
import {type FilePages, isFilePages, readAllPages} from './file-pages.js';
import {loadSqlJs} from './sqljs.js';

/** The rows of one table: `values` holds `columns.length` values per row, row after row. */
export interface SnapshotBuildTable {
  readonly name: string;
  readonly columns: readonly string[];
  readonly values: readonly SqlRowValue[];
  /** A column every row gets the same value in (a scan's id), written as a literal of the INSERT. */
  readonly stamp?: Stamp;
}

/** What a snapshot database holds, as plain data that a worker thread receives by structured clone. */
export interface SnapshotBuild {
  /** Statements run first, in order: the schema (tables and indexes). */
  readonly schema: readonly string[];
  /** Rows inserted after, one transaction per table, in order. */
  readonly tables: readonly SnapshotBuildTable[];
}

/**
 * What a rule worker loads: a snapshot file's bytes, an open snapshot file's pages (read from disk: a file read
 * in place, file-pages.ts), or a live snapshot's rows to build the database from.
 */
export type SnapshotContent = Uint8Array | FilePages | SnapshotBuild;

/** True for a build, false for a snapshot file (its bytes or its pages). */
export function isSnapshotBuild(content: SnapshotContent): content is SnapshotBuild {
  return !(content instanceof Uint8Array) && !isFilePages(content);
}

/** A new in-memory database holding `build` (the caller closes it). Throws sql.js's error for a bad statement or row. */
export function buildSnapshotDatabase(SQL: SqlJsStatic, build: SnapshotBuild): Database {
  const db = new SQL.Database();
  try {
    db.exec(build.schema.join(';\n'));
    for (const table of build.tables) {
      insertFlatRows(db, {name: table.name, columns: table.columns.map((name) => ({name}))}, table.values, table.stamp);
    }
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * The bytes of the snapshot file `content` stands for: a build is built here (in this thread's sql.js) and
 * exported; an open file's pages are read whole (readAllPages: pages no longer as hashed read as zeros and
 * mark the file changed, which its reader's release then reports).
 */
export async function snapshotBytes(content: SnapshotContent): Promise<Uint8Array> {
  if (isFilePages(content)) return readAllPages(content);
  if (!isSnapshotBuild(content)) return content;
  const db = buildSnapshotDatabase(await loadSqlJs(), content);
  try {
    return db.export();
  } finally {
    db.close();
  }
}

/**
 * Roughly the bytes of the database a build makes: UTF-16 string lengths, 8 bytes a number, a row's header,
 * and a quarter more for indexes and page slack. Against the real file on the development machine: 0.77×
 * for 180 processes alone, 0.95× with the five default live tables, 1.23× for a snapshot holding four 1 MB
 * command lines. What decides how many workers a snapshot is worth (workersForSnapshot).
 */
export function estimatedSnapshotBytes(build: SnapshotBuild): number {
  let bytes = 0;
  for (const table of build.tables) {
    for (const value of table.values) bytes += typeof value === 'string' ? value.length + 1 : 8;
    bytes += (table.values.length / Math.max(1, table.columns.length)) * ROW_OVERHEAD_BYTES;
  }
  return Math.round(bytes * INDEX_FACTOR);
}

/** SQLite's header per row (bytes), and the share indexes and page slack add: see estimatedSnapshotBytes. */
const ROW_OVERHEAD_BYTES = 16;
const INDEX_FACTOR = 1.25;
