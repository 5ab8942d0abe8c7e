// Parquet export: the tables of a snapshot file or store as Apache Parquet files, one per table and scan, in the
// Hive-style layout data lakes partition by, under a lake's root directory:
//   DIR/table=<table>/date=<YYYY-MM-DD of the scan's start, UTC>/host_key=<machine id, else host name>/<scan id>.parquet
// (`host_key`, not `host`: a Hive partition overrides a file column of its name, and alerts have a `host` column)
// (DuckDB `read_parquet(…, hive_partitioning = true)`, Athena/Trino external tables, ClickHouse `file()`/`s3()`).
// Rows are in the fleet shape (src/models/fleet-table.ts): every table carries `host_id` and `hostname`, and the
// host tables `scan_time`. Types are the registry's, mapped exactly: INTEGER → INT64, boolean → BOOLEAN,
// REAL → DOUBLE, TEXT and JSON text → BYTE_ARRAY STRING (UTF-8); a nullable column is OPTIONAL.
// The writer is hyparquet-writer (pure JavaScript, snappy compression, Data Page V2); docs/formats.md says why.
import {existsSync, rmdirSync} from 'node:fs';
import {basename, dirname, join} from 'node:path';

import {DaemonEyeError} from '../errors.js';
import type {ColumnSpec, SqlRowValue} from '../models/columns.js';
import {fleetColumns} from '../models/fleet-table.js';
import type {ScanRecord} from '../models/scan.js';
import {COLLECTED_TABLE_NAMES, TABLE_NAMES, type TableDefinition, tableDefinition} from '../models/tables.js';
import {AtomicFileWriter} from '../util/atomic-write.js';
import {onInterrupt, settleRun, TimeSlicer} from '../util/interrupt.js';
import {outputSubdirectory, resolveOutputDirectory} from '../util/output-file.js';
import {fleetRowsOfScan, unscannedAlertCount} from './fleet-rows.js';
import {rangeReadOptions, requireSnapshotsInRange} from './input.js';
import type {ReadRedaction} from './redact-snapshot.js';
import type {SnapshotLimits} from './snapshot-file.js';

export interface ParquetExportConfig {
  /** A snapshot file or a store directory. */
  readonly input: string;
  /** The lake's root directory (created when missing). */
  readonly outputDir: string;
  /** Tables to write (default: every table of the registry). */
  readonly tables?: readonly string[];
  /** Scans that started at or after / before this time (epoch ms). */
  readonly since?: number;
  readonly until?: number;
  readonly scanId?: number;
  readonly limits?: SnapshotLimits;
  /** The redaction policy applied to what is read (src/storage/redact-snapshot.ts): default policy when absent; false shows data as stored. */
  readonly redaction?: ReadRedaction;
  readonly onProblem?: (problem: DaemonEyeError) => void;
  readonly onWarning: (warning: string) => void;
}

export interface ParquetExportResult {
  /** Files written, relative to the output directory, in the order written. */
  readonly files: string[];
  readonly rows: number;
  readonly filesRead: number;
  readonly scanIds: number[];
  /** Files of a store that could not be used (already passed to onProblem); the CLI exits 2 when any. */
  readonly problems: DaemonEyeError[];
  /** Alerts without a scan (no host or date to file them under): not written. */
  readonly unscannedAlerts: number;
}

/** A partition value safe as one path segment: letters, digits, `.`, `_`, `-`; anything else becomes `_`. */
export function partitionValue(text: string): string {
  const safe = text.replace(/[^A-Za-z0-9._-]/g, '_');
  return safe === '' || safe === '.' || safe === '..' ? '_' : safe;
}

/** The host partition of a scan: its machine id, else its host name. */
export function hostPartition(scan: Pick<ScanRecord, 'host_id' | 'hostname'>): string {
  return partitionValue(scan.host_id ?? scan.hostname);
}

/** The path of one table's file of one scan, relative to the lake's root (layout in the file header). */
export function parquetPath(table: string, scan: Pick<ScanRecord, 'id' | 'start_time' | 'host_id' | 'hostname'>): string {
  const date = new Date(scan.start_time).toISOString().slice(0, 10);
  return join(`table=${table}`, `date=${date}`, `host_key=${hostPartition(scan)}`, `${scan.id}.parquet`);
}

export type ParquetType = 'INT64' | 'BOOLEAN' | 'DOUBLE' | 'STRING';

/** The Parquet type of a column: INTEGER → INT64, boolean → BOOLEAN, REAL → DOUBLE, TEXT/JSON → STRING. */
export function parquetType(column: Pick<ColumnSpec, 'sqlType' | 'boolean'>): ParquetType {
  if (column.boolean) return 'BOOLEAN';
  if (column.sqlType === 'INTEGER') return 'INT64';
  if (column.sqlType === 'REAL') return 'DOUBLE';
  return 'STRING';
}

function converter(type: ParquetType): (value: SqlRowValue) => unknown {
  switch (type) {
    case 'INT64':
      return (value) => (value === null ? null : BigInt(Math.trunc(Number(value))));
    case 'BOOLEAN':
      return (value) => (value === null ? null : Number(value) !== 0);
    case 'DOUBLE':
      return (value) => (value === null ? null : Number(value));
    case 'STRING':
      return (value) => (value === null ? null : String(value));
  }
}

interface ParquetColumn {
  name: string;
  data: unknown[];
  type: ParquetType;
  nullable: boolean;
}

/** One scan's rows of one table as column arrays for the writer. */
function columnData(db: Parameters<typeof fleetRowsOfScan>[0], spec: TableDefinition, scan: ScanRecord): {columns: ParquetColumn[]; rows: number} {
  const specs = fleetColumns(spec);
  const converters = specs.map((c) => converter(parquetType(c)));
  const data: unknown[][] = specs.map(() => []);
  let rows = 0;
  for (const values of fleetRowsOfScan(db, spec, scan)) {
    for (let i = 0; i < specs.length; i++) (data[i] as unknown[]).push((converters[i] as (value: SqlRowValue) => unknown)(values[i] ?? null));
    rows++;
  }
  return {columns: specs.map((c, i) => ({name: c.name, data: data[i] as unknown[], type: parquetType(c), nullable: c.nullable})), rows};
}

/** Check the table names (usage errors, exit 2). */
export function checkParquetTables(tables: readonly string[]): void {
  const unknown = tables.filter((t) => !TABLE_NAMES.includes(t));
  if (unknown.length > 0) {
    throw new DaemonEyeError('INVALID_ARGUMENT', `unknown table ${unknown.join(', ')}`, {hint: `export one of ${TABLE_NAMES.join(', ')} (docs/schema.md)`});
  }
}

/**
 * Write the tables (default: all) of the scans in range as Parquet files under `outputDir` (layout in the file
 * header). Each file is written to a temp file beside its name and all are renamed into place together at the
 * end, replacing a file of an earlier export whole, so a repeated export (cron) is idempotent and a run that
 * fails or is ended by a signal before the end publishes nothing (its temp files and new directories removed);
 * the publish settles the run (settleRun, src/util/interrupt.ts). A host table a scan did not collect gets no file for that scan (unknown is not
 * empty), nor does a scan without alerts. Unusable files of a store go to `onProblem` and are skipped; a
 * single unusable file throws (INPUT_CORRUPT and friends, exit 2); an unwritable directory throws IO errors.
 */
export async function exportParquet(config: ParquetExportConfig): Promise<ParquetExportResult> {
  const tables = config.tables ?? TABLE_NAMES;
  checkParquetTables(tables);
  const {parquetWriteBuffer} = await import('hyparquet-writer');
  const problems: DaemonEyeError[] = [];
  const readOptions = rangeReadOptions(config, problems);
  const files: string[] = [];
  const scanIds: number[] = [];
  let rows = 0;
  let filesRead = 0;
  let unscannedAlerts = 0;
  // The lake's root is the user's (a link there is checked and followed); every directory under it is ours.
  const rootExisted = existsSync(config.outputDir);
  const root = resolveOutputDirectory(config.outputDir, 'Parquet lake');
  // Every file is written first as a sealed temp file beside its name, and all are published together at the end:
  // a run ended by a signal (or a failure) before that leaves the lake as it was, its new directories removed.
  const staged: AtomicFileWriter[] = [];
  const createdDirs: string[] = rootExisted ? [] : [root];
  const removeCreatedDirs = (): void => {
    for (const dir of createdDirs.reverse()) {
      try {
        rmdirSync(dir);
      } catch {
        // not empty (another run's files) or gone: left as it is
      }
    }
  };
  const forgetDirs = onInterrupt(removeCreatedDirs);
  const slicer = new TimeSlicer();
  try {
    for await (const snapshot of requireSnapshotsInRange(config.input, readOptions)) {
      filesRead++;
      const scans = snapshot.scans.filter((s) => snapshot.scanIds.includes(s.id));
      scanIds.push(...scans.map((s) => s.id));
      for (const table of tables) {
        const spec = tableDefinition(table) as TableDefinition;
        if (table === 'alerts') unscannedAlerts += unscannedAlertCount(snapshot.db);
        for (const scan of scans) {
          if (COLLECTED_TABLE_NAMES.includes(table) && !scan.tables.includes(table)) continue;
          let written: {columns: ParquetColumn[]; rows: number};
          let bytes: ArrayBuffer;
          try {
            written = columnData(snapshot.db, spec, scan);
            bytes = parquetWriteBuffer({
              columnData: written.columns as Parameters<typeof parquetWriteBuffer>[0]['columnData'],
              codec: 'SNAPPY',
              rowGroupSize: 100_000,
              kvMetadata: [{key: 'daemoneye.table', value: table}],
            });
          } catch (error) {
            throw new DaemonEyeError('INPUT_CORRUPT', `damaged ${table} data while reading (${(error as Error).message.replace(/\s+/g, ' ').trim()})`, {
              file: snapshot.path,
              hint: 'it is not a usable DaemonEye snapshot; take a new one with `daemoneye scan --output FILE`',
              cause: error,
            });
          }
          if (written.rows === 0 && table === 'alerts') continue;
          const path = parquetPath(table, scan);
          const target = join(
            outputSubdirectory(root, dirname(path), 'Parquet lake', (dir) => createdDirs.push(dir)),
            basename(path),
          );
          const writer = new AtomicFileWriter(target, {mode: 0o640});
          staged.push(writer);
          writer.write(new Uint8Array(bytes));
          writer.seal();
          files.push(path);
          rows += written.rows;
          // A signal that came while this file was built is handled here, before anything is published.
          if (slicer.due()) await slicer.pause();
        }
      }
    }
  } catch (error) {
    for (const writer of staged) writer.abort();
    removeCreatedDirs();
    forgetDirs();
    throw error;
  }
  // One synchronous stretch from the first rename to settleRun: a signal is handled before it (nothing published)
  // or after it (every file published, the run ends 0 with its report), never in between (src/util/interrupt.ts).
  try {
    for (const writer of staged) writer.commit();
  } catch (error) {
    for (const writer of staged) writer.abort(); // those published stay: each is whole
    throw error;
  } finally {
    forgetDirs();
  }
  settleRun();
  return {files, rows, filesRead, scanIds, problems, unscannedAlerts};
}
