// Reading `--input FILE|DIR`: one snapshot file or a store directory, filtered by a time range. Files
// are loaded one at a time (memory bounded by the largest file); a corrupt file in a store is reported
// and skipped, and the caller ends with exit 2. `detect`, `query` and `export` all read through here.
import {statSync} from 'node:fs';

import type {Database} from 'sql.js';

import {ARGV_DEFAULTS} from '../config/schema.js';
import {DaemonEyeError, fileError, systemErrorCode} from '../errors.js';
import type {ColumnSpec} from '../models/columns.js';
import type {ScanRecord} from '../models/scan.js';
import {TABLES} from '../models/tables.js';
import {TimeSlicer} from '../util/interrupt.js';
import {formatTime} from '../util/time.js';
import {argvBoundWarning, cutOverlongArgv, hasOverlongArgv} from './argv-bound.js';
import {createSnapshotDatabase} from './database.js';
import {DEFAULT_READ_REDACTION, needsRedaction, type ReadRedaction, redactSnapshotDatabase} from './redact-snapshot.js';
import {closeSnapshot, importedCopy, type LoadedSnapshot, readScans, readSnapshotFile, releaseSnapshot, type SnapshotLimits} from './snapshot-file.js';
import {listStoreFiles, type StoreFile} from './store.js';
import {keepOnlyScans, scanRowsWhere} from './table-rows.js';

/**
 * A time range over scan start times, epoch ms, both ends inclusive; either end may be open. A scan is in
 * range when it started within it; all of its processes and alerts go with it.
 */
export interface TimeRange {
  readonly since?: number;
  readonly until?: number;
}

export interface ReadOptions extends TimeRange {
  /** Only this scan (store files named by this tool are skipped by name). */
  readonly scanId?: number;
  /** Called for each file of a store that cannot be used; reading goes on with the other files. */
  readonly onProblem?: (problem: DaemonEyeError) => void;
  /**
   * Called with a one-line warning for each file read that holds objects a snapshot never has (ignoredWarning).
   * Required: every reader of a snapshot file says it the same way (a command passes its logger's warn).
   */
  readonly onWarning: (warning: string) => void;
  /** Limits on each file read (`storage.max_snapshot_mb`); the default when absent. */
  readonly limits?: SnapshotLimits;
  /**
   * The redaction policy applied to each file read, by column kind (src/storage/redact-snapshot.ts): the
   * default policy when absent; `false` (`--no-redact`) shows the data as stored.
   */
  readonly redaction?: ReadRedaction;
  /**
   * The caller only reads the databases it is given (never writes, never attaches them by file name): a file
   * in this build's exact schema is read where it lies, from the open file (LoadedSnapshot.inPlace: closed with
   * closeSnapshot), any other imported into a sql.js instance of its own (snapshot-file.ts, OpenOptions).
   */
  readonly inPlace?: boolean;
}

/** What a range read of a store is told: the scan range and the hooks and limits a command passes on. */
export interface RangeReadRequest extends TimeRange {
  readonly scanId?: number;
  readonly limits?: SnapshotLimits;
  readonly redaction?: ReadRedaction;
  readonly onProblem?: (problem: DaemonEyeError) => void;
  readonly onWarning: (warning: string) => void;
}

/**
 * The read options of a range read (export, Parquet export, ship) from a request, with every unusable file
 * also collected into `problems` (the caller reports how many files it skipped). Options left undefined
 * stay absent, so the readers' defaults apply.
 */
export function rangeReadOptions(request: RangeReadRequest, problems: DaemonEyeError[]): ReadOptions {
  return {
    since: request.since,
    until: request.until,
    scanId: request.scanId,
    onProblem: (problem) => {
      problems.push(problem);
      request.onProblem?.(problem);
    },
    ...(request.limits === undefined ? {} : {limits: request.limits}),
    ...(request.redaction === undefined ? {} : {redaction: request.redaction}),
    onWarning: request.onWarning,
  };
}

/**
 * The warning for a file that holds triggers, views, virtual or extra tables: none of them was read or
 * run, and a file DaemonEye wrote has none, so someone changed it after it was written.
 */
export function ignoredWarning(loaded: Pick<LoadedSnapshot, 'path' | 'ignored'>): string | undefined {
  if (loaded.ignored.length === 0) return undefined;
  const shown = loaded.ignored.slice(0, 5).join(', ');
  const more = loaded.ignored.length > 5 ? ` and ${loaded.ignored.length - 5} more` : '';
  return `${loaded.path}: holds objects a DaemonEye snapshot never has, left unread and never run: ${shown}${more} (the file was changed after it was written)`;
}

/**
 * Read one snapshot file of an input with the read options' limits, passing on its warning, its secret columns
 * redacted by the read options' policy (every reader of `--input` reads through here).
 */
export async function readInputSnapshot(path: string, options: ReadOptions): Promise<LoadedSnapshot> {
  let loaded = await readSnapshotFile(path, options.limits, {inPlace: options.inPlace === true});
  const warning = ignoredWarning(loaded);
  if (warning !== undefined) options.onWarning?.(warning);
  const redaction = options.redaction ?? DEFAULT_READ_REDACTION;
  const ceiling = options.limits?.argvCeiling ?? ARGV_DEFAULTS.ceiling;
  try {
    // An argv longer than a scan here keeps is cut as a scan cuts it, before redaction reads it (argv-bound.ts);
    // a file read in place is never written, so one holding such an argv is imported by copying.
    if (loaded.inPlace !== undefined && hasOverlongArgv(loaded.db, ceiling)) loaded = await importedCopy(loaded, options.limits);
    const cut = argvBoundWarning(path, cutOverlongArgv(loaded.db, ceiling), ceiling);
    if (cut !== undefined) options.onWarning(cut);
    // A file read in place is never written: one the policy would change is imported by copying after all.
    if (loaded.inPlace !== undefined && (await needsRedaction(loaded.db, redaction))) loaded = await importedCopy(loaded, options.limits);
    if (loaded.inPlace === undefined) await redactSnapshotDatabase(loaded.db, redaction);
  } catch (error) {
    closeSnapshot(loaded);
    throw error;
  }
  return loaded;
}

/** An opened `--input`: a single snapshot file or a store directory with its listing. */
export interface SnapshotInput {
  readonly path: string;
  readonly kind: 'file' | 'store';
  /** The files to read, oldest first (for a single file: that file). */
  readonly files: StoreFile[];
}

export function inRange(time: number, range: TimeRange): boolean {
  return (range.since === undefined || time >= range.since) && (range.until === undefined || time <= range.until);
}

/** A store file that was listed but is gone when opened: retention of a concurrent writer removed it. */
function prunedMeanwhile(error: DaemonEyeError): boolean {
  return error.code === 'INPUT_NOT_FOUND' && systemErrorCode(error.cause) === 'ENOENT';
}

/** A store file that cannot be used, as reported when it is skipped: the other files are still read. */
function skippedInStore(error: DaemonEyeError): DaemonEyeError {
  return new DaemonEyeError(error.code, `${error.message}; skipped, the other files of the store are read`, {
    ...(error.file === undefined ? {} : {file: error.file}),
    hint: 'move it out of the store, or delete it',
    cause: error,
  });
}

/** Resolve `--input`: a file or a directory (INPUT_NOT_FOUND / INPUT_UNREADABLE otherwise). */
export function openSnapshotInput(path: string): SnapshotInput {
  let isDirectory: boolean;
  let bytes: number;
  try {
    const stat = statSync(path);
    isDirectory = stat.isDirectory();
    bytes = stat.size;
  } catch (error) {
    throw fileError(error, path, 'read');
  }
  if (!isDirectory) return {path, kind: 'file', files: [{path, name: path, time: null, scanId: null, bytes}]};
  return {path, kind: 'store', files: listStoreFiles(path)};
}

/**
 * The files of an input whose scans may fall in the range, judged by the time in their names (files
 * without a tool-made name are always candidates; their scans table decides).
 */
export function candidateFiles(input: SnapshotInput, range: TimeRange & {scanId?: number}): StoreFile[] {
  return input.files.filter(
    (file) => (file.time === null || inRange(file.time, range)) && (range.scanId === undefined || file.scanId === null || file.scanId === range.scanId),
  );
}

/** A loaded snapshot file restricted to the scans in range (`scans` lists only those). */
export interface SnapshotInRange extends LoadedSnapshot {
  /** Ids of the scans in range, for `WHERE scan_id IN (...)`. */
  readonly scanIds: number[];
  /** loadLatestScan: the file the scan came from, and how many scans that file holds (the chosen one counted). */
  readonly chosenFrom?: {readonly path: string; readonly scans: number};
}

/**
 * Read one listed file of `input` (readInputSnapshot). In a store, a file that cannot be used (unreadable,
 * corrupt, too large, or an entry that is no snapshot file: StoreFile.problem) goes to `options.onProblem` and
 * undefined is returned, and a file pruned by a concurrent writer since the listing is passed over in silence;
 * a single input file, or any file when nobody listens, throws.
 */
export async function readListedFile(input: SnapshotInput, file: StoreFile, options: ReadOptions): Promise<LoadedSnapshot | undefined> {
  try {
    if (file.problem !== undefined) throw file.problem;
    return await readInputSnapshot(file.path, options);
  } catch (error) {
    if (input.kind === 'file' || !(error instanceof DaemonEyeError) || options.onProblem === undefined) throw error;
    if (!prunedMeanwhile(error)) options.onProblem(skippedInStore(error));
    return undefined;
  }
}

/**
 * Yield each snapshot file of `input` (path, or an opened input) that holds scans in the range, one at a
 * time, checked and migrated. The database (and a file read in place: its pages) is closed when the consumer
 * asks for the next one (or stops), so never keep either past its iteration; a file read in place whose pages
 * were not all as checked when read again throws then (snapshot-file.ts changedWhileRead). In a store, a file
 * that cannot be used goes to `onProblem` and is skipped; a single input file that cannot be used throws.
 */
export async function* readSnapshotsInRange(input: string | SnapshotInput, options: ReadOptions): AsyncGenerator<SnapshotInRange> {
  const opened = typeof input === 'string' ? openSnapshotInput(input) : input;
  for (const file of candidateFiles(opened, options)) {
    const loaded = await readListedFile(opened, file, options);
    if (loaded === undefined) continue;
    try {
      const scans = loaded.scans.filter((scan) => inRange(scan.start_time, options) && (options.scanId === undefined || scan.id === options.scanId));
      if (scans.length === 0) continue;
      yield {...loaded, scans, scanIds: scans.map((scan) => scan.id)};
    } finally {
      releaseSnapshot(loaded);
    }
  }
}

/** `options` whose onProblem also counts each reported file into `count.skipped` (as given when nobody listens). */
function countingProblems(options: ReadOptions, count: {skipped: number}): ReadOptions {
  const {onProblem} = options;
  if (onProblem === undefined) return options;
  return {
    ...options,
    onProblem: (problem) => {
      count.skipped++;
      onProblem(problem);
    },
  };
}

/**
 * The latest scan of an input (a file's newest scan, or the newest usable file of a store), alone in its
 * in-memory database: other scans of the same file are removed from the copy. The caller closes it
 * (closeSnapshot: `db`, and the file it reads when read in place). Unusable newer files of a store go to
 * `onProblem` and the next older one is tried.
 */
export async function loadLatestScan(input: string | SnapshotInput, options: ReadOptions): Promise<SnapshotInRange> {
  const opened = typeof input === 'string' ? openSnapshotInput(input) : input;
  const files = candidateFiles(opened, options);
  // Files named by this tool sort by time; unnamed ones (time unknown) are tried last.
  const ordered = [...files.filter((f) => f.time !== null).reverse(), ...files.filter((f) => f.time === null)];
  let best: SnapshotInRange | undefined;
  const count = {skipped: 0};
  const counting = countingProblems(options, count);
  for (const file of ordered) {
    // A tool-named file older than the best so far cannot hold a later scan: not opened. Files without such
    // a name come last and are always opened (their scans decide), so they are never passed over in silence.
    if (best !== undefined && file.time !== null && file.time < (best.scans[0] as {start_time: number}).start_time) continue;
    const loaded = await readListedFile(opened, file, counting);
    if (loaded === undefined) continue;
    const latest = loaded.scans.filter((scan) => inRange(scan.start_time, options) && (options.scanId === undefined || scan.id === options.scanId)).at(-1);
    if (latest === undefined || (best !== undefined && latest.start_time <= (best.scans[0] as {start_time: number}).start_time)) {
      closeSnapshot(loaded);
      continue;
    }
    if (best !== undefined) closeSnapshot(best);
    // Keeping one scan writes: a file read in place is imported by copying first (its scans are the same).
    const narrowed = loaded.scans.length > 1 ? await importedCopy(loaded, options.limits) : loaded;
    if (narrowed.scans.length > 1) keepOnlyScans(narrowed.db, [latest.id]);
    best = {...narrowed, scans: [latest], scanIds: [latest.id], chosenFrom: {path: file.path, scans: loaded.scans.length}};
  }
  if (best === undefined) throw noScans(opened, options, count.skipped);
  return best;
}

function describeRange(range: TimeRange): string {
  if (range.since === undefined && range.until === undefined) return '';
  return ` between ${range.since === undefined ? 'the beginning' : formatTime(range.since)} and ${range.until === undefined ? 'now' : formatTime(range.until)}`;
}

/**
 * The refusal when an input has no scan in range (exit 2): a directory with no snapshot files is named as
 * not a store; unusable files already reported are counted, so the message never suggests a new scan
 * while files sit there broken.
 */
export function noScans(input: SnapshotInput, range: TimeRange & {scanId?: number}, skipped = 0): DaemonEyeError {
  if (input.kind === 'store' && input.files.length === 0) {
    return new DaemonEyeError('INPUT_NOT_FOUND', `${input.path} holds no snapshot files (*.db, *.sqlite): it is not a store`, {
      file: input.path,
      hint: 'give a store directory (`daemoneye scan --store DIR`) or a snapshot file',
    });
  }
  const scan = range.scanId === undefined ? 'scan' : `scan ${range.scanId}`;
  const what = skipped > 0 ? `no usable ${scan}` : `no ${scan}`;
  const unusable = skipped > 0 ? ` (${skipped} unusable file${skipped === 1 ? '' : 's'} skipped, named above)` : '';
  const hint =
    skipped > 0
      ? 'move the unusable files out of the store'
      : range.since === undefined && range.until === undefined && range.scanId === undefined
        ? 'take one with `daemoneye scan --store DIR`'
        : range.scanId === undefined
          ? 'widen --since/--until'
          : 'list the scans with `daemoneye export --table scans`';
  return new DaemonEyeError(
    'INPUT_NOT_FOUND',
    `${what}${describeRange(range)} in ${input.kind === 'store' ? 'store' : 'snapshot file'} ${input.path}${unusable}`,
    {
      file: input.path,
      hint,
    },
  );
}

/**
 * As readSnapshotsInRange, for commands that need at least one scan (`detect --since`, `export`): when
 * nothing in range could be read, throws noScans (exit 2) instead of yielding nothing.
 */
export async function* requireSnapshotsInRange(input: string | SnapshotInput, options: ReadOptions): AsyncGenerator<SnapshotInRange> {
  const opened = typeof input === 'string' ? openSnapshotInput(input) : input;
  const count = {skipped: 0};
  let yielded = 0;
  for await (const snapshot of readSnapshotsInRange(opened, countingProblems(options, count))) {
    yielded++;
    yield snapshot;
  }
  if (yielded === 0) throw noScans(opened, options, count.skipped);
}

/** Copy rows in one transaction, a slice at a time (a signal is handled meanwhile); nothing else uses `to`. */
async function copyTable(from: Database, to: Database, table: string, columns: readonly ColumnSpec[], where: string, slicer: TimeSlicer): Promise<void> {
  const names = columns.map((c) => c.name).join(', ');
  const select = from.prepare(`SELECT ${names} FROM ${table} ${where}`);
  const insert = to.prepare(`INSERT OR IGNORE INTO ${table} (${names}) VALUES (${columns.map(() => '?').join(', ')})`);
  try {
    to.exec('BEGIN');
    try {
      while (select.step()) {
        insert.run(select.get() as (string | number | null)[]);
        if (slicer.due()) await slicer.pause();
      }
      to.exec('COMMIT');
    } catch (error) {
      to.exec('ROLLBACK');
      throw error;
    }
  } finally {
    select.free();
    insert.free();
  }
}

/** The result of loading a whole range into one database. */
export interface MergedSnapshot {
  readonly db: Database;
  readonly scans: ScanRecord[];
  /** The files that contributed scans. */
  readonly files: string[];
  /** Total size of the candidate files, bytes. */
  readonly bytes: number;
}

/**
 * Load every scan of the range into ONE in-memory database, so joins and GROUP BY work across scans
 * (`query` over a store). Refuses with QUERY_TOO_LARGE, naming --since, when the candidate files hold more
 * than `maxQueryMb` (storage.max_query_mb), before loading anything. The caller closes `db`.
 */
export async function loadScansIntoOneDatabase(input: string | SnapshotInput, options: ReadOptions & {maxQueryMb: number}): Promise<MergedSnapshot> {
  const opened = typeof input === 'string' ? openSnapshotInput(input) : input;
  const candidates = candidateFiles(opened, options);
  const bytes = candidates.reduce((sum, file) => sum + file.bytes, 0);
  const limit = options.maxQueryMb * 1024 * 1024;
  if (bytes > limit) {
    throw new DaemonEyeError(
      'QUERY_TOO_LARGE',
      `the ${candidates.length} snapshot files${describeRange(options)} in ${opened.path} hold ${(bytes / 1048576).toFixed(1)} MB, more than storage.max_query_mb (${options.maxQueryMb} MB)`,
      {file: opened.path, hint: 'narrow the time range with --since (and --until), or raise storage.max_query_mb'},
    );
  }
  const merged = await createSnapshotDatabase();
  const slicer = new TimeSlicer();
  const scans: ScanRecord[] = [];
  const files: string[] = [];
  try {
    for await (const snapshot of requireSnapshotsInRange(opened, options)) {
      for (const table of TABLES) {
        const where = scanRowsWhere(table, snapshot.scanIds);
        if (where !== null) await copyTable(snapshot.db, merged, table.name, table.columns, where, slicer);
      }
      files.push(snapshot.path);
    }
    scans.push(...readScans(merged));
  } catch (error) {
    merged.close();
    throw error;
  }
  return {db: merged, scans, files, bytes};
}
