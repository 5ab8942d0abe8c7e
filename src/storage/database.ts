// The snapshot database: the schema (DDL derived from the models) and bulk inserts, over the sql.js module
// that sqljs.ts loads once per thread. Snapshot files, the event store, the detection engine and `query` all
// build on this module, so the tables are defined in exactly one place.
import type {Database} from 'sql.js';

import type {Alert} from '../models/alert.js';
import type {ProcessRecord} from '../models/process.js';
import type {ScanRecord} from '../models/scan.js';
import {ALERTS_TABLE, PROCESSES_TABLE, SCANS_TABLE, type TableDefinition, TABLES, tableDdl} from '../models/tables.js';
import {TOOL_VERSION} from '../version.js';
import {loadSqlJs} from './sqljs.js';

export {loadSqlJs} from './sqljs.js';

/** Version of the snapshot file layout; bump it (and add a migration) whenever a table changes. */
export const SCHEMA_VERSION = 4;

export const PROCESS_INDEXES = PROCESSES_TABLE.indexes;

/** The DDL of an empty snapshot database, in order: `meta`, then every table of the registry (src/models/tables.ts). */
export function schemaStatements(): string[] {
  return ['CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)', ...TABLES.flatMap(tableDdl)];
}

/** A new, empty snapshot database with its schema and meta rows. */
export async function createSnapshotDatabase(): Promise<Database> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database();
  db.exec(schemaStatements().join(';\n'));
  const meta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
  for (const [key, value] of [
    ['schema_version', String(SCHEMA_VERSION)],
    ['tool_version', TOOL_VERSION],
    ['created', String(Date.now())],
  ]) {
    meta.run([key, value as string]);
  }
  meta.free();
  return db;
}

/**
 * Rows per INSERT statement: each statement call crosses into the wasm module once, so binding many rows at
 * a time is several times faster for tables of small rows (memory maps: tens of thousands per scan). Kept
 * under SQLite's 32,766 bound parameters for the widest table.
 */
const ROWS_PER_INSERT = 64;

/** Insert rows of one registry table in one transaction (each row converted by the table's `toRow`). */
export function insertRows(db: Database, table: TableDefinition, rows: readonly unknown[]): void {
  if (rows.length === 0) return;
  const {columns} = table;
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const sql = (count: number): string => `INSERT INTO ${table.name} (${columns.map((c) => c.name).join(', ')}) VALUES ${Array(count).fill(tuple).join(', ')}`;
  const batch = Math.max(1, Math.min(ROWS_PER_INSERT, Math.floor(32_000 / columns.length)));
  const full = rows.length >= batch ? db.prepare(sql(batch)) : undefined;
  try {
    inTransaction(db, () => {
      let index = 0;
      if (full !== undefined) {
        for (; index + batch <= rows.length; index += batch) {
          const values: (string | number | null)[] = [];
          for (let i = index; i < index + batch; i++) values.push(...table.toRow(rows[i]));
          full.run(values);
        }
      }
      if (index < rows.length) {
        const rest = db.prepare(sql(rows.length - index));
        try {
          const values: (string | number | null)[] = [];
          for (let i = index; i < rows.length; i++) values.push(...table.toRow(rows[i]));
          rest.run(values);
        } finally {
          rest.free();
        }
      }
    });
  } finally {
    full?.free();
  }
}

/** Run `work` in one transaction: committed when it returns, rolled back when it throws (the error is rethrown). */
export function inTransaction<T>(db: Database, work: () => T): T {
  db.exec('BEGIN');
  try {
    const result = work();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}

export function insertProcesses(db: Database, records: readonly ProcessRecord[]): void {
  insertRows(db, PROCESSES_TABLE, records);
}

export function insertScan(db: Database, scan: ScanRecord): void {
  insertRows(db, SCANS_TABLE, [scan]);
}

export function insertAlerts(db: Database, alerts: readonly Alert[]): void {
  insertRows(db, ALERTS_TABLE, alerts);
}

/** Rows of a query as plain objects. */
export function selectAll(db: Database, sql: string, params: (string | number | null)[] = []): Record<string, unknown>[] {
  const statement = db.prepare(sql);
  try {
    statement.bind(params);
    const rows: Record<string, unknown>[] = [];
    while (statement.step()) rows.push(statement.getAsObject());
    return rows;
  } finally {
    statement.free();
  }
}
