// Bulk inserts into a sql.js database, one batched INSERT loop for both shapes collectors hand over: row
// objects converted by a table's `toRow`, or one flat array of values (tens of thousands of memory-map rows,
// where an object per row costs more than reading it from /proc). Collected rows carry no scan id: the
// insert stamps it (`stamp`), so a collector never needs to know which snapshot it fills.
import type {Database} from 'sql.js';

import type {SqlRowValue} from '../models/columns.js';
import {prepareRawInsert} from './raw-insert.js';
import type {SqlJsInstance} from './sqljs.js';

/** What an insert needs of a table (the registry's TableDefinition has it all). */
export interface InsertTarget {
  readonly name: string;
  /** Every column, in the order `toRow` returns their values. */
  readonly columns: readonly {readonly name: string}[];
  readonly toRow: (row: unknown) => SqlRowValue[];
}

/**
 * Rows per INSERT statement: each statement call crosses into the wasm module once, so binding many rows at
 * a time is several times faster for tables of small rows (memory maps: tens of thousands per scan). Kept
 * under SQLite's 32,766 bound parameters for the widest table.
 */
const ROWS_PER_INSERT = 64;

/** A column every inserted row gets the same value in (the scan id of a scan's collected rows); a safe integer. */
export interface Stamp {
  readonly column: string;
  readonly value: number;
}

/** Insert rows into one table in one transaction, each row converted by the table's `toRow` (which then leaves out the stamped column). */
export function insertRows(db: Database, table: InsertTarget, rows: readonly unknown[], stamp?: Stamp): void {
  insertBatches(db, table.name, table.columns, rows.length, stamp, (from, to) => {
    const values: SqlRowValue[] = [];
    for (let i = from; i < to; i++) values.push(...table.toRow(rows[i]));
    return values;
  });
}

/**
 * Insert rows given as one flat array of values (row after row, each in `columns` order) in one
 * transaction: for collectors that produce values directly rather than one object per row.
 * `instance`: the sql.js instance `db` belongs to when it is not this thread's loadSqlJs module (the C API
 * path needs its exports and memory). Throws when the array is not a whole number of rows.
 */
export function insertFlatRows(
  db: Database,
  table: Pick<InsertTarget, 'name' | 'columns'>,
  values: readonly SqlRowValue[],
  stamp?: Stamp,
  instance?: SqlJsInstance,
): void {
  const width = table.columns.length;
  if (values.length % width !== 0) throw new Error(`${values.length} values are not whole rows of ${table.name} (${width} columns)`);
  insertBatches(db, table.name, table.columns, values.length / width, stamp, (from, to) => values.slice(from * width, to * width), instance);
}

/** The batched INSERT behind insertRows and insertFlatRows: `batchValues(from, to)` gives rows [from, to). */
function insertBatches(
  db: Database,
  name: string,
  columns: InsertTarget['columns'],
  rowCount: number,
  stamp: Stamp | undefined,
  batchValues: (from: number, to: number) => SqlRowValue[],
  instance?: SqlJsInstance,
): void {
  if (rowCount === 0) return;
  if (stamp !== undefined && !Number.isSafeInteger(stamp.value)) throw new Error(`${stamp.column} ${stamp.value} is not an integer`);
  // The stamp is a literal of the statement, not a bound value per row.
  const names = [...(stamp === undefined ? [] : [stamp.column]), ...columns.map((c) => c.name)];
  const tuple = `(${[...(stamp === undefined ? [] : [String(stamp.value)]), ...columns.map(() => '?')].join(', ')})`;
  const sql = (count: number): string => `INSERT INTO ${name} (${names.join(', ')}) VALUES ${Array(count).fill(tuple).join(', ')}`;
  const batch = Math.max(1, Math.min(ROWS_PER_INSERT, Math.floor(32_000 / columns.length)));
  const full = rowCount >= batch ? prepare(db, sql(batch), instance) : undefined;
  try {
    inTransaction(db, () => {
      let index = 0;
      if (full !== undefined) for (; index + batch <= rowCount; index += batch) full.run(batchValues(index, index + batch));
      if (index < rowCount) {
        const rest = prepare(db, sql(rowCount - index), instance);
        try {
          rest.run(batchValues(index, rowCount));
        } finally {
          rest.free();
        }
      }
    });
  } finally {
    full?.free();
  }
}

/** An INSERT bound through SQLite's C API (raw-insert.ts) when `db` is `instance`'s (default this thread's sql.js), else sql.js's Statement. */
function prepare(db: Database, sql: string, instance: SqlJsInstance | undefined): {run(values: SqlRowValue[]): unknown; free(): unknown} {
  return prepareRawInsert(db, sql, instance) ?? db.prepare(sql);
}

/**
 * Run `work` in one transaction: committed when it returns, rolled back when it throws (the error is
 * rethrown). A SAVEPOINT, so it nests: inside a caller's transaction it commits with that transaction.
 */
export function inTransaction<T>(db: Database, work: () => T): T {
  db.exec('SAVEPOINT daemoneye_work');
  try {
    const result = work();
    db.exec('RELEASE daemoneye_work');
    return result;
  } catch (error) {
    db.exec('ROLLBACK TO daemoneye_work; RELEASE daemoneye_work');
    throw error;
  }
}
