// The table registry: every table of a snapshot database declared once. Storage (DDL, inserts, reads,
// keeping only some scans, store merging), the SQL validator's known tables and columns, docs/schema.md,
// `export --table`, `query`, rule test cases and live collection all iterate TABLES. A new live-response
// table is one entry of LIVE_TABLE_SCHEMAS (live-tables.ts), its parser in src/collect bound to it by one
// line of COLLECTORS (src/collect/live-tables.ts), and their tests (docs/architecture.md, "How to add a table").

import {DaemonEyeError} from '../errors.js';
import type {ColumnRedaction} from '../redaction/redact.js';
import {ALERT_TABLE_COLUMNS} from './alert.js';
import type {z} from 'zod';

import {type ColumnSpec, columnsOf, createTableSql, rowValues, type SqlRowValue} from './columns.js';
import {type CollectedRow, LIVE_TABLE_SCHEMAS, type LiveTableName, type LiveTableRow} from './live-tables.js';
import {DERIVED_PROCESS_COLUMNS, PLATFORM_DATA_COLUMNS, PROCESS_RECORD_COLUMNS, PROCESS_TABLE_COLUMNS, type ProcessRecord, processToRow} from './process.js';
import {SCAN_TABLE_COLUMNS} from './scan.js';

export type {SqlRowValue} from './columns.js';

/** One block of docs/schema.md: a lead-in sentence and the columns it describes. */
export interface TableDocSection {
  readonly intro: string;
  readonly columns: readonly ColumnSpec[];
}

/** A collected table's rows as the collectors produce them: plain objects keyed by column name. */
export type TableRow = Readonly<Record<string, unknown>>;

/**
 * A collected table as one flat array of SQL values, row after row in the registry's column order. For
 * tables of tens of thousands of small rows (memory maps), where an object per row would cost more than
 * reading the row from /proc.
 */
export interface FlatTableRows {
  readonly values: readonly SqlRowValue[];
  readonly rows: number;
}

/** What a collector hands storage for one table: row objects, or flat values. */
export type CollectedTable = readonly TableRow[] | FlatTableRows;

export function isFlatTableRows(table: CollectedTable): table is FlatTableRows {
  return !Array.isArray(table);
}

/** Rows a collected table holds. */
export function collectedRowCount(table: CollectedTable): number {
  return isFlatTableRows(table) ? table.rows : table.length;
}

/** A live table's collected rows (none when it was not collected), typed by its schema; flat values are a programming error here. */
export function collectedRows<T extends LiveTableName>(tables: Readonly<Record<string, CollectedTable>>, name: T): readonly CollectedRow<LiveTableRow<T>>[] {
  const table = tables[name];
  if (table === undefined) return [];
  if (isFlatTableRows(table)) throw new Error(`${name} was collected as flat values; read it through SQL`);
  return table as readonly CollectedRow<LiveTableRow<T>>[];
}

/** An index: one column, or the columns of a composite index in order. */
export type IndexSpec = string | readonly string[];

/** The columns of an index, in order. */
export function indexColumns(index: IndexSpec): readonly string[] {
  return typeof index === 'string' ? [index] : index;
}

/** An index's name: the table's name and its columns, joined by `_` (`processes_scan_id_pid`). */
export function indexName(table: string, index: IndexSpec): string {
  return [table, ...indexColumns(index)].join('_');
}

export interface TableDefinition {
  readonly name: string;
  /** One sentence for docs/schema.md and `export --help`. */
  readonly description: string;
  /** Every column of the SQL table, in order (types, nullability and docs come from the zod schema). */
  readonly columns: readonly ColumnSpec[];
  /** The record shape `export` prints (default: every column). */
  readonly recordColumns: readonly ColumnSpec[];
  readonly primaryKey?: string;
  /** The table's indexes: a column (`<table>_<column>`), or the columns of a composite index (`<table>_<a>_<b>`). */
  readonly indexes: readonly IndexSpec[];
  /** The column holding the scan id (`id` for `scans`); null for tables not tied to a scan. */
  readonly scanColumn: 'scan_id' | 'id' | null;
  /** ORDER BY of `export`. */
  readonly exportOrder: string;
  /**
   * True for the tables a scan collects from the host (`processes` and the live-response tables): a
   * snapshot records which of them each scan holds (`scans.tables`), and `scan --tables` chooses them.
   */
  readonly collected: boolean;
  /** Collected unless asked for: `processes` always; the others when a rule, a query or `scan --tables` needs them. */
  readonly alwaysCollected: boolean;
  /**
   * Rule test cases and hand-written fixtures: the values a partial row of this table gets for the columns
   * it leaves out (`scan_id` is always the case's scan). Absent for tables test cases cannot give.
   */
  readonly fixtureDefaults?: Readonly<Record<string, unknown>>;
  /**
   * The columns whose values may hold a secret, and their kind under the redaction policy (src/redaction):
   * a collector's rows pass through it before anything stores or prints them (src/collect/redact.ts). A
   * dotted name reaches into a JSON column (`platform_data.ld_preload`).
   */
  readonly redaction?: Readonly<Record<string, ColumnRedaction>>;
  /** The row's values in `columns` order. */
  readonly toRow: (row: unknown) => SqlRowValue[];
  readonly docSections: readonly TableDocSection[];
}

function liveTable(name: LiveTableName): TableDefinition {
  const declared = LIVE_TABLE_SCHEMAS[name];
  const columns = columnsOf(declared.schema as z.ZodObject);
  return {
    name,
    description: declared.description,
    columns,
    recordColumns: columns,
    indexes: declared.indexes,
    scanColumn: 'scan_id',
    exportOrder: 'scan_id, rowid',
    collected: true,
    alwaysCollected: false,
    fixtureDefaults: declared.fixtureDefaults,
    ...('redaction' in declared ? {redaction: declared.redaction} : {}),
    toRow: rowValues(columns),
    docSections: [{intro: declared.docIntro, columns}],
  };
}

const SCANS_DESCRIPTION = 'One row per scan: host facts, collection results and the tables the scan collected.';

export const SCANS_TABLE: TableDefinition = {
  name: 'scans',
  description: SCANS_DESCRIPTION,
  columns: SCAN_TABLE_COLUMNS,
  recordColumns: SCAN_TABLE_COLUMNS,
  primaryKey: 'id',
  indexes: [],
  scanColumn: 'id',
  exportOrder: 'start_time, id',
  collected: false,
  alwaysCollected: false,
  toRow: rowValues(SCAN_TABLE_COLUMNS),
  docSections: [{intro: SCANS_DESCRIPTION, columns: SCAN_TABLE_COLUMNS}],
};

export const PROCESSES_TABLE: TableDefinition = {
  name: 'processes',
  description: 'One row per process per scan.',
  columns: PROCESS_TABLE_COLUMNS,
  recordColumns: PROCESS_RECORD_COLUMNS,
  primaryKey: 'id',
  // (scan_id, pid) and (scan_id, ppid) serve the parent and child joins (a process's parent is the row of its
  // scan whose pid is its ppid): with scan_id alone SQLite read every row of the scan for each process.
  // (scan_id, mnt_ns) serves the rules that group processes by mount namespace.
  indexes: ['pid', 'ppid', 'name', 'executable_hash', ['scan_id', 'pid'], ['scan_id', 'ppid'], ['scan_id', 'mnt_ns']],
  scanColumn: 'scan_id',
  exportOrder: 'scan_id, rowid',
  collected: true,
  alwaysCollected: true,
  // `cmdline` is derived from `command_line` after redaction; `name` (comm, 15 bytes) holds no secret of a known shape.
  redaction: {command_line: 'argv', 'platform_data.ld_preload': {env: 'LD_PRELOAD'}, 'platform_data.ld_audit': {env: 'LD_AUDIT'}},
  toRow: (row) => processToRow(row as ProcessRecord),
  docSections: [
    {intro: 'One row per process per scan. The first columns are the `ProcessRecord` (the JSON record `scan` prints):', columns: PROCESS_RECORD_COLUMNS},
    {intro: 'Derived columns, for `LIKE`, `instr` and name comparisons in rules:', columns: DERIVED_PROCESS_COLUMNS},
    {
      intro: "The Linux collector's `platform_data` fields, each also a column of its own (null from other collectors):",
      columns: PLATFORM_DATA_COLUMNS,
    },
  ],
};

const ALERTS_DESCRIPTION = 'Filled by `detect --store`; the same shape `detect` prints.';

export const ALERTS_TABLE: TableDefinition = {
  name: 'alerts',
  description: ALERTS_DESCRIPTION,
  columns: ALERT_TABLE_COLUMNS,
  recordColumns: ALERT_TABLE_COLUMNS,
  primaryKey: 'id',
  indexes: ['scan_id', 'rule_id'],
  scanColumn: 'scan_id',
  exportOrder: 'alert_time, rowid',
  collected: false,
  alwaysCollected: false,
  toRow: rowValues(ALERT_TABLE_COLUMNS),
  docSections: [{intro: ALERTS_DESCRIPTION, columns: ALERT_TABLE_COLUMNS}],
};

/** Every table, in creation and documentation order. */
export const TABLES: readonly TableDefinition[] = [
  PROCESSES_TABLE,
  ...(Object.keys(LIVE_TABLE_SCHEMAS) as LiveTableName[]).map(liveTable),
  SCANS_TABLE,
  ALERTS_TABLE,
];

export const TABLE_NAMES: readonly string[] = TABLES.map((t) => t.name);

/** The tables a scan may collect from the host (`scan --tables`), `processes` first. */
export const COLLECTED_TABLE_NAMES: readonly string[] = TABLES.filter((t) => t.collected).map((t) => t.name);

const BY_NAME = new Map(TABLES.map((t) => [t.name, t]));

/** The definition of a table, or undefined for a name that is not one. */
export function tableDefinition(name: string): TableDefinition | undefined {
  return BY_NAME.get(name);
}

/** The column spec (SQL type, JSON or boolean shape, docs) of one column, or undefined. */
export function columnSpec(table: string, column: string): ColumnSpec | undefined {
  return BY_NAME.get(table)?.columns.find((c) => c.name === column);
}

/** `CREATE TABLE` and `CREATE INDEX` statements of one table. */
export function tableDdl(table: TableDefinition): string[] {
  return [
    createTableSql(table.name, table.columns, table.primaryKey),
    ...table.indexes.map((index) => `CREATE INDEX IF NOT EXISTS ${indexName(table.name, index)} ON ${table.name} (${indexColumns(index).join(', ')})`),
  ];
}

/**
 * Complete a partial row of a live-response table (rule test cases, fixtures): the table's fixture
 * defaults for what it leaves out, `scan_id` from the case. Unknown columns and a missing pid are errors,
 * so a typo in a test case cannot pass silently.
 */
export function completeTableRow(table: TableDefinition, partial: Readonly<Record<string, unknown>>, scanId: number): Record<string, unknown> {
  const known = new Set(table.columns.map((c) => c.name));
  const unknown = Object.keys(partial).filter((key) => !known.has(key));
  if (unknown.length > 0) {
    throw new DaemonEyeError('RECORD_INVALID', `unknown ${table.name} column${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, {
      hint: 'use the column names of docs/schema.md',
    });
  }
  if (known.has('pid') && typeof partial.pid !== 'number') throw new DaemonEyeError('RECORD_INVALID', `every ${table.name} row needs a numeric pid`);
  return {...table.fixtureDefaults, ...partial, scan_id: scanId};
}

/**
 * What makes a snapshot hold the host tables `missing` it lacks, as one clause for a hint. `collectors`: the
 * collectors of the scans that lack them (ScanRecord.collector); `live`: the snapshot is the one a live run
 * collects. The procfs collector collects any table when asked (`scan --tables`; a live run collects what its SQL
 * reads); the systeminformation collector reads processes only, so asking it for a table does nothing and the
 * advice is the collector that can.
 */
export function missingTablesAdvice(missing: readonly string[], collectors: readonly string[], live = false): string {
  const list = missing.join(',');
  if (collectors.includes('systeminformation')) {
    return live
      ? 'the systeminformation collector reads processes only: on Linux, set collection.collector to procfs or auto (DAEMONEYE_COLLECTION__COLLECTOR=procfs)'
      : `the systeminformation collector that took it reads processes only: on Linux, take it with \`scan --collector procfs --tables ${list}\` (or \`--tables all\`)`;
  }
  return `save it with \`scan --tables ${list}\` (or \`--tables all\`)`;
}
