// Every collected table passes through the redaction policy (src/redaction) by the kind of each of its columns,
// as the table registry declares them (TableDefinition.redaction): argv, environment values, URLs, free text.
// One place, after every collector and before anything stores, evaluates or prints a row, so a new collector or
// table is redacted by declaring its columns' kinds, never by remembering to call a function.
import {isFlatTableRows, type CollectedTable, type TableDefinition, type TableRow} from '../models/tables.js';
import {type ColumnRedaction, Redactor, type RedactionPolicyOptions} from '../redaction/redact.js';

export type {RedactionPolicyOptions as RedactionOptions} from '../redaction/redact.js';

/** A compiled policy for one scan (collection.redaction: its words and tool flags). */
export function collectionRedactor(options: RedactionPolicyOptions): Redactor {
  return new Redactor(options);
}

/** One value of a column of `kind`; `column` reads another column of its row (an environment value's name). */
function redactValue(value: unknown, kind: ColumnRedaction, column: (name: string) => unknown, redactor: Redactor): unknown {
  if (kind === 'argv') return Array.isArray(value) ? redactor.argv(value.map(String)) : typeof value === 'string' ? redactor.value('argv', value) : value;
  if (typeof value !== 'string') return value;
  if (kind === 'text' || kind === 'url') return redactor.value(kind, value);
  return redactor.env('env' in kind ? kind.env : String(column(kind.envNameColumn) ?? ''), value);
}

/** Redact one row object in place: each declared column (a dotted name reaches into a JSON object column). */
export function redactRow(row: Record<string, unknown>, columns: Readonly<Record<string, ColumnRedaction>>, redactor: Redactor): void {
  for (const [column, kind] of Object.entries(columns)) {
    const dot = column.indexOf('.');
    if (dot < 0) {
      if (row[column] !== undefined && row[column] !== null) row[column] = redactValue(row[column], kind, (name) => row[name], redactor);
      continue;
    }
    const holder = row[column.slice(0, dot)];
    if (holder === null || typeof holder !== 'object' || Array.isArray(holder)) continue;
    const inner = holder as Record<string, unknown>;
    const key = column.slice(dot + 1);
    if (inner[key] !== undefined && inner[key] !== null) inner[key] = redactValue(inner[key], kind, (name) => inner[name], redactor);
  }
}

/**
 * Redact a collected table in place by its definition's column kinds: row objects, or flat values (column
 * by column in the definition's order). A table without secret columns is left as it is, at no cost.
 */
export function redactCollectedTable(definition: TableDefinition, table: CollectedTable | readonly object[], redactor: Redactor): void {
  const columns = definition.redaction;
  if (columns === undefined) return;
  if (isFlatTableRows(table as CollectedTable)) {
    const flat = table as {values: unknown[]; rows: number};
    const width = definition.columns.length;
    const names = definition.columns.map((c) => c.name);
    for (const [column, kind] of Object.entries(columns)) {
      const index = names.indexOf(column);
      if (index < 0) continue;
      for (let row = 0; row < flat.rows; row++) {
        const column = (name: string): unknown => flat.values[row * width + names.indexOf(name)];
        flat.values[row * width + index] = redactValue(flat.values[row * width + index], kind, column, redactor);
      }
    }
    return;
  }
  for (const row of table as readonly TableRow[]) redactRow(row as Record<string, unknown>, columns, redactor);
}
