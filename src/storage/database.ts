// The snapshot database: the schema (DDL derived from the models) and bulk inserts, over the sql.js module
// that sqljs.ts loads once per thread. Snapshot files, the event store, the detection engine and `query` all
// build on this module, so the tables are defined in exactly one place.
import type {Database} from 'sql.js';

import type {Alert} from '../models/alert.js';
import type {ProcessRecord} from '../models/process.js';
import type {ScanRecord} from '../models/scan.js';
import {ALERTS_TABLE, PROCESSES_TABLE, SCANS_TABLE, TABLES, tableDdl} from '../models/tables.js';
import {TOOL_VERSION} from '../version.js';
import {insertRows} from './bulk-insert.js';
import {loadSqlJs} from './sqljs.js';

export {inTransaction, insertFlatRows, insertRows} from './bulk-insert.js';
export {loadSqlJs} from './sqljs.js';

/**
 * Version of the snapshot file layout; bump it (and add a migration) when an existing table changes. A new
 * table needs neither: a file without it gets it empty when opened (createMissingTables in migrations.ts).
 */
export const SCHEMA_VERSION = 9;

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

/** The column names a table has (empty when the table does not exist). */
export function tableColumns(db: Database, table: string): string[] {
  const result = db.exec(`PRAGMA table_info(${table})`);
  return result.length === 0 ? [] : result[0]!.values.map((row) => String(row[1]));
}
