// Export: the rows of one table of the registry (src/models/tables.ts) of a snapshot file or store, filtered,
// as NDJSON, JSON or CSV, streamed file by file to stdout or atomically to a file (a device or FIFO written
// through: src/util/output-file.ts), each row with its scan's host (a `host` object; CSV: `host_id`, `hostname`
// columns). Records keep the models'
// shapes (ProcessRecord, ScanRecord, Alert, …), so an export reads like the command that produced the data.
import type {Database, SqlValue} from 'sql.js';

import {DaemonEyeError} from '../errors.js';
import type {ColumnSpec} from '../models/columns.js';
import {csvCells} from '../models/serialise.js';
import {missingTablesAdvice, type TableDefinition, TABLE_NAMES, tableDefinition} from '../models/tables.js';
import type {Alert} from '../models/alert.js';
import {type Host, hostOfScan} from '../models/host.js';
import {alertDocument, loadEcsOcsf} from '../output/alert-formats.js';
import {ecsProcessEvent} from '../output/ecs.js';
import {PROCESS_FACT_COLUMNS} from '../output/process-facts.js';
import {ocsfEvidenceInfo} from '../output/ocsf.js';
import type {ScanRecord} from '../models/scan.js';
import {csvLine} from '../output/render.js';
import {escapeJsonText, safeJson, TERMINAL_TEXT, terminalOutput} from '../output/terminal.js';
import {settleRun, TimeSlicer} from '../util/interrupt.js';
import {OutputFileWriter} from '../util/output-file.js';
import {ChunkedWriter, OutputClosed, stdoutWriter} from '../output/write-pieces.js';
import {openSnapshotInput, rangeReadOptions, requireSnapshotsInRange, type SnapshotInRange} from './input.js';
import type {ReadRedaction} from './redact-snapshot.js';
import type {SnapshotLimits} from './snapshot-file.js';

/** Every table of the registry can be exported. */
export const EXPORT_TABLES: readonly string[] = TABLE_NAMES;
export type ExportTable = string;
export const EXPORT_FORMATS = ['ndjson', 'json', 'csv', 'ecs', 'ocsf'] as const;
/** The tables `--format ecs` and `--format ocsf` map (process state events / Live Evidence Info; alert events / Detection Findings). */
export const SCHEMA_EXPORT_TABLES: readonly string[] = ['processes', 'alerts'];
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** What to export (the reference API's ExportConfig, plus the table and filters of `daemoneye export`). */
export interface ExportConfig {
  /** A snapshot file or a store directory. */
  readonly input: string;
  readonly table?: ExportTable;
  readonly format?: ExportFormat;
  /** Scans that started at or after this time (epoch ms). */
  readonly since?: number;
  /** Scans that started at or before this time (epoch ms). */
  readonly until?: number;
  /** Processes with this pid; for alerts: alerts whose affected_processes include it. */
  readonly pid?: number;
  /** Processes with this name (exact). */
  readonly name?: string;
  readonly scanId?: number;
  /** Write here atomically instead of to `write`. */
  readonly outputPath?: string;
  /** Limits on each file read (`storage.max_snapshot_mb`); the default when absent. */
  readonly limits?: SnapshotLimits;
  /** The redaction policy applied to what is read (src/storage/redact-snapshot.ts): default policy when absent; false shows data as stored. */
  readonly redaction?: ReadRedaction;
}

/** The facts of an export worth reporting and auditing. */
export interface ExportResult {
  readonly table: ExportTable;
  readonly format: ExportFormat;
  readonly rows: number;
  /** Snapshot files that contributed rows or were read. */
  readonly filesRead: number;
  readonly scanIds: number[];
  /** Files of a store that could not be used (already passed to onProblem); the CLI exits 2 when any. */
  readonly problems: DaemonEyeError[];
  /** Scans in range that did not collect the (host) table exported: it has no rows of theirs. */
  readonly scansWithoutTable: number;
  readonly outputPath?: string;
}

export interface ExportSink {
  /** Where output goes when `outputPath` is not set (default: stdout); return a promise to make the export wait. */
  readonly write?: (chunk: string) => unknown;
  /**
   * The output is read on a terminal (default: when it goes to stdout and stdout is one): every chunk is made
   * terminal-safe (src/output/terminal.ts, terminalOutput) and a CSV cell shows a CR or LF as `\r` / `\n`.
   */
  readonly terminal?: boolean;
  readonly onProblem?: (problem: DaemonEyeError) => void;
  /** Hears how an `outputPath` that is a link, device or FIFO was written (src/util/output-file.ts). */
  readonly onNote?: (message: string) => void;
  /** A file holding objects a snapshot never has (ignored, never run) is reported here: every reader says it (src/storage/input.ts). */
  readonly onWarning: (warning: string) => void;
}

function specOf(table: ExportTable): TableDefinition {
  const spec = tableDefinition(table);
  if (spec === undefined) {
    throw new DaemonEyeError('INVALID_ARGUMENT', `unknown table ${table}`, {hint: `export one of ${EXPORT_TABLES.join(', ')} (docs/schema.md)`});
  }
  return spec;
}

function invalid(message: string): DaemonEyeError {
  return new DaemonEyeError('INVALID_ARGUMENT', message, {
    hint: '--pid filters every table with a pid column (for alerts: those affecting it), --name filters processes; --scan-id and times filter every table',
  });
}

/** The WHERE clause and parameters for one file's scans in range and the filters. */
function whereFor(table: ExportTable, snapshot: SnapshotInRange, config: ExportConfig): {sql: string; params: (string | number)[]} {
  const scanList = snapshot.scanIds.map(Number).join(', ');
  const spec = specOf(table);
  const clauses: string[] = [];
  const params: (string | number)[] = [];
  if (spec.scanColumn !== null) clauses.push(`${spec.scanColumn} IN (${scanList})`);
  if (config.pid !== undefined) {
    if (table === 'alerts') clauses.push('EXISTS (SELECT 1 FROM json_each(alerts.affected_processes) WHERE value = ?)');
    else clauses.push('pid = ?');
    params.push(config.pid);
  }
  if (config.name !== undefined) {
    clauses.push('name = ?');
    params.push(config.name);
  }
  return {sql: clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`, params};
}

/**
 * Each row of one table of a loaded snapshot as CSV cells of the table's flat columns (for processes, every
 * platform-data field in a column of its own, as `scan --format csv` prints them; src/models/serialise.ts).
 */
function* csvRowsOf(
  db: Database,
  table: ExportTable,
  where: {sql: string; params: (string | number)[]},
  hosts: Map<number, Host> | null,
): Generator<unknown[]> {
  const spec = specOf(table);
  const scanColumn = hosts === null ? null : spec.scanColumn;
  for (const row of inExportOrder(db, table, `${spec.columns.map((c) => c.name).join(', ')}${scanColumn === null ? '' : `, ${scanColumn}`}`, where)) {
    if (scanColumn === null) {
      yield csvCells(spec.columns, row);
      continue;
    }
    const host = hosts?.get(Number(row[spec.columns.length]));
    yield [...csvCells(spec.columns, row.slice(0, spec.columns.length)), host?.id ?? null, host?.hostname ?? null];
  }
}

/** Rows fetched per statement once their order is known. */
const ROWS_PER_FETCH = 256;

/**
 * The rows of `table` matching `where`, as `select`'s values, in the table's export order. SQLite sorts
 * only the rowids (as decimal text: 64-bit), then the rows are fetched a few at a time, so the first row
 * never waits for a sort of every row's whole values, and the caller can give the event loop a turn
 * between rows (a signal is handled while a large table is exported).
 */
function* inExportOrder(db: Database, table: ExportTable, select: string, where: {sql: string; params: (string | number)[]}): Generator<SqlValue[]> {
  const order = specOf(table).exportOrder;
  const rowids: string[] = [];
  const ids = db.prepare(`SELECT CAST(rowid AS TEXT) FROM ${table} ${where.sql} ORDER BY ${order}`);
  try {
    ids.bind(where.params);
    while (ids.step()) rowids.push(String(ids.get()[0]));
  } finally {
    ids.free();
  }
  for (let from = 0; from < rowids.length; from += ROWS_PER_FETCH) {
    const statement = db.prepare(`SELECT ${select} FROM ${table} WHERE rowid IN (${rowids.slice(from, from + ROWS_PER_FETCH).join(', ')}) ORDER BY ${order}`);
    try {
      while (statement.step()) yield statement.get();
    } finally {
      statement.free();
    }
  }
}

/**
 * A SQL expression that renders a row as the record's JSON text inside SQLite (json_object), which is
 * about twice as fast as building objects in JavaScript and serialising them. JSON columns go through
 * json(), which fails on malformed text, so a crafted file cannot inject raw text into the output.
 */
function jsonObjectSql(columns: readonly ColumnSpec[]): string {
  const parts = columns.map((c) => {
    const value = c.boolean
      ? `CASE WHEN ${c.name} IS NULL THEN NULL WHEN ${c.name} THEN json('true') ELSE json('false') END`
      : c.json
        ? `json(${c.name})`
        : c.name;
    return `'${c.name}', ${value}`;
  });
  return `json_object(${parts.join(', ')})`;
}

/**
 * Whether export adds the host to each row of a table: every table tied to a scan, but `alerts`, whose rows
 * carry their own `host` column.
 */
export function exportAddsHost(table: ExportTable): boolean {
  return table !== 'alerts' && specOf(table).scanColumn !== null;
}

/** The JSON text of each scan's host object (src/models/host.ts), by scan id. */
function hostJsonByScan(scans: readonly ScanRecord[]): Map<number, string> {
  return new Map(scans.map((scan) => [scan.id, safeJson(hostOfScan(scan))]));
}

/**
 * Each row of one table of a loaded snapshot as its record's JSON text (raw: not yet made terminal-safe), in
 * the same order as csvRowsOf, with the row's scan id when `withScan` (else null).
 */
function* recordJsonOf(
  db: Database,
  table: ExportTable,
  where: {sql: string; params: (string | number)[]},
  withScan: boolean,
): Generator<[string, number | null]> {
  const spec = specOf(table);
  const scanColumn = withScan ? spec.scanColumn : null;
  for (const row of inExportOrder(db, table, `${jsonObjectSql(spec.recordColumns)}${scanColumn === null ? '' : `, ${scanColumn}`}`, where)) {
    yield [String(row[0]), scanColumn === null ? null : Number(row[1])];
  }
}

/**
 * Each row of one table of a loaded snapshot as JSON text, in the same order as csvRowsOf; with `hosts`,
 * the row's scan's host object appended as `host` (the text is built once per scan, not per row).
 */
function* jsonLinesOf(
  db: Database,
  table: ExportTable,
  where: {sql: string; params: (string | number)[]},
  hosts: Map<number, string> | null,
): Generator<string> {
  for (const [text, scanId] of recordJsonOf(db, table, where, hosts !== null)) {
    // As safeJson: what json_object leaves raw that a terminal or a JavaScript parser may mangle, escaped.
    const line = escapeJsonText(text);
    yield scanId === null ? line : `${line.slice(0, -1)},"host":${hosts?.get(scanId) ?? 'null'}}`;
  }
}

/**
 * Each row of one table as its ECS or OCSF document's JSON text. A process is mapped with its scan's host
 * object, one object per scan (not parsed again per row), so the renderers build the host's fields once.
 */
function* schemaLinesOf(
  db: Database,
  table: ExportTable,
  where: {sql: string; params: (string | number)[]},
  format: 'ecs' | 'ocsf',
  scans: readonly ScanRecord[],
): Generator<string> {
  if (table === 'alerts') {
    for (const [text] of recordJsonOf(db, table, where, false)) yield safeJson(alertDocument(JSON.parse(text) as Alert, format));
    return;
  }
  // A process: only the columns the mapping reads, as a flat row (processFacts), with its scan's host.
  const render = format === 'ecs' ? ecsProcessEvent : ocsfEvidenceInfo;
  const hosts = new Map(scans.map((scan) => [scan.id, hostOfScan(scan)]));
  const spec = specOf(table);
  const columns = PROCESS_FACT_COLUMNS.filter((name) => spec.columns.some((c) => c.name === name));
  for (const values of inExportOrder(db, table, `${spec.scanColumn}, ${columns.join(', ')}`, where)) {
    const row: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) row[columns[i] as string] = values[i + 1];
    yield safeJson(render(row, hosts.get(Number(values[0])) ?? null));
  }
}

function damaged(path: string, error: unknown): DaemonEyeError {
  if (error instanceof DaemonEyeError) return error;
  return new DaemonEyeError('INPUT_CORRUPT', `damaged data while reading (${(error as Error).message.replace(/\s+/g, ' ').trim()})`, {
    file: path,
    hint: 'it is not a usable DaemonEye snapshot; take a new one with `daemoneye scan --output FILE`',
    cause: error,
  });
}

/** Check that the filters make sense for the table (usage errors, exit 2). */
export function checkExportFilters(config: Pick<ExportConfig, 'table' | 'pid' | 'name' | 'since' | 'until' | 'format'>): void {
  const table = config.table ?? 'processes';
  const spec = specOf(table);
  if (table !== 'alerts' && config.pid !== undefined && !spec.columns.some((c) => c.name === 'pid')) throw invalid(`--pid does not apply to --table ${table}`);
  if (table !== 'processes' && config.name !== undefined) throw invalid(`--name does not apply to --table ${table}`);
  if ((config.format === 'ecs' || config.format === 'ocsf') && !SCHEMA_EXPORT_TABLES.includes(table)) {
    throw new DaemonEyeError('INVALID_ARGUMENT', `--format ${config.format} maps processes and alerts, not --table ${table}`, {
      hint: `export --table processes or alerts, or ${table} as ndjson, csv or parquet`,
    });
  }
  if (config.since !== undefined && config.until !== undefined && config.since > config.until) {
    throw new DaemonEyeError('INVALID_ARGUMENT', '--since is later than --until', {hint: 'swap them'});
  }
}

/**
 * Export one table of a snapshot file or store. Files are read one at a time and their rows written as
 * they are read (NDJSON and JSON stream; CSV has a header first). With `outputPath`, the output is written
 * to a temp file and renamed into place only when complete; that publish settles the run (settleRun,
 * src/util/interrupt.ts: a signal then no longer ends it). Corrupt files of a store are reported through
 * `onProblem` and skipped; a corrupt single input file throws.
 */
export async function exportData(config: ExportConfig, sink: ExportSink): Promise<ExportResult> {
  checkExportFilters(config);
  const table = config.table ?? 'processes';
  const format = config.format ?? 'ndjson';
  await loadEcsOcsf(format);
  const input = openSnapshotInput(config.input);
  const file =
    config.outputPath === undefined
      ? undefined
      : new OutputFileWriter(config.outputPath, {
          content: TERMINAL_TEXT,
          mode: 0o600,
          what: 'export output',
          ...(sink.onNote === undefined ? {} : {note: sink.onNote}),
        });
  // Where the bytes land decides, not the flag: `--output /dev/stdout` or `/dev/tty` is a terminal too (the
  // file writer then escapes each chunk itself; CSV needs to know before a cell is quoted).
  const terminal = file === undefined ? (sink.terminal ?? (sink.write === undefined && process.stdout.isTTY === true)) : file.terminal;
  const write = file === undefined ? (sink.write ?? stdoutWriter()) : (chunk: string) => file.write(chunk);
  // Chunks end at a row's end (ChunkedWriter joins whole rows), so a CR LF is never split between two.
  const out = new ChunkedWriter(terminal && file === undefined ? (chunk) => write(terminalOutput(chunk, false)) : write, 1 << 20);
  const problems: DaemonEyeError[] = [];
  const readOptions = rangeReadOptions({...config, onProblem: sink.onProblem, onWarning: sink.onWarning}, problems);
  // Writing to a file never waits: the slicer gives a signal its turn (src/util/interrupt.ts).
  const slicer = new TimeSlicer();
  let rows = 0;
  let filesRead = 0;
  const scanIds: number[] = [];
  // A host table a scan did not collect is not empty, it is unknown: said, never exported as "no rows".
  const hostTable = tableDefinition(table)?.collected === true && table !== 'processes';
  let scansWithoutTable = 0;
  // The collectors of the scans without the table: what the advice to get it says.
  const lackingCollectors = new Set<string>();
  const addHost = exportAddsHost(table);
  try {
    // The CSV header and JSON's `[` wait for a scan that holds the table: a refused export prints nothing.
    let opened = false;
    const open = (): void => {
      if (opened) return;
      opened = true;
      if (format === 'csv')
        out.push(csvLine([...specOf(table).columns.map((c) => c.name), ...(table === 'scans' || !addHost ? [] : ['host_id', 'hostname'])], terminal));
      if (format === 'json') out.push('[');
    };
    for await (const snapshot of requireSnapshotsInRange(input, readOptions)) {
      filesRead++;
      scanIds.push(...snapshot.scanIds);
      const lacking = hostTable ? snapshot.scans.filter((s) => snapshot.scanIds.includes(s.id) && !s.tables.includes(table)) : [];
      for (const scan of lacking) lackingCollectors.add(scan.collector);
      const without = lacking.length;
      scansWithoutTable += without;
      if (without === snapshot.scanIds.length) continue;
      open();
      const where = whereFor(table, snapshot, config);
      try {
        if (format === 'csv') {
          // The scans table has its host columns already; other tables get the scan's host_id and hostname.
          const hosts = !addHost || table === 'scans' ? null : new Map(snapshot.scans.map((scan) => [scan.id, hostOfScan(scan)]));
          for (const cells of csvRowsOf(snapshot.db, table, where, hosts)) {
            const wait = out.push(csvLine(cells, terminal));
            if (wait !== undefined) await wait;
            else if (slicer.due()) await slicer.pause();
            rows++;
          }
        } else {
          const lines =
            format === 'ecs' || format === 'ocsf'
              ? schemaLinesOf(snapshot.db, table, where, format, snapshot.scans)
              : jsonLinesOf(snapshot.db, table, where, addHost ? hostJsonByScan(snapshot.scans) : null);
          for (const text of lines) {
            const wait = out.push(format === 'json' ? `${rows === 0 ? '\n' : ',\n'}${text}` : `${text}\n`);
            if (wait !== undefined) await wait;
            else if (slicer.due()) await slicer.pause();
            rows++;
          }
        }
      } catch (error) {
        throw error instanceof OutputClosed ? error : damaged(snapshot.path, error);
      }
      // NDJSON consumers see each file's rows as soon as the file is done.
      await out.flush();
    }
    if (scanIds.length > 0 && scansWithoutTable === scanIds.length) {
      const ranged = config.since !== undefined || config.until !== undefined || config.scanId !== undefined;
      const problem = ranged
        ? `no scan in range in ${config.input} collected ${table}`
        : scanIds.length === 1
          ? `${config.input} did not collect ${table}`
          : `none of the ${scanIds.length} scans in ${config.input} collected ${table}`;
      throw new DaemonEyeError('INPUT_INCOMPATIBLE', problem, {
        file: config.input,
        hint: missingTablesAdvice([table], [...lackingCollectors]),
      });
    }
    open();
    if (format === 'json') out.push(rows === 0 ? ']\n' : '\n]\n');
    await out.flush();
    if (file !== undefined) {
      // The published file is the run's product (src/util/interrupt.ts): a signal handled after this is let pass.
      file.commit();
      settleRun();
    }
  } catch (error) {
    file?.abort();
    if (!(error instanceof OutputClosed)) throw error;
  }
  return {table, format, rows, filesRead, scanIds, problems, scansWithoutTable, ...(config.outputPath === undefined ? {} : {outputPath: config.outputPath})};
}
