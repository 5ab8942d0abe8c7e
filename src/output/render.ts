// Renderers: records to JSON, NDJSON, CSV or a terminal table. Writers take a sink function so the
// same code serves stdout, files and tests.
import {type Paint, type Palette, PLAIN} from './colour.js';
import {safeJson, terminalSafe, truncate} from './terminal.js';

export type Write = (chunk: string) => void;

export function renderJson(value: unknown): string {
  return `${safeJson(value, 2)}\n`;
}

export function renderNdjsonLine(record: unknown): string {
  return `${safeJson(record)}\n`;
}

/**
 * One CSV field per RFC 4180: quoted when it holds a comma, quote, CR or LF; quotes doubled. For a terminal
 * (`terminal`), a CR or LF inside the field is written `\r` / `\n` instead: on a screen a quoted line break
 * cannot be told from the row's end, so a process could fake rows. Files and pipes keep RFC 4180 exactly.
 */
export function csvField(value: unknown, terminal = false): string {
  if (value === null || value === undefined) return '';
  const raw = typeof value === 'object' ? JSON.stringify(value) : String(value);
  const text = terminal ? raw.replace(/[\r\n]/g, (c) => (c === '\r' ? '\\r' : '\\n')) : raw;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV record ending in CR LF (RFC 4180); `terminal`: as csvField's. */
export function csvLine(values: readonly unknown[], terminal = false): string {
  return `${values.map((value) => csvField(value, terminal)).join(',')}\r\n`;
}

export interface TableColumn<T> {
  readonly header: string;
  readonly get: (row: T) => unknown;
  /** Maximum width; the last column may also be fitted to the terminal. */
  readonly width?: number;
  readonly align?: 'left' | 'right';
  /** Colour for a cell (src/output/colour.ts), applied to the cut, terminal-safe text after widths are measured. */
  readonly paint?: (row: T, palette: Palette) => Paint;
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * A plain-text table (no borders, like `ps`): cells are made terminal-safe and cut to their column
 * width; the last column is fitted to `terminalWidth` when given.
 */
export function renderTable<T>(rows: readonly T[], columns: readonly TableColumn<T>[], terminalWidth?: number, palette: Palette = PLAIN): string {
  return [...tableLines(rows, columns, terminalWidth, palette)].join('');
}

/** Rows a renderer handles between two empty pieces (a turn for the writer: src/output/write-pieces.ts). */
const ROWS_PER_TURN = 256;

/**
 * renderTable's text a line at a time (each ending in `\n`), with an empty piece every few hundred rows of
 * the passes that print nothing yet (the cells, then their widths), for a writer to give the event loop a turn.
 */
export function* tableLines<T>(
  rows: readonly T[],
  columns: readonly TableColumn<T>[],
  terminalWidth?: number,
  palette: Palette = PLAIN,
): Generator<string, void, undefined> {
  const cells: string[][] = [];
  for (const row of rows) {
    cells.push(columns.map((column) => terminalSafe(cellText(column.get(row)))));
    if (cells.length % ROWS_PER_TURN === 0) yield '';
  }
  // The longest value of each column, in code points (a loop: spreading 100,000 rows into Math.max overflows).
  const longest = columns.map((column) => column.header.length);
  for (let rowIndex = 0; rowIndex < cells.length; rowIndex++) {
    (cells[rowIndex] ?? []).forEach((cell, index) => {
      const length = [...cell].length;
      if (length > (longest[index] ?? 0)) longest[index] = length;
    });
    if ((rowIndex + 1) % ROWS_PER_TURN === 0) yield '';
  }
  const widths = columns.map((column, index) => {
    const width = longest[index] ?? 0;
    // A column's width caps it on a terminal; written to a file or a pipe, every value is whole.
    return column.width === undefined || terminalWidth === undefined ? width : Math.min(width, column.width);
  });
  if (terminalWidth !== undefined && widths.length > 0) {
    const fixed = widths.slice(0, -1).reduce((sum, width) => sum + width + 2, 0);
    const last = widths.length - 1;
    widths[last] = Math.max(columns[last]?.header.length ?? 0, Math.min(widths[last] ?? 0, terminalWidth - fixed));
  }
  const line = (values: readonly string[], row?: T): string =>
    values
      .map((value, index) => {
        const width = widths[index] ?? 0;
        const plain = truncate(value, width);
        const pad = ' '.repeat(Math.max(0, width - [...plain].length));
        const paint = row === undefined ? undefined : columns[index]?.paint?.(row, palette);
        const cut = paint === undefined ? plain : paint(plain);
        if (index === values.length - 1 && columns[index]?.align !== 'right') return cut;
        return columns[index]?.align === 'right' ? pad + cut : cut + pad;
      })
      .join('  ')
      .trimEnd();
  yield `${line(columns.map((c) => c.header))}\n`;
  for (let index = 0; index < cells.length; index++) yield `${line(cells[index] ?? [], rows[index])}\n`;
}

/** Key/value pairs as aligned lines, for report commands on a terminal. */
export function renderKeyValues(pairs: readonly (readonly [string, unknown])[]): string {
  const width = Math.max(0, ...pairs.map(([key]) => key.length));
  return pairs.map(([key, value]) => `${key.padEnd(width)}  ${terminalSafe(cellText(value))}\n`).join('');
}
