// The snapshot database: the schema (DDL derived from the models) and bulk inserts, over the sql.js module
// that sqljs.ts loads once per thread. Snapshot files, the event store, the detection engine and `query` all
// build on this module, so the tables are defined in exactly one place.
import type {Database} from 'sql.js';

import {ALERT_TABLE_COLUMNS, type Alert} from '../models/alert.js';
import {type ColumnSpec, createTableSql, toSqlValue} from '../models/columns.js';
import {PROCESS_TABLE_COLUMNS, type ProcessRecord, processToRow} from '../models/process.js';
import {SCAN_TABLE_COLUMNS, type ScanRecord} from '../models/scan.js';
import {TOOL_VERSION} from '../version.js';
import {loadSqlJs} from './sqljs.js';

export {loadSqlJs} from './sqljs.js';

/** Version of the snapshot file layout; bump it (and add a migration) whenever a table changes. */
export const SCHEMA_VERSION = 2;

export const TABLES = ['meta', 'scans', 'processes', 'alerts'] as const;

export const PROCESS_INDEXES = ['pid', 'ppid', 'name', 'executable_hash', 'scan_id'] as const;

/** The DDL of an empty snapshot database, in order. */
export function schemaStatements(): string[] {
  return [
    'CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)',
    createTableSql('scans', SCAN_TABLE_COLUMNS, 'id'),
    createTableSql('processes', PROCESS_TABLE_COLUMNS, 'id'),
    ...PROCESS_INDEXES.map((column) => `CREATE INDEX processes_${column} ON processes (${column})`),
    createTableSql('alerts', ALERT_TABLE_COLUMNS, 'id'),
    'CREATE INDEX alerts_scan_id ON alerts (scan_id)',
    'CREATE INDEX alerts_rule_id ON alerts (rule_id)',
  ];
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

function insertAll<T>(db: Database, table: string, columns: readonly ColumnSpec[], rows: readonly T[], toRow: (row: T) => (string | number | null)[]): void {
  if (rows.length === 0) return;
  const statement = db.prepare(`INSERT INTO ${table} (${columns.map((c) => c.name).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
  db.exec('BEGIN');
  try {
    for (const row of rows) statement.run(toRow(row));
    db.exec('COMMIT');
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  } finally {
    statement.free();
  }
}

export function insertProcesses(db: Database, records: readonly ProcessRecord[]): void {
  insertAll(db, 'processes', PROCESS_TABLE_COLUMNS, records, processToRow);
}

export function insertScan(db: Database, scan: ScanRecord): void {
  insertAll(db, 'scans', SCAN_TABLE_COLUMNS, [scan], (s) => SCAN_TABLE_COLUMNS.map((c) => toSqlValue(c, (s as Record<string, unknown>)[c.name])));
}

export function insertAlerts(db: Database, alerts: readonly Alert[]): void {
  insertAll(db, 'alerts', ALERT_TABLE_COLUMNS, alerts, (a) => ALERT_TABLE_COLUMNS.map((c) => toSqlValue(c, (a as Record<string, unknown>)[c.name])));
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
