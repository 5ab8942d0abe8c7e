// One shape per field, whatever the command: a value read from SQLite (a rule's or query's result row, a
// snapshot file's row) becomes the record's value through the column specs its table schema declares.
// Booleans are true/false (SQLite stores 0/1), JSON columns (command_line, platform_data, affected_processes,
// alert_data, errors) are arrays and objects (SQLite stores JSON text). CSV cells are the flat table columns
// with the same booleans and JSON as compact JSON text. docs/schema.md documents the shapes.
import {type ColumnSpec, fromSqlValue} from './columns.js';
import {TABLES} from './tables.js';

function byName(columns: readonly ColumnSpec[]): ReadonlyMap<string, ColumnSpec> {
  return new Map(columns.map((c) => [c.name, c]));
}

const TABLE_COLUMN_MAPS: ReadonlyMap<string, ReadonlyMap<string, ColumnSpec>> = new Map(TABLES.map((t) => [t.name, byName(t.columns)]));

/**
 * Every column name of every table whose stored form differs from its record form (booleans, JSON). A name
 * means the same kind of value in every table that has it (checked by test/models/serialise.test.ts), so a
 * query's result column can be typed by its name alone.
 */
const TYPED_COLUMNS: ReadonlyMap<string, ColumnSpec> = new Map(
  TABLES.flatMap((t) => t.columns)
    .filter((c) => c.boolean || c.json)
    .map((c) => [c.name, c]),
);

/** The record value of one stored value; JSON text that does not parse is kept as the text. */
function recordValue(column: ColumnSpec | undefined, value: unknown): unknown {
  if (column === undefined || value === null || value === undefined) return value ?? null;
  if (column.boolean) return typeof value === 'number' || typeof value === 'boolean' ? fromSqlValue(column, value) : value;
  if (column.json && typeof value === 'string') {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  }
  return value;
}

/**
 * A row of table `table` of the registry (src/models/tables.ts), as SQLite returns it, as its record:
 * booleans true/false, JSON columns parsed. Columns the table does not declare are kept as they are.
 */
export function serialiseRow(table: string, row: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const columns = TABLE_COLUMN_MAPS.get(table);
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(row)) out[name] = recordValue(columns?.get(name), value);
  return out;
}

/**
 * A result row of SQL over the snapshot tables (`query`, a rule's rows in `alert_data`): each column named
 * like a boolean or JSON column of a table takes that column's record shape; computed columns stay as SQL
 * returned them (an alias such as `SELECT file_exists AS fe` is not recognised: keep the column's name).
 */
export function serialiseResultRow(row: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(row)) out[name] = recordValue(TYPED_COLUMNS.get(name), value);
  return out;
}

/** CSV cells of a stored row of the given columns: booleans as true/false, JSON columns as their JSON text. */
export function csvCells(columns: readonly ColumnSpec[], values: readonly unknown[]): unknown[] {
  return columns.map((column, index) => {
    const value = values[index];
    if (value === null || value === undefined) return null;
    if (column.boolean) return value === 1 || value === true;
    return value;
  });
}
