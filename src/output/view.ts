// The one `--format` dispatch of every command. A command's library call returns its result; the command
// describes it once as a View (its rows, and what each format needs), and renderView turns it into the text
// of the chosen format. Adding a format is one branch here; adding a command is one View.
import type {Palette} from './colour.js';
import {PLAIN} from './colour.js';
import type {OutputFormat} from './format.js';
import {csvLine, renderJson, renderKeyValues, renderNdjsonLine, renderTable, type TableColumn} from './render.js';

/**
 * What a command prints, format by format.
 * - `ndjson`: one line per row (a single-object result is one row).
 * - `json`: `document` when given, else the rows as one array (or the single object when `single`).
 * - `table`: `columns` over the rows; else `keyValues` (one object as aligned key/value lines); else `text`.
 * - `csv`: `csv` (header and values per row, flat cells only).
 * - `text` (and any other human format, e.g. `junit`): `text`, a renderer of the whole result.
 */
export interface View<Row> {
  readonly rows: readonly Row[];
  /** The result is one object (rows has exactly one element): json prints it alone, not in an array. */
  readonly single?: boolean;
  /** What `--format json` prints instead of the rows (e.g. `{alerts, summary}`). */
  readonly document?: unknown;
  readonly columns?: readonly TableColumn<Row>[];
  readonly keyValues?: (row: Row) => readonly (readonly [string, unknown])[];
  readonly csv?: {readonly header: readonly string[]; readonly values: (row: Row) => readonly unknown[]};
  /** Renderers of the whole result by format name, for formats that are neither JSON nor tabular (`text`, `junit`, …). */
  readonly text?: Readonly<Record<string, (rows: readonly Row[], terminal: Terminal) => string>>;
  /** Loads what the renderer of `format` needs (code only some formats use, e.g. ECS/OCSF); awaited before renderView. */
  readonly prepare?: (format: string) => Promise<void>;
}

/** The terminal the output goes to: its width (undefined when not a terminal) and colours. */
export interface Terminal {
  readonly width?: number;
  readonly palette: Palette;
  /** The output goes to a terminal: CSV cells show a CR or LF as `\r` / `\n` (src/output/render.ts, csvField). */
  readonly tty?: boolean;
}

/**
 * The text of `view` in `format`. Throws an Error for a format the view cannot render (a programming
 * error: each command offers only the formats its view supports; the test of every command checks them).
 */
export function renderView<Row>(format: OutputFormat | string, view: View<Row>, terminal: Terminal = {palette: PLAIN}): string {
  switch (format) {
    case 'ndjson':
      return view.rows.map((row) => renderNdjsonLine(row)).join('');
    case 'json':
      return renderJson(view.document !== undefined ? view.document : view.single === true ? view.rows[0] : view.rows);
    case 'csv':
      if (view.csv === undefined) break;
      return csvLine(view.csv.header, terminal.tty) + view.rows.map((row) => csvLine(view.csv?.values(row) ?? [], terminal.tty)).join('');
    case 'table':
      if (view.columns !== undefined) return renderTable(view.rows, view.columns, terminal.width, terminal.palette);
      if (view.keyValues !== undefined) return view.rows.map((row) => renderKeyValues(view.keyValues?.(row) ?? [])).join('\n');
      if (view.text?.table !== undefined) return view.text.table(view.rows, terminal);
      break;
    default:
      break;
  }
  const custom = view.text?.[format];
  if (custom !== undefined) return custom(view.rows, terminal);
  throw new Error(`format ${format} is not offered by this output`);
}

/** The formats a view can render, in the order of `OUTPUT_FORMATS` then its own (for flags and tests). */
export function viewFormats(view: View<unknown>): string[] {
  const formats = ['json', 'ndjson'];
  if (view.columns !== undefined || view.keyValues !== undefined || view.text?.table !== undefined) formats.push('table');
  if (view.csv !== undefined) formats.push('csv');
  for (const name of Object.keys(view.text ?? {})) if (!formats.includes(name)) formats.push(name);
  return formats;
}

/**
 * A single-object result (a report, a key pair, a signature): one NDJSON line, the object as JSON, and
 * key/value lines on a terminal (`pairs`, default every field).
 */
export function objectView<T extends object>(value: T, pairs?: (value: T) => readonly (readonly [string, unknown])[]): View<T> {
  return {rows: [value], single: true, keyValues: pairs ?? ((v) => Object.entries(v))};
}
