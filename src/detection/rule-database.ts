// A snapshot database made ready for rule queries, wherever rules run (a rule worker thread, or the main
// thread's own sql.js instance: in-process-lane.ts), opened on the snapshot's bytes without copying them
// (storage/shared-bytes.ts: every lane reads one copy) or on the open snapshot file, its pages read from disk
// (storage/file-pages.ts: a file read in place): our SQL functions, the named lists as
// temporary `list_<name>` tables, the `process_traits` view, a page cache as large as the snapshot, read-only;
// and one rule query on it, its rows capped. One place, so the worker (rule-worker.ts), the in-process lane
// and the benchmarks that time rules in-process set up the same database. Imports only what a worker may
// load (no models, no zod).
import type {Database, SqlJsStatic, SqlValue} from 'sql.js';

import {insertFlatRows, inTransaction} from '../storage/bulk-insert.js';
import {isFilePages, openFilePagesDatabase} from '../storage/file-pages.js';
import {buildSnapshotDatabase, isSnapshotBuild, type SnapshotContent} from '../storage/snapshot-build.js';
import {openSharedSnapshot} from '../storage/shared-bytes.js';
import type {SqlJsInstance} from '../storage/sqljs.js';
import {createRuleViews} from './rule-predicates.js';
import {SQL_POLICY} from './sql-policy.js';
import {registerUdfs} from './udfs.js';

/** A `list_<name>` table's one column. */
const LIST_COLUMNS = [{name: 'value'}] as const;

/** The page cache never grows past this (KiB): 512 MiB. */
const MAX_CACHE_KIB = 512 * 1024;

/** The page cache a rule database over a snapshot file of `bytes` gets, bytes (a whole number of KiB): the file and a quarter more, plus 2 MiB, at most MAX_CACHE_KIB. */
export function pageCacheBytes(bytes: number): number {
  return Math.min(MAX_CACHE_KIB, Math.ceil((bytes * 1.25) / 1024) + 2048) * 1024;
}

/**
 * Prepare `db` (a snapshot just loaded or built) for rule queries: register the functions, create one table
 * per named list (`lists`: name → values; names are checked against /^[a-z0-9_]+$/ before they get here,
 * values are bound, never spliced), create the rule views, size the page cache to the snapshot and make the
 * connection read-only. `instance`: the sql.js instance `db` belongs to, for the rule functions' direct reads
 * of its memory (default this thread's loadSqlJs module). Throws what sql.js throws (a list a view needs and
 * `lists` lacks: rule-predicates.ts).
 */
export function prepareRuleDatabase(db: Database, lists: Readonly<Record<string, readonly string[]>>, instance?: SqlJsInstance): void {
  registerUdfs(db, SQL_POLICY, instance);
  // Sorts, DISTINCT and IN lists of the rules build temporary b-trees, and the lists and views live in the
  // temp schema: all kept in memory instead of temporary files of sql.js's in-memory file system (which cost
  // a JavaScript write per page and hold the same bytes).
  db.exec('PRAGMA temp_store = MEMORY');
  // One transaction for every list table and the view: in autocommit, each CREATE was a transaction of its
  // own, with a journal written and deleted.
  inTransaction(db, () => {
    for (const [name, values] of Object.entries(lists)) {
      // In the temp schema, as the views: the snapshot's own file is shared by every lane and never written.
      db.exec(`DROP TABLE IF EXISTS temp.list_${name}; CREATE TEMP TABLE list_${name} (value TEXT)`);
      // Batched and bound through SQLite's C API, as a snapshot's rows are (≈ 600 values over every list).
      insertFlatRows(db, {name: `list_${name}`, columns: LIST_COLUMNS}, values, undefined, instance);
      // Indexed once per lane: `x IN (SELECT value FROM list_x)` then searches this index (SQLite uses an index on
      // the subquery's column) instead of building a temporary b-tree of the whole list in every rule's query, and
      // `WHERE value = x` is a lookup. 99,000 shells cost 3.6 CPU-s of 13 rules' builds without it.
      if (values.length > 0) db.exec(`CREATE INDEX list_${name}_value ON list_${name} (value)`);
    }
    createRuleViews(db, lists);
  });
  // SQLite's default 2 MB page cache makes every scan of a bigger snapshot re-read its pages through the
  // in-memory file system; a cache as large as the snapshot keeps them after the first rule touched them.
  const bytes = Number(db.exec('SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()')[0]?.values[0]?.[0] ?? 0);
  db.exec(`PRAGMA cache_size = -${pageCacheBytes(bytes) / 1024}`);
  // The validator already refuses every write; this makes one an error besides. The file's bytes may be
  // shared with every other lane (storage/shared-bytes.ts), so nothing may ever write to them.
  db.exec('PRAGMA query_only = 1');
}

/** A rule database, and the file's bytes when it was built from rows (for a later worker to load as a file). */
export interface OpenedRuleDatabase {
  readonly db: Database;
  readonly built: Uint8Array | undefined;
}

/**
 * Open `content` as a rule database in `SQL` (prepareRuleDatabase; `instance` as there). File bytes are
 * opened where they are, not copied (openSharedSnapshot): the caller keeps them unchanged while the database
 * is open, and the database never writes to them. An open file's pages are read from disk as the database
 * needs them, each checked against its hash (openFilePagesDatabase): the caller keeps the file open while the
 * database is. A build is built here and its file's bytes returned (before the lists are added).
 */
export function openRuleDatabase(
  SQL: SqlJsStatic,
  content: SnapshotContent,
  lists: Readonly<Record<string, readonly string[]>>,
  instance?: SqlJsInstance,
): OpenedRuleDatabase {
  let built: Uint8Array | undefined;
  let db: Database;
  if (isSnapshotBuild(content)) {
    db = buildSnapshotDatabase(SQL, content);
    built = db.export();
  } else if (isFilePages(content)) db = openFilePagesDatabase(SQL, content);
  else db = openSharedSnapshot(SQL, content);
  try {
    prepareRuleDatabase(db, lists, instance);
  } catch (error) {
    db.close();
    throw error;
  }
  return {db, built};
}

/** What one rule query gave: its columns, rows (at most `maxRows`; `truncated` when more were left) and time. */
export interface RuleQueryRows {
  readonly columns: string[];
  readonly rows: (string | number | null)[][];
  readonly truncated: boolean;
  readonly elapsedMs: number;
}

function jsonSafe(value: SqlValue): string | number | null {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return value;
}

/** Run one rule query on `db`: prepare() compiles only the first statement, so nothing after it can run. */
export function runRuleQuery(db: Database, sql: string, maxRows: number): RuleQueryRows {
  const start = performance.now();
  const statement = db.prepare(sql);
  try {
    const columns = statement.getColumnNames();
    const rows: (string | number | null)[][] = [];
    let truncated = false;
    while (statement.step()) {
      if (rows.length >= maxRows) {
        truncated = true;
        break;
      }
      rows.push(statement.get().map(jsonSafe));
    }
    return {columns, rows, truncated, elapsedMs: performance.now() - start};
  } finally {
    statement.free();
  }
}
