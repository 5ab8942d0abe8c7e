// The one `--format` dispatch of every command. A command's library call returns its result; the command
// describes it once as a View (its rows, and what each format needs), and renderViewPieces turns it into the
// text of the chosen format, a piece at a time (a row, a line, a run of JSON tokens) so the writer
// (src/output/write-pieces.ts) can write as it goes and give a signal its turn. Adding a format is one branch
// here; adding a command is one View.
import type {Palette} from './colour.js';
import {PLAIN} from './colour.js';
import type {OutputFormat} from './format.js';
import {jsonPieces} from './json-pieces.js';
import {csvLine, renderKeyValues, type TableColumn, tableLines} from './render.js';
import {escapeJsonText} from './terminal.js';

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
  /**
   * Renderers of the whole result by format name, for formats that are neither JSON nor tabular (`text`,
   * `junit`, …): the text, or its pieces (a generator of a line per row), which a large result should be.
   */
  readonly text?: Readonly<Record<string, (rows: readonly Row[], terminal: Terminal) => string | Iterable<string>>>;
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
 * The text of `view` in `format` (renderViewPieces joined). Throws an Error for a format the view cannot render
 * (a programming error: each command offers only the formats its view supports; the test of every command
 * checks them).
 */
export function renderView<Row>(format: OutputFormat | string, view: View<Row>, terminal: Terminal = {palette: PLAIN}): string {
  return [...renderViewPieces(format, view, terminal)].join('');
}

/** Rows rendered between two turns when a row is one piece each. */
const ROWS_PER_TURN = 256;

/** JSON text as safeJson writes it (src/output/terminal.ts), in pieces that each end between two tokens. */
function* safeJsonPieces(value: unknown, indent?: number): Generator<string, void, undefined> {
  for (const piece of jsonPieces(value, indent)) yield escapeJsonText(piece);
}

/**
 * The text of `view` in `format`, a piece at a time: JSON tokens, an NDJSON line, a CSV record or a table line
 * each a piece (or several), and the empty piece now and then where a pass prints nothing yet; the pieces
 * joined are the whole text. Every piece ends a line or sits between two JSON tokens, so a writer may make
 * any join of them terminal-safe on its own. Throws as renderView, before the first piece.
 */
export function renderViewPieces<Row>(format: OutputFormat | string, view: View<Row>, terminal: Terminal = {palette: PLAIN}): Iterable<string> {
  switch (format) {
    case 'ndjson':
      return ndjsonPieces(view.rows);
    case 'json':
      return jsonDocumentPieces(view.document !== undefined ? view.document : view.single === true ? view.rows[0] : view.rows);
    case 'csv':
      if (view.csv === undefined) break;
      return csvPieces(view.rows, view.csv, terminal.tty);
    case 'table':
      if (view.columns !== undefined) return tableLines(view.rows, view.columns, terminal.width, terminal.palette);
      if (view.keyValues !== undefined) return keyValuePieces(view.rows, view.keyValues);
      if (view.text?.table !== undefined) return textPieces(view.text.table(view.rows, terminal));
      break;
    default:
      break;
  }
  const custom = view.text?.[format];
  if (custom !== undefined) return textPieces(custom(view.rows, terminal));
  throw new Error(`format ${format} is not offered by this output`);
}

function* ndjsonPieces(rows: readonly unknown[]): Generator<string, void, undefined> {
  for (const row of rows) {
    yield* safeJsonPieces(row);
    yield '\n';
  }
}

function* jsonDocumentPieces(value: unknown): Generator<string, void, undefined> {
  yield* safeJsonPieces(value, 2);
  yield '\n';
}

function* csvPieces<Row>(rows: readonly Row[], csv: NonNullable<View<Row>['csv']>, tty: boolean | undefined): Generator<string, void, undefined> {
  yield csvLine(csv.header, tty);
  for (const row of rows) yield csvLine(csv.values(row), tty);
}

function* keyValuePieces<Row>(rows: readonly Row[], pairs: NonNullable<View<Row>['keyValues']>): Generator<string, void, undefined> {
  for (let index = 0; index < rows.length; index++) yield `${index === 0 ? '' : '\n'}${renderKeyValues(pairs(rows[index] as Row))}`;
}

/** A custom renderer's result as pieces: its text whole, or its own pieces. */
function textPieces(text: string | Iterable<string>): Iterable<string> {
  return typeof text === 'string' ? [text] : text;
}

/**
 * A renderer of a format with one piece per row (`render(row)`: an NDJSON line, a text line): for View.text.
 * `rows` may be filtered first (`keep`).
 */
export function* rowPieces<Row>(rows: readonly Row[], render: (row: Row) => string, keep?: (row: Row) => boolean): Generator<string, void, undefined> {
  let since = 0;
  for (const row of rows) {
    if (keep === undefined || keep(row)) yield render(row);
    else if (++since % ROWS_PER_TURN === 0) yield '';
  }
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
