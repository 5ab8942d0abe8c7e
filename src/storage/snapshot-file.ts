// Snapshot files: one SQLite 3 database per file, written whole and atomically (a device or FIFO named as
// the output is written through, never replaced: src/util/output-file.ts), read strictly. Reading takes
// only a regular file of bounded size, never writes back (an input file is never modified), and runs none
// of the file's own SQL: snapshot-import.ts copies its tables into a fresh database.
import {closeSync, statSync} from 'node:fs';
import {basename, dirname} from 'node:path';

import type {Database} from 'sql.js';

import {DaemonEyeError, fileError} from '../errors.js';
import type {Alert} from '../models/alert.js';
import {fromSqlValue, rowValues, type ColumnSpec, type SqlRowValue} from '../models/columns.js';
import type {ProcessRecord} from '../models/process.js';
import {SCAN_TABLE_COLUMNS, type ScanRecord, ScanRecordSchema} from '../models/scan.js';
import {
  ALERTS_TABLE,
  type CollectedTable,
  isFlatTableRows,
  PROCESSES_TABLE,
  SCANS_TABLE,
  TABLES,
  type TableDefinition,
  tableDdl,
  tableDefinition,
} from '../models/tables.js';
import {removeStaleTempFiles, TEMP_PREFIX} from '../util/atomic-write.js';
import {settleRun, signalTurn, TimeSlicer} from '../util/interrupt.js';
import {type OutputContent, OutputFileWriter, resolveOutput} from '../util/output-file.js';
import {formatBytes, MIB, openRegularFile, type ReadFileLimits, readRegularFileSliced} from '../util/read-file.js';
import {runSliced} from '../util/steps.js';
import {TOOL_VERSION} from '../version.js';
import {insertFlatRows, loadSqlJs, SCHEMA_VERSION, schemaStatements} from './database.js';
import {changedPage, closeFilePages, type FilePages, hashFilePages, readAllPages} from './file-pages.js';
import type * as Migrations from './migrations.js';
import {type SnapshotBuild, type SnapshotBuildTable, snapshotBytes} from './snapshot-build.js';
import type {ImportedSnapshot} from './snapshot-import.js';
import {newSqlJsInstance} from './sqljs.js';

/** Snapshot files hold command lines, which may carry secrets: only the owner may read them. */
export const SNAPSHOT_FILE_MODE = 0o600;

const SQLITE_MAGIC = 'SQLite format 3\u0000';
const HEADER_SIZE = 100;

/** A snapshot file loaded into memory, checked and migrated to the current schema. */
export interface LoadedSnapshot {
  readonly path: string;
  readonly db: Database;
  /** The scans the file holds, oldest first. */
  readonly scans: ScanRecord[];
  /** Schema version found in the file (before any in-memory migration). */
  readonly fileSchemaVersion: number;
  /** Registry tables the file lacked, created empty in memory (a table added since the file was written). */
  readonly addedTables: readonly string[];
  /** Size of the file in bytes. */
  readonly bytes: number;
  /** Objects of the file that were never read nor run: triggers, views, virtual and extra tables (`type name`). */
  readonly ignored: readonly string[];
  /**
   * The open file `db` reads its pages from when it is read in place (OpenOptions.inPlace,
   * snapshot-in-place.ts): `db` is read-only, and these pages are what to pass on to the rule lanes instead of
   * an export. Whoever holds them last closes them (closeSnapshot, releaseFilePages).
   */
  readonly inPlace?: FilePages;
}

/** How a reader wants a snapshot file opened. */
export interface OpenOptions {
  /**
   * The caller only reads the database: a file in this build's exact schema that passes the checks is
   * read where it lies, a page at a time from the open file (LoadedSnapshot.inPlace, file-pages.ts: every
   * page checked against its hash, so rule workers read what the checks passed), and any other file is
   * imported by copying into a sql.js instance of its own, whose WebAssembly memory is freed with the
   * database (so never ATTACH that database to another by file name). A caller that must write after all
   * reopens it with importedCopy.
   */
  readonly inPlace?: boolean;
  /** Import by copying into a sql.js instance of its own (as `inPlace` does for a file it cannot read in place). */
  readonly ownInstance?: boolean;
}

/** What the snapshot file writer wrote. */
export interface SnapshotWriteResult {
  readonly path: string;
  readonly bytes: number;
  readonly scanIds: number[];
  readonly processCount: number;
  readonly alertCount: number;
  /** The standard descriptor the file went to (`--output /dev/stdout`: 1), when it was one. */
  readonly descriptor?: number;
}

/** The live-response tables of one scan by table name, as row objects or flat values, without scan ids (collect's `Snapshot.tables`). */
export type TableRowsByName = Readonly<Record<string, CollectedTable>>;

/**
 * Insert one scan's rows of each named table of the registry, stamping the table's scan column with
 * `scanId` (collectors leave it out). A name that is not a table, or one not tied to a scan, is a
 * programming error.
 */
export function insertTableRows(db: Database, tables: TableRowsByName, scanId: number): void {
  for (const table of tableRowsBuild(tables, scanId)) {
    insertFlatRows(db, {name: table.name, columns: table.columns.map((name) => ({name}))}, table.values, table.stamp);
  }
}

/** One scan's rows of each named table of the registry as flat values, stamped with `scanId` (see insertTableRows). */
function tableRowsBuild(tables: TableRowsByName, scanId: number): SnapshotBuildTable[] {
  return Object.entries(tables).map(([name, collected]) => scanTableBuild(name, collected, scanId));
}

/**
 * One scan's rows of one registry table (row objects or flat values, without the scan column) as flat values
 * in the registry's column order, to be stamped with `scanId`. Throws for a name that is not a table of scans.
 */
export function scanTableBuild(name: string, collected: CollectedTable, scanId: number): SnapshotBuildTable {
  const table = tableDefinition(name);
  if (table === undefined || table.scanColumn === null) throw new Error(`no table ${name} of scans in the registry`);
  const columns = table.columns.filter((c) => c.name !== table.scanColumn);
  const stamp = {column: table.scanColumn, value: scanId};
  if (isFlatTableRows(collected)) return {name: table.name, columns: columns.map((c) => c.name), values: collected.values, stamp};
  const toRow = rowValues(columns);
  const values: SqlRowValue[] = [];
  for (const row of collected) for (const value of toRow(row)) values.push(value);
  return {name: table.name, columns: columns.map((c) => c.name), values, stamp};
}

/**
 * A new snapshot database holding the given scans, processes and alerts, and the live-response table rows of
 * its one scan, as a SnapshotBuild (snapshot-build.ts): the schema, the meta rows, and each table's rows as
 * flat values in the registry's column order. A rule worker builds its database from it; serializeSnapshot
 * writes files from it. Throws when table rows come with more or fewer than one scan.
 */
export function snapshotBuild(
  scans: ScanRecord | readonly ScanRecord[],
  processes: readonly ProcessRecord[],
  alerts: readonly Alert[] = [],
  tables: TableRowsByName = {},
): SnapshotBuild {
  const all = Array.isArray(scans) ? (scans as readonly ScanRecord[]) : [scans as ScanRecord];
  const rows = (table: TableDefinition, records: readonly unknown[]): SnapshotBuildTable => {
    const values: SqlRowValue[] = [];
    for (const record of records) for (const value of table.toRow(record)) values.push(value);
    return {name: table.name, columns: table.columns.map((c) => c.name), values};
  };
  const built: SnapshotBuildTable[] = [
    {name: 'meta', columns: ['key', 'value'], values: ['schema_version', String(SCHEMA_VERSION), 'tool_version', TOOL_VERSION, 'created', String(Date.now())]},
    ...all.map((scan) => rows(SCANS_TABLE, [scan])),
    rows(PROCESSES_TABLE, processes),
  ];
  if (Object.keys(tables).length > 0) {
    if (all.length !== 1) throw new Error('collected table rows belong to one scan');
    built.push(...tableRowsBuild(tables, (all[0] as ScanRecord).id));
  }
  if (alerts.length > 0) built.push(rows(ALERTS_TABLE, alerts));
  return {schema: schemaStatements(), tables: built};
}

/** The bytes of a new snapshot database holding the given scans, processes and alerts, and the live-response table rows of its one scan. */
export async function serializeSnapshot(
  scans: ScanRecord | readonly ScanRecord[],
  processes: readonly ProcessRecord[],
  alerts: readonly Alert[] = [],
  tables: TableRowsByName = {},
): Promise<Uint8Array> {
  return snapshotBytes(snapshotBuild(scans, processes, alerts, tables));
}

/**
 * The snapshot file `bytes` (one scan, e.g. a live detect's, src/storage/snapshot-writer.ts) with `alerts`
 * added to its alerts table: the file a store keeps for that scan, the same rows as serializeSnapshot of the
 * scan, its processes, tables and alerts. `bytes` themselves without alerts; else a new array, `bytes`
 * unchanged (they may be shared memory that rule lanes read).
 */
export async function withAlerts(bytes: Uint8Array, alerts: readonly Alert[]): Promise<Uint8Array> {
  if (alerts.length === 0) return bytes;
  const db = new (await loadSqlJs()).Database(bytes);
  try {
    const values: SqlRowValue[] = [];
    for (const alert of alerts) for (const value of ALERTS_TABLE.toRow(alert)) values.push(value);
    insertFlatRows(db, ALERTS_TABLE, values);
    return db.export();
  } finally {
    db.close();
  }
}

/** A snapshot is a SQLite database: binary, never written to a terminal. */
const SNAPSHOT_CONTENT: OutputContent = {type: 'binary', name: 'a SQLite snapshot'};

/**
 * Write `bytes` to the output `path` (src/util/output-file.ts): a file atomically (temp file, fsync, rename:
 * an existing file is replaced only whole), a device or FIFO written through; `note` hears how a link or
 * device was handled. Throws OUTPUT_REFUSED for a directory, socket, block device or untrusted link.
 */
export function writeSnapshotBytes(path: string, bytes: Uint8Array, note?: (message: string) => void): void {
  const writer = new OutputFileWriter(path, {
    content: SNAPSHOT_CONTENT,
    mode: SNAPSHOT_FILE_MODE,
    what: 'snapshot output',
    ...(note === undefined ? {} : {note}),
  });
  writer.write(bytes);
  writer.commit();
}

/**
 * Write one snapshot file (`scan --output FILE`). `tables`: the scan's live-response table rows, or
 * `{bytes}`, the scan's snapshot file already built with its processes and tables (snapshot-writer.ts), to
 * which `alerts` are added.
 */
export async function writeSnapshotFile(
  path: string,
  scan: ScanRecord | readonly ScanRecord[],
  processes: readonly ProcessRecord[],
  alerts: readonly Alert[] = [],
  tables: TableRowsByName | {readonly bytes: Uint8Array} = {},
  note?: (message: string) => void,
): Promise<SnapshotWriteResult> {
  // Refused before the work of serialising: a directory, socket, block device or terminal at the path.
  const target = resolveOutput(path, {what: 'snapshot output'});
  // Temp files of earlier writers of this same file that were killed (the directory may be anyone's).
  if (target.kind === 'new' || target.kind === 'file') removeStaleTempFiles(dirname(target.path), {prefix: `${TEMP_PREFIX}${basename(target.path)}-`});
  const writer = new OutputFileWriter(path, {
    content: SNAPSHOT_CONTENT,
    mode: SNAPSHOT_FILE_MODE,
    what: 'snapshot output',
    ...(note === undefined ? {} : {note}),
  });
  let bytes: Uint8Array;
  try {
    bytes =
      tables.bytes instanceof Uint8Array ? await withAlerts(tables.bytes, alerts) : await serializeSnapshot(scan, processes, alerts, tables as TableRowsByName);
    writer.write(bytes);
    // One turn before the publish: a signal that came during the (synchronous) write ends the run here, its temp
    // file removed and nothing published, rather than after the file is in place (src/util/interrupt.ts).
    await signalTurn();
    writer.commit();
    // The file is in place: a first signal from here on lets the run finish (its rows, its audit entry) and end
    // 0, so 143 always means the old file is untouched (src/util/interrupt.ts settleRun).
    settleRun();
  } catch (error) {
    writer.abort();
    throw error;
  }
  const scans = Array.isArray(scan) ? (scan as readonly ScanRecord[]) : [scan as ScanRecord];
  return {
    path,
    bytes: bytes.length,
    scanIds: scans.map((s) => s.id),
    processCount: processes.length,
    alertCount: alerts.length,
    ...(writer.target.fd === undefined ? {} : {descriptor: writer.target.fd}),
  };
}

function corrupt(path: string, problem: string, cause?: unknown): DaemonEyeError {
  // SQLite's own messages may span lines; the report is one line.
  return new DaemonEyeError('INPUT_CORRUPT', problem.replace(/\s+/g, ' ').trim(), {
    file: path,
    hint: 'it is not a usable DaemonEye snapshot; take a new one with `daemoneye scan --output FILE`',
    cause,
  });
}

/** Cheap checks on a file's first bytes (`bytes`) and its size that catch empty, foreign and truncated files before SQLite sees them. */
function checkHeader(path: string, bytes: Uint8Array, size: number): void {
  if (size === 0) throw corrupt(path, 'the file is empty, not a snapshot');
  const magic = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(16, bytes.length)).toString('latin1');
  if (size < 16 || magic !== SQLITE_MAGIC) throw corrupt(path, 'not a SQLite database (wrong file header)');
  if (size < HEADER_SIZE) throw corrupt(path, `truncated: ${size} bytes, shorter than a SQLite header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  const rawPageSize = view.getUint16(16);
  const pageSize = rawPageSize === 1 ? 65_536 : rawPageSize;
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) throw corrupt(path, `damaged SQLite header (page size ${rawPageSize})`);
  if (size % pageSize !== 0) throw corrupt(path, `truncated: ${size} bytes is not a whole number of ${pageSize}-byte pages`);
  // The in-header page count is trustworthy when the "version valid for" field matches the change counter.
  const pageCount = view.getUint32(28);
  if (pageCount > 0 && view.getUint32(92) === view.getUint32(24) && size < pageCount * pageSize) {
    throw corrupt(path, `truncated: ${size} bytes, the header says ${pageCount * pageSize}`);
  }
}

function checkTable(path: string, db: Database, table: string, columns: readonly ColumnSpec[], tableColumns: typeof Migrations.tableColumns): void {
  const present = new Set(tableColumns(db, table));
  if (present.size === 0) throw corrupt(path, `the ${table} table is missing`);
  const missing = columns.filter((column) => !present.has(column.name)).map((column) => column.name);
  if (missing.length > 0) throw corrupt(path, `the ${table} table lacks column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
}

/**
 * Scans of a loaded snapshot as records, oldest first. With `path` (a file just read), each row must be a
 * valid ScanRecord, else the file is refused naming the first bad field.
 */
export function readScans(db: Database, path?: string): ScanRecord[] {
  return [...scanRows(db, path)];
}

/** readScans a slice at a time, giving the event loop a turn between slices (a file may hold any number of scans). */
async function readScansSliced(db: Database, path: string): Promise<ScanRecord[]> {
  const slicer = new TimeSlicer();
  const scans: ScanRecord[] = [];
  for (const scan of scanRows(db, path)) {
    scans.push(scan);
    if (slicer.due()) await slicer.pause();
  }
  return scans;
}

function* scanRows(db: Database, path?: string): Generator<ScanRecord> {
  const statement = db.prepare(`SELECT ${SCAN_TABLE_COLUMNS.map((c) => c.name).join(', ')} FROM scans ORDER BY start_time, id`);
  try {
    while (statement.step()) {
      const row = statement.getAsObject();
      const scan: Record<string, unknown> = {};
      for (const column of SCAN_TABLE_COLUMNS) scan[column.name] = fromSqlValue(column, row[column.name]);
      if (path !== undefined) {
        const checked = ScanRecordSchema.safeParse(scan);
        if (!checked.success) {
          const issue = checked.error.issues[0];
          throw corrupt(path, `scan ${String(scan.id)}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
        }
      }
      yield scan as ScanRecord;
    }
  } finally {
    statement.free();
  }
}

/** Limits on a snapshot file read from an untrusted source. */
export interface SnapshotLimits {
  /** The largest file read, bytes (`storage.max_snapshot_mb`). */
  readonly maxBytes: number;
  /**
   * Bytes of one process's argv kept of a file, as a scan keeps (`collection.argv.ceiling`): a longer one is
   * cut as a scan cuts it (storage/argv-bound.ts). Default: the configuration's default ceiling.
   */
  readonly argvCeiling?: number;
}

/** `storage.max_snapshot_mb` by default: sql.js holds a database in memory at 2–3× its file size. */
export const DEFAULT_MAX_SNAPSHOT_MB = 512;

export const DEFAULT_SNAPSHOT_LIMITS: SnapshotLimits = {maxBytes: DEFAULT_MAX_SNAPSHOT_MB * MIB};

/** The snapshot limits of a configuration's `storage` section. */
export function snapshotLimitsFromConfig(storage: {max_snapshot_mb: number}, argv?: {ceiling: number}): SnapshotLimits {
  return {maxBytes: storage.max_snapshot_mb * MIB, ...(argv === undefined ? {} : {argvCeiling: argv.ceiling})};
}

/**
 * Open snapshot bytes as an in-memory database, strictly (`options.inPlace` here only asks for a sql.js
 * instance of its own: bytes already in memory are always copied; readSnapshotFile reads a file in place). The file may come from a compromised host:
 * none of its SQL runs (snapshot-import.ts copies only the registry's tables, checked value by value, into
 * a fresh database), then the schema version (newer → INPUT_INCOMPATIBLE, older → migrated in memory),
 * the tables and their columns, and the scans are checked. Any failure is a DaemonEyeError (exit 2)
 * naming `path` and the problem; objects of the file that were not imported are listed in `ignored`.
 */
export async function openSnapshotBytes(
  path: string,
  bytes: Uint8Array,
  limits: SnapshotLimits = DEFAULT_SNAPSHOT_LIMITS,
  options: OpenOptions = {},
): Promise<LoadedSnapshot> {
  if (bytes.length > limits.maxBytes) throw tooLarge(path, bytes.length, limits);
  checkHeader(path, bytes, bytes.length);
  const refuse = (problem: string, cause?: unknown): DaemonEyeError => corrupt(path, problem, cause);
  // Only a run that reads a snapshot file loads the importer and the migrations (a live detect does not).
  const [{importSnapshot}, {createMissingTables, migrateInMemory, tableColumns}] = await Promise.all([
    import('./snapshot-import.js'),
    import('./migrations.js'),
  ]);
  let imported: ImportedSnapshot;
  try {
    // A reader that only reads gets the copy in a sql.js instance of its own: the import's WebAssembly memory
    // (the copy, its indexes, SQLite's caches) is freed with the database instead of staying in this thread's.
    const SQL = options.inPlace === true || options.ownInstance === true ? (await newSqlJsInstance()).module : undefined;
    imported = await importSnapshot(bytes, refuse, {maxPages: (4 * bytes.length + 16 * MIB) / 4096, ...(SQL === undefined ? {} : {SQL})});
  } catch (error) {
    if (error instanceof DaemonEyeError) throw error;
    throw corrupt(path, `damaged database (${(error as Error).message})`, error);
  }
  const {db, schemaVersion: fileSchemaVersion, ignored} = imported;
  try {
    if (fileSchemaVersion > SCHEMA_VERSION) {
      throw new DaemonEyeError('INPUT_INCOMPATIBLE', `snapshot schema version ${fileSchemaVersion} is newer than this DaemonEye reads (${SCHEMA_VERSION})`, {
        file: path,
        hint: 'upgrade daemoneye to read it',
      });
    }
    for (const table of ['scans', 'processes']) if (tableColumns(db, table).length === 0) throw corrupt(path, `the ${table} table is missing`);
    if (fileSchemaVersion < SCHEMA_VERSION) await migrateInMemory(db, fileSchemaVersion);
    const addedTables = createMissingTables(db);
    for (const table of TABLES) checkTable(path, db, table.name, table.columns, tableColumns);
    // The indexes, one statement at a time with a turn of the event loop between them (a signal is handled).
    for (const statement of TABLES.flatMap((table) => tableDdl(table).slice(1))) {
      db.exec(statement);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const scans = await readScansSliced(db, path);
    return {path, db, scans, fileSchemaVersion, addedTables, bytes: bytes.length, ignored};
  } catch (error) {
    db.close();
    if (error instanceof DaemonEyeError) throw error;
    throw corrupt(path, `damaged database (${(error as Error).message})`, error);
  }
}

function tooLarge(path: string, bytes: number, limits: SnapshotLimits): DaemonEyeError {
  return new DaemonEyeError('INPUT_UNREADABLE', `is ${formatBytes(bytes)}, more than the ${formatBytes(limits.maxBytes)} a snapshot file may have`, {
    file: path,
    hint: 'raise storage.max_snapshot_mb to read it',
  });
}

/**
 * Read a snapshot file from disk (read-only) and open it strictly; see openSnapshotBytes. Only a regular
 * file is read (a FIFO, a device or a socket is refused at once), and none bigger than `limits.maxBytes`.
 * With `options.inPlace`, a file this build wrote is read where it lies (readInPlace).
 */
export async function readSnapshotFile(path: string, limits: SnapshotLimits = DEFAULT_SNAPSHOT_LIMITS, options: OpenOptions = {}): Promise<LoadedSnapshot> {
  const fileLimits = {maxBytes: limits.maxBytes, what: 'snapshot file', setting: 'storage.max_snapshot_mb'};
  let bytes: Uint8Array;
  try {
    if (statSync(path).isDirectory()) {
      throw new DaemonEyeError('INPUT_UNREADABLE', 'is a directory, not a snapshot file', {file: path, hint: 'give a snapshot file'});
    }
    const inPlace = options.inPlace === true ? await readInPlace(path, fileLimits) : undefined;
    if (inPlace !== undefined && 'db' in inPlace) return inPlace;
    bytes = inPlace?.bytes ?? (await readRegularFileSliced(path, fileLimits));
  } catch (error) {
    throw fileError(error, path, 'read');
  }
  return openSnapshotBytes(path, bytes, limits, options);
}

/**
 * The snapshot file `path` read in place (file-pages.ts, snapshot-in-place.ts): opened, its pages hashed, then
 * checked and opened on the open file, its scans read; or, when it cannot be read in place, its bytes (as
 * they were hashed, or read anew when they could not be hashed), for the caller to import by copying.
 */
async function readInPlace(path: string, fileLimits: ReadFileLimits): Promise<LoadedSnapshot | {bytes: Uint8Array | undefined}> {
  const {fd, stats} = openRegularFile(path, fileLimits);
  let hashed: FilePages | string;
  try {
    hashed = await runSliced(hashFilePages(path, fd, stats.size));
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  // A file that is no whole number of SQLite pages is read whole, as any other file, and refused by the copy.
  if (typeof hashed === 'string') {
    closeSync(fd);
    return {bytes: undefined};
  }
  const pages = hashed;
  let kept = false;
  try {
    checkHeader(path, pages.firstPage, pages.size);
    const opened = await openedInPlace(path, pages);
    kept = opened !== undefined;
    return opened ?? {bytes: wholeFile(pages)};
  } finally {
    if (!kept) closeFilePages(pages);
  }
}

/**
 * The snapshot on `pages` opened where it lies (snapshot-in-place.ts), its scans read, or undefined when the
 * file must be imported by copying instead.
 */
async function openedInPlace(path: string, pages: FilePages): Promise<LoadedSnapshot | undefined> {
  // In a sql.js instance of its own, as an imported copy is: the checks (SQLite's integrity check, the type
  // pass) touch pages of the WebAssembly memory they run in, which stay resident while the instance lives;
  // this one is freed with the database once the caller lets it go (detect --input, 10,000 and 30,000
  // processes: peak RSS 3.1 and 3.2 MiB lower, docs/performance.md "Memory at scale").
  const [{openInPlace}, instance] = await Promise.all([import('./snapshot-in-place.js'), newSqlJsInstance()]);
  const opened = await openInPlace(instance.module, pages);
  if (!('db' in opened)) return undefined;
  try {
    const scans = await readScansSliced(opened.db, path);
    return {path, db: opened.db, scans, fileSchemaVersion: SCHEMA_VERSION, addedTables: [], bytes: pages.size, ignored: [], inPlace: pages};
  } catch (error) {
    opened.db.close();
    // A scan row the schema allows but the record does not (readScans names it): the same refusal as a copy's.
    if (error instanceof DaemonEyeError) throw error;
    throw corrupt(path, `damaged database (${(error as Error).message})`, error);
  }
}

/**
 * The refusal of a file read in place whose pages were not all as they were hashed when read again
 * (file-pages.ts: someone wrote it meanwhile), naming it (exit 2); undefined while every page read was.
 */
export function changedWhileRead(pages: FilePages): DaemonEyeError | undefined {
  const page = changedPage(pages);
  if (page === undefined) return undefined;
  return new DaemonEyeError('INPUT_UNREADABLE', `changed while being read: page ${page + 1} is no longer what was checked`, {
    file: pages.path,
    hint: 'copy it somewhere only you can write and run again',
  });
}

/** Close `pages` (once no database reads them), then throw changedWhileRead's refusal if they changed while read. */
export function releaseFilePages(pages: FilePages): void {
  closeFilePages(pages);
  const changed = changedWhileRead(pages);
  if (changed !== undefined) throw changed;
}

/** Close a loaded snapshot: its database, and the file it reads in place. */
export function closeSnapshot(loaded: Pick<LoadedSnapshot, 'db' | 'inPlace'>): void {
  loaded.db.close();
  if (loaded.inPlace !== undefined) closeFilePages(loaded.inPlace);
}

/** closeSnapshot, then throw changedWhileRead's refusal if the file read in place changed while it was read. */
export function releaseSnapshot(loaded: Pick<LoadedSnapshot, 'db' | 'inPlace'>): void {
  closeSnapshot(loaded);
  if (loaded.inPlace !== undefined) releaseFilePages(loaded.inPlace);
}

/** The whole file of `pages` as it was hashed; throws changedWhileRead's refusal when it is not that any more. */
function wholeFile(pages: FilePages): Uint8Array {
  const bytes = readAllPages(pages);
  const changed = changedWhileRead(pages);
  if (changed !== undefined) throw changed;
  return bytes;
}

/**
 * `loaded` (opened in place) as an imported copy a caller may write to (redaction, keeping one scan): its
 * in-place database and file are closed and its bytes (as they were checked) imported by copying, into a
 * sql.js instance of its own. A snapshot not opened in place is returned as it is. Throws changedWhileRead's
 * refusal when the file is no longer what was checked.
 */
export async function importedCopy(loaded: LoadedSnapshot, limits: SnapshotLimits = DEFAULT_SNAPSHOT_LIMITS): Promise<LoadedSnapshot> {
  const pages = loaded.inPlace;
  if (pages === undefined) return loaded;
  loaded.db.close();
  let bytes: Uint8Array;
  try {
    bytes = wholeFile(pages);
  } finally {
    closeFilePages(pages);
  }
  return openSnapshotBytes(loaded.path, bytes, limits, {ownInstance: true});
}
