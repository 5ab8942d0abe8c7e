// Reading a saved snapshot applies the redaction policy again, by the same column kinds collection uses
// (TableDefinition.redaction, src/collect/redact.ts): a file saved with `scan --no-redact`, by an older version
// with a smaller policy, or by hand, shows no secret to `query`, `export`, `diff`, `scan --input`, `detect
// --input` or `ship` unless the reading command is told `--no-redact` too (docs/redaction.md, "Where").
//
// Cost: one pass over the declared columns of each table (for `processes`: argv, `ld_preload`, `ld_audit`),
// linear like the policy; a row is read whole and written back only when the policy changed one of its values.
import type {Database} from 'sql.js';

import {redactRow} from '../collect/redact.js';
import {fromSqlValue} from '../models/columns.js';
import {TABLES, type TableDefinition} from '../models/tables.js';
import {DEFAULT_REDACTOR, type ColumnRedaction, type ReadRedaction, type Redactor} from '../redaction/redact.js';
import {TimeSlicer} from '../util/interrupt.js';

export {READ_REDACTION_OFF, readRedaction, type ReadRedaction} from '../redaction/redact.js';

/** The default of every reader: the policy with its default words and tool flags. */
export const DEFAULT_READ_REDACTION: ReadRedaction = DEFAULT_REDACTOR;

/** A column the check reads for one declared redaction: the column itself, or for `holder.key` the flat `key` column when the table has one. */
interface Probe {
  /** The SQL column read. */
  readonly column: string;
  /** Where its value goes in the probe row: `column`, or `holder` (an object holding `key`). */
  readonly holder?: string;
  readonly key?: string;
}

function probesOf(table: TableDefinition, redaction: Readonly<Record<string, ColumnRedaction>>): Probe[] {
  const names = new Set(table.columns.map((c) => c.name));
  const probes: Probe[] = [];
  for (const [column, kind] of Object.entries(redaction)) {
    const dot = column.indexOf('.');
    if (dot < 0) {
      probes.push({column});
      if (typeof kind === 'object' && 'envNameColumn' in kind) probes.push({column: kind.envNameColumn});
      continue;
    }
    const holder = column.slice(0, dot);
    const key = column.slice(dot + 1);
    // A JSON column's key that is also a column of its own (platform_data.ld_preload → ld_preload) is read there:
    // no JSON object is parsed for a row that holds no secret.
    probes.push(names.has(key) ? {column: key, holder, key} : {column: holder});
  }
  return probes.filter((probe, index) => probes.findIndex((p) => p.column === probe.column) === index);
}

/**
 * Rowids of the rows of `table` one of whose declared values the policy would change, as SQLite's decimal
 * text: a file's rowids are 64-bit, and one past 2^53 would round as a JavaScript number and miss its row.
 */
async function rowsToRedact(
  db: Database,
  table: TableDefinition,
  redaction: Readonly<Record<string, ColumnRedaction>>,
  redactor: Redactor,
  slicer: TimeSlicer,
): Promise<string[]> {
  const probes = probesOf(table, redaction);
  const specs = new Map(table.columns.map((c) => [c.name, c]));
  const statement = db.prepare(`SELECT CAST(rowid AS TEXT), ${probes.map((p) => p.column).join(', ')} FROM ${table.name}`);
  const found: string[] = [];
  try {
    while (statement.step()) {
      if (slicer.due()) await slicer.pause();
      const values = statement.get();
      const row: Record<string, unknown> = {};
      probes.forEach((probe, index) => {
        const raw = values[index + 1];
        const spec = specs.get(probe.column);
        const value = spec === undefined ? raw : fromSqlValue(spec, raw);
        if (probe.holder === undefined) row[probe.column] = value;
        else row[probe.holder] = {...((row[probe.holder] as object | undefined) ?? {}), [probe.key as string]: value};
      });
      const before = JSON.stringify(row);
      redactRow(row, redaction, redactor);
      if (JSON.stringify(row) !== before) found.push(String(values[0]));
    }
  } finally {
    statement.free();
  }
  return found;
}

/** Rewrite one row: read as its record, redacted by the table's column kinds, written back with its derived columns. */
function redactStoredRow(db: Database, table: TableDefinition, rowid: string, redaction: Readonly<Record<string, ColumnRedaction>>, redactor: Redactor): void {
  const read = db.prepare(`SELECT ${table.recordColumns.map((c) => c.name).join(', ')} FROM ${table.name} WHERE rowid = ?`);
  let record: Record<string, unknown>;
  try {
    read.bind([rowid]);
    if (!read.step()) return;
    const values = read.get();
    record = Object.fromEntries(table.recordColumns.map((c, index) => [c.name, fromSqlValue(c, values[index])]));
  } finally {
    read.free();
  }
  redactRow(record, redaction, redactor);
  const row = table.toRow(record);
  db.run(`UPDATE ${table.name} SET ${table.columns.map((c) => `${c.name} = ?`).join(', ')} WHERE rowid = ?`, [...row, rowid]);
}

/**
 * True when the policy would change a row of `db` (redactSnapshotDatabase would write): a read-only pass, for a
 * database that must not be written (a snapshot read in place) unless it has to be.
 */
export async function needsRedaction(db: Database, redaction: ReadRedaction = DEFAULT_READ_REDACTION): Promise<boolean> {
  if (redaction === false) return false;
  const slicer = new TimeSlicer();
  for (const table of TABLES) {
    const columns = table.redaction;
    if (columns !== undefined && (await rowsToRedact(db, table, columns, redaction, slicer)).length > 0) return true;
  }
  return false;
}

/**
 * Apply the policy to every table of a loaded snapshot database that declares secret columns, in place (the
 * in-memory copy; the file is never written). Returns the number of rows changed. `false`: nothing is done.
 * Runs a slice at a time (src/util/interrupt.ts), so a signal is handled while a large file is redacted;
 * nothing else may use `db` meanwhile.
 */
export async function redactSnapshotDatabase(db: Database, redaction: ReadRedaction = DEFAULT_READ_REDACTION): Promise<number> {
  if (redaction === false) return 0;
  const slicer = new TimeSlicer();
  let changed = 0;
  for (const table of TABLES) {
    const columns = table.redaction;
    if (columns === undefined) continue;
    const rowids = await rowsToRedact(db, table, columns, redaction, slicer);
    if (rowids.length === 0) continue;
    db.exec('BEGIN');
    try {
      for (const rowid of rowids) {
        redactStoredRow(db, table, rowid, columns, redaction);
        if (slicer.due()) await slicer.pause();
      }
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
    changed += rowids.length;
  }
  return changed;
}
