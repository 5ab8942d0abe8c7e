// `detect --baseline FILE`: a known-good snapshot given to rules as `baseline_<table>` tables beside the
// live (or saved) snapshot's own, so "new since the baseline" is one NOT IN / NOT EXISTS away. Rules that
// read a baseline table are skipped, and reported, when no baseline is given (they are "off" without one).
import type {Database} from 'sql.js';

import {indexColumns, indexName, tableDefinition} from '../models/tables.js';
import {loadSqlJs} from '../storage/database.js';

/** The prefix of a baseline table: `baseline_processes` is the baseline's `processes`. */
export const BASELINE_PREFIX = 'baseline_';

/**
 * Indexes a baseline table gets beside its table's own (the registry's): the columns rules compare a process
 * with its baseline by, so that comparison is a lookup, not a read of the whole baseline per process.
 */
const BASELINE_LOOKUPS: Readonly<Record<string, readonly string[]>> = {processes: ['executable_path']};

/** Tables of a snapshot that are not copied into the baseline (its alerts judge the old run, not the host). */
const NOT_COPIED = new Set(['meta', 'alerts']);

const BASELINE_TABLE = /\bbaseline_[a-z0-9_]+\b/i;

/** Whether SQL reads a baseline table (a lexical check on validated SQL: names are identifiers there). */
export function readsBaseline(sql: string): boolean {
  return BASELINE_TABLE.test(sql);
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The data tables of a snapshot database (not meta, alerts, sqlite_*). */
export function dataTables(db: Database): string[] {
  const result = db.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
  return (result[0]?.values ?? []).map((row) => String(row[0])).filter((name) => !NOT_COPIED.has(name));
}

/**
 * Copy every data table of `baseline` into `target` as `baseline_<name>` (same columns, all rows). When the
 * baseline lacks a table the target has (an older baseline file, or one taken without sockets), an empty
 * `baseline_<name>` with the target's columns is created, so rules run and see "nothing in the baseline".
 */
export function copyBaselineTables(baseline: Database, target: Database): void {
  const present = new Set(dataTables(baseline));
  target.exec('BEGIN');
  try {
    for (const table of present) {
      const columns = columnNames(baseline, table);
      target.exec(`CREATE TABLE ${quoteIdent(BASELINE_PREFIX + table)} (${columns.map(quoteIdent).join(', ')})`);
      const select = baseline.prepare(`SELECT ${columns.map(quoteIdent).join(', ')} FROM ${quoteIdent(table)}`);
      const insert = target.prepare(`INSERT INTO ${quoteIdent(BASELINE_PREFIX + table)} VALUES (${columns.map(() => '?').join(', ')})`);
      try {
        while (select.step()) insert.run(select.get() as (string | number | null)[]);
      } finally {
        select.free();
        insert.free();
      }
    }
    for (const table of dataTables(target)) {
      if (table.startsWith(BASELINE_PREFIX) || present.has(table)) continue;
      target.exec(`CREATE TABLE ${quoteIdent(BASELINE_PREFIX + table)} (${columnNames(target, table).map(quoteIdent).join(', ')})`);
    }
    for (const table of dataTables(target)) if (!table.startsWith(BASELINE_PREFIX)) indexBaselineTable(target, table);
    target.exec('COMMIT');
  } catch (error) {
    target.exec('ROLLBACK');
    throw error;
  }
}

/** Create the registry's indexes of `table` (and its BASELINE_LOOKUPS) on `baseline_<table>`, for the columns it has. */
function indexBaselineTable(db: Database, table: string): void {
  const copy = BASELINE_PREFIX + table;
  const columns = new Set(columnNames(db, copy));
  const indexes = [...(tableDefinition(table)?.indexes ?? []), ...(BASELINE_LOOKUPS[table] ?? [])];
  for (const index of indexes) {
    const cols = indexColumns(index);
    if (!cols.every((c) => columns.has(c))) continue;
    db.exec(`CREATE INDEX IF NOT EXISTS ${quoteIdent(indexName(copy, index))} ON ${quoteIdent(copy)} (${cols.map(quoteIdent).join(', ')})`);
  }
}

function columnNames(db: Database, table: string): string[] {
  const result = db.exec(`PRAGMA table_info(${quoteIdent(table)})`);
  return (result[0]?.values ?? []).map((row) => String(row[1]));
}

/** Snapshot bytes with the baseline's tables added (a new image; `bytes` is not changed). */
export async function withBaseline(bytes: Uint8Array, baseline: Database): Promise<Uint8Array> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database(bytes);
  try {
    copyBaselineTables(baseline, db);
    return db.export();
  } finally {
    db.close();
  }
}

/** Snapshot bytes with the baseline's tables added, the baseline given as snapshot bytes too. */
export async function withBaselineBytes(bytes: Uint8Array, baselineBytes: Uint8Array): Promise<Uint8Array> {
  const SQL = await loadSqlJs();
  const baseline = new SQL.Database(baselineBytes);
  try {
    return await withBaseline(bytes, baseline);
  } finally {
    baseline.close();
  }
}
