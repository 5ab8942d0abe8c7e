// The fleet shape of a table: the registry's columns (src/models/tables.ts) plus the columns that say which host
// and when, so rows from thousands of hosts can sit in one table of a data lake or of ClickHouse. Parquet export
// (src/storage/parquet-export.ts) and ClickHouse (src/fleet/clickhouse-ddl.ts, the clickhouse sink) share it:
//   - `scans` has them already (`host_id`, `hostname`, `start_time`);
//   - `alerts` gets `host_id` and `hostname` from the alert's own `host` object; its time is `alert_time`;
//   - every other table gets `host_id`, `hostname` and `scan_time` (its scan's start, epoch ms) from its scan.
import type {ColumnSpec} from './columns.js';
import type {ScanRecord} from './scan.js';
import type {TableDefinition} from './tables.js';

const text = (name: string, nullable: boolean, description: string): ColumnSpec => ({
  name,
  sqlType: 'TEXT',
  nullable,
  json: false,
  boolean: false,
  description,
  docType: 'text',
});

export const HOST_ID_COLUMN = text('host_id', true, "The host's machine id (/etc/machine-id, 32 hex digits); null when the host has none");
export const HOSTNAME_COLUMN = text('hostname', false, 'The host name');
export const SCAN_TIME_COLUMN: ColumnSpec = {
  name: 'scan_time',
  sqlType: 'INTEGER',
  nullable: false,
  json: false,
  boolean: false,
  description: "When the row's scan started, epoch milliseconds",
  docType: 'integer',
};

/** The columns the fleet shape adds to a table (none for `scans`). */
export function fleetExtraColumns(table: Pick<TableDefinition, 'name'>): readonly ColumnSpec[] {
  if (table.name === 'scans') return [];
  if (table.name === 'alerts') return [HOST_ID_COLUMN, HOSTNAME_COLUMN];
  return [HOST_ID_COLUMN, HOSTNAME_COLUMN, SCAN_TIME_COLUMN];
}

/** Every column of a table's fleet shape, in order: the registry's, then the added ones. */
export function fleetColumns(table: Pick<TableDefinition, 'name' | 'columns'>): readonly ColumnSpec[] {
  return [...table.columns, ...fleetExtraColumns(table)];
}

/** The column holding a fleet row's time (epoch ms): what ClickHouse partitions by date and orders by. */
export function fleetTimeColumn(table: Pick<TableDefinition, 'name'>): string {
  if (table.name === 'scans') return 'start_time';
  if (table.name === 'alerts') return 'alert_time';
  return 'scan_time';
}

/** The values of the added columns for a row of `scan` (alerts: defaults, used when the alert names no host). */
export function fleetExtraValues(
  table: Pick<TableDefinition, 'name'>,
  scan: Pick<ScanRecord, 'host_id' | 'hostname' | 'start_time'>,
): (string | number | null)[] {
  if (table.name === 'scans') return [];
  if (table.name === 'alerts') return [scan.host_id ?? null, scan.hostname];
  return [scan.host_id ?? null, scan.hostname, scan.start_time];
}
