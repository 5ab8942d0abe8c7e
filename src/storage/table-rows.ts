// A loaded snapshot database by scan, over the table registry: which rows belong to some scans (every
// table with a scan column, the live-response tables included), keeping only some scans' rows, and one
// scan's processes or rows of a live table read back in their declared types (fromSqlValue), so no reader
// decodes SQL values by hand or copies a row shape.
import type {Database} from 'sql.js';

import {fromSqlValue} from '../models/columns.js';
import {type ProcessRecord, rowToProcess} from '../models/process.js';
import type {LiveTableName, LiveTableRow} from '../models/live-tables.js';
import {heldTables, type ScanRecord} from '../models/scan.js';
import {TABLES, type TableDefinition, tableDefinition} from '../models/tables.js';
import {selectAll} from './database.js';
import {tableColumns} from './migrations.js';

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
export function readTableRows<T extends LiveTableName>(db: Database, scan: ScanRecord, table: T): LiveTableRow<T>[] | null {
  if (!heldTables([scan], [scan.id]).includes(table)) return null;
  const definition = tableDefinition(table) as TableDefinition;
  const columns = definition.columns;
  const statement = db.prepare(`SELECT ${columns.map((c) => c.name).join(', ')} FROM ${table} WHERE ${definition.scanColumn} = ? ORDER BY rowid`);
  try {
    statement.bind([scan.id]);
    const rows: LiveTableRow<T>[] = [];
    while (statement.step()) {
      const values = statement.get();
      const row: Record<string, unknown> = {};
      columns.forEach((column, i) => (row[column.name] = fromSqlValue(column, values[i])));
      rows.push(row as LiveTableRow<T>);
    }
    return rows;
  } finally {
    statement.free();
  }
}

/** The processes of one scan of a loaded snapshot, by pid. */
export function readScanProcesses(db: Database, scanId: number): ProcessRecord[] {
  return selectAll(db, 'SELECT * FROM processes WHERE scan_id = ? ORDER BY pid', [scanId]).map(rowToProcess);
}
