// A loaded snapshot database by scan, over the table registry: which rows belong to some scans (every
// table with a scan column, the live-response tables included), keeping only some scans' rows, and one
// scan's processes or rows of a live table read back in their declared types (fromSqlValue), so no reader
// decodes SQL values by hand or copies a row shape.
import type {Database, SqlValue} from 'sql.js';

import {fromSqlValue} from '../models/columns.js';
import {PROCESS_RECORD_COLUMNS, type ProcessRecord, rowToProcess} from '../models/process.js';
import type {LiveTableName, LiveTableRow} from '../models/live-tables.js';
import {heldTables, type ScanRecord} from '../models/scan.js';
import {TABLES, type TableDefinition, tableDefinition} from '../models/tables.js';
import {TimeSlicer} from '../util/interrupt.js';
import {tableColumns} from './database.js';

/** The scan ids as a SQL list of integers (they come from `scans.id`, but are checked, never trusted). */
function idList(scanIds: readonly number[]): string {
  return scanIds
    .map((id) => {
      if (!Number.isSafeInteger(id)) throw new Error(`scan id ${String(id)} is not an integer`);
      return String(id);
    })
    .join(', ');
}

/**
 * `WHERE` of a table's rows that belong to the given scans, or null for a table not tied to a scan. Rows
 * with no scan (an alert of no scan) belong to none.
 */
export function scanRowsWhere(table: Pick<TableDefinition, 'scanColumn'>, scanIds: readonly number[]): string | null {
  return table.scanColumn === null ? null : `WHERE ${table.scanColumn} IN (${idList(scanIds)})`;
}

/**
 * Keep only the given scans in an in-memory snapshot database: every registry table tied to a scan loses
 * the rows of other scans (`processes`, the live-response tables, `scans`, `alerts`; an alert of no scan
 * stays). The one "keep only these scans": a multi-scan file narrowed to one scan must not keep other
 * scans' sockets or libraries beside it.
 */
export function keepOnlyScans(db: Database, scanIds: readonly number[]): void {
  const list = idList(scanIds);
  for (const table of TABLES) {
    if (table.scanColumn === null || tableColumns(db, table.name).length === 0) continue;
    db.run(`DELETE FROM ${table.name} WHERE ${table.scanColumn} IS NOT NULL AND ${table.scanColumn} NOT IN (${list})`);
  }
}

/**
 * One scan's rows of a live-response table, typed by its schema (booleans and JSON back to their record
 * values through fromSqlValue), in the order they were collected; null when the scan did not collect the
 * table (heldTables), which is not the same as collecting it and finding nothing.
 */
export async function readTableRows<T extends LiveTableName>(db: Database, scan: ScanRecord, table: T): Promise<LiveTableRow<T>[] | null> {
  if (!heldTables([scan], [scan.id]).includes(table)) return null;
  const definition = tableDefinition(table) as TableDefinition;
  const columns = definition.columns;
  return sliced(db, `SELECT ${columns.map((c) => c.name).join(', ')} FROM ${table} WHERE ${definition.scanColumn} = ? ORDER BY rowid`, [scan.id], (values) => {
    const row: Record<string, unknown> = {};
    columns.forEach((column, i) => (row[column.name] = fromSqlValue(column, values[i])));
    return row as LiveTableRow<T>;
  });
}

/** The processes of one scan of a loaded snapshot, by pid. */
export async function readScanProcesses(db: Database, scanId: number): Promise<ProcessRecord[]> {
  const columns = PROCESS_RECORD_COLUMNS.map((c) => c.name);
  return sliced(db, `SELECT ${columns.join(', ')} FROM processes WHERE scan_id = ? ORDER BY pid`, [scanId], (values) =>
    rowToProcess(Object.fromEntries(columns.map((name, i) => [name, values[i]]))),
  );
}

/**
 * Every row of a query turned into a value by `make`, a slice at a time (src/util/interrupt.ts): a file may
 * hold any number of rows, and a signal is handled meanwhile. Nothing else may use `db` until it resolves.
 */
async function sliced<T>(db: Database, sql: string, params: (string | number)[], make: (values: SqlValue[]) => T): Promise<T[]> {
  const slicer = new TimeSlicer();
  const statement = db.prepare(sql);
  try {
    statement.bind(params);
    const out: T[] = [];
    while (statement.step()) {
      out.push(make(statement.get()));
      if (slicer.due()) await slicer.pause();
    }
    return out;
  } finally {
    statement.free();
  }
}
