// Reading a loaded snapshot's rows in the fleet shape (src/models/fleet-table.ts): one scan's rows of one table,
// as SQL values in fleetColumns order, each with its host and time. Parquet export and the ClickHouse shipper
// read through here, so both write the same columns with the same values.
import type {Database} from 'sql.js';

import type {SqlRowValue} from '../models/columns.js';
import {fleetExtraValues} from '../models/fleet-table.js';
import type {ScanRecord} from '../models/scan.js';
import type {TableDefinition} from '../models/tables.js';

/**
 * Each row of `table` that belongs to `scan`, in the table's export order, as SQL values in fleetColumns
 * order (booleans 0/1, JSON columns as JSON text). Alerts take `host_id`/`hostname` from their own `host`
 * object when it names one, else the scan's.
 */
export function* fleetRowsOfScan(db: Database, table: TableDefinition, scan: ScanRecord): Generator<SqlRowValue[]> {
  const scanColumn = table.scanColumn ?? 'scan_id';
  const names = table.columns.map((c) => c.name);
  const extra = fleetExtraValues(table, scan);
  const hostSql = table.name === 'alerts' ? ", json_extract(host, '$.id'), json_extract(host, '$.hostname')" : '';
  const statement = db.prepare(`SELECT ${names.join(', ')}${hostSql} FROM ${table.name} WHERE ${scanColumn} = ? ORDER BY ${table.exportOrder}`);
  try {
    statement.bind([scan.id]);
    const width = names.length;
    while (statement.step()) {
      const values = statement.get() as SqlRowValue[];
      if (table.name !== 'alerts') {
        yield extra.length === 0 ? values : [...values, ...extra];
        continue;
      }
      const hostname = values[width + 1];
      const own = typeof hostname === 'string' && hostname !== '';
      yield [...values.slice(0, width), own ? (values[width] ?? null) : (extra[0] ?? null), own ? hostname : (extra[1] ?? null)];
    }
  } finally {
    statement.free();
  }
}

/** Alerts of a snapshot not tied to a scan (no host or date to file them under). */
export function unscannedAlertCount(db: Database): number {
  const result = db.exec('SELECT count(*) FROM alerts WHERE scan_id IS NULL');
  return Number(result[0]?.values[0]?.[0] ?? 0);
}
