// Where a detection run or a query gets its snapshots: saved input (`--input FILE|DIR`, `--since`, read
// through src/storage) or a live collection (src/collect). The engine takes snapshot file bytes; this
// module is the one place that produces them, one scan at a time for detect (memory bounded by one file).
import type {Database} from 'sql.js';

import {readRedaction} from '../redaction/redact.js';
import {COLLECTION_LIMIT_PREFIX} from '../collect/fanout.js';
import {collectOptionsFromConfig, collectSnapshot, type Snapshot} from '../collect/snapshot.js';
import type {DaemonEyeConfig} from '../config/schema.js';
import type {DaemonEyeError} from '../errors.js';
import {heldTables, type ScanRecord} from '../models/scan.js';
import {loadSqlJs, selectAll} from '../storage/database.js';
import {startLoadingSqlJs} from '../storage/sqljs.js';
// storage/input.js (and the store listing it uses) is imported only when a run reads saved input: a live run never needs it.
import type {ReadOptions} from '../storage/input.js';
import {closeFilePages, type FilePages, isFilePages} from '../storage/file-pages.js';
import {inSharedMemory} from '../storage/shared-bytes.js';
import type {SnapshotContent} from '../storage/snapshot-build.js';
import {closeSnapshot, releaseFilePages, snapshotLimitsFromConfig} from '../storage/snapshot-file.js';
import {streamedSnapshot} from '../storage/snapshot-writer.js';
import {keepOnlyScans} from '../storage/table-rows.js';
import {collectGarbage} from '../util/gc.js';

export interface SnapshotForDetection {
  /**
   * The snapshot file's bytes, or its pages read from the open file (a file read in place:
   * storage/file-pages.ts; open until the source is asked for the next snapshot), or rows a rule worker builds
   * its database from (storage/snapshot-build.ts).
   */
  readonly content: SnapshotContent;
  /** Scans in the snapshot, oldest first. */
  readonly scanIds: readonly number[];
  /** The host tables every scan of the snapshot collected (`scans.tables`); a rule reading another is not run. */
  readonly tables: readonly string[];
  /** The snapshot's scans, oldest first (each with the tables it collected). */
  readonly scans: readonly ScanRecord[];
  /** What was read: a file or store path, or `live`. */
  readonly source: string;
  /** Processes in the snapshot's scans (what the rules run over). */
  readonly processCount: number;
  /** Of those, records collected with `accessible: false` (a file needed for them could not be read). */
  readonly inaccessibleCount: number;
  /**
   * The collected snapshot when live: its scan and processes; its `tables` hold only what `alsoCollect`
   * named (the rules' tables went straight into `content`).
   */
  readonly live?: Snapshot;
  /** When live: wall ms collecting (/proc walk, hashing, live tables) and building the snapshot file. */
  readonly timings?: {readonly collect_ms: number; readonly snapshot_build_ms: number};
}

/** What the SQL about to run needs: the registry tables it reads (a live snapshot collects exactly those). */
export interface SnapshotNeeds {
  readonly tables: readonly string[];
}

/** Snapshots one after the other (a store over a time range yields one per scan). */
export type SnapshotSource = (needs: SnapshotNeeds) => AsyncGenerator<SnapshotForDetection>;

export interface SnapshotSourceOptions {
  readonly config: DaemonEyeConfig;
  readonly input?: string | undefined;
  readonly since?: number | undefined;
  /** A store file that cannot be used is reported here and skipped. */
  readonly onProblem?: (problem: DaemonEyeError) => void;
  /** A file holding objects a snapshot never has (ignored, never run) is reported here. */
  readonly onWarning: (warning: string) => void;
  /** A live snapshot also collects these tables, whether or not a rule reads them (what the output shows). */
  readonly alsoCollect?: readonly string[];
}

/** The read options of a source: its callbacks, the configured size limit and redaction (`collection.redaction`). */
function readOptionsOf(options: SnapshotSourceOptions): ReadOptions {
  return {
    limits: snapshotLimitsFromConfig(options.config.storage, options.config.collection.argv),
    redaction: readRedaction(options.config.collection.redaction),
    ...(options.onProblem === undefined ? {} : {onProblem: options.onProblem}),
    onWarning: options.onWarning,
  };
}

/**
 * The live snapshot a run's rules or query read; a process or socket table it read short of what it holds
 * (collection.fanout) is told to `onWarning`, one line per source.
 */
async function live(
  config: DaemonEyeConfig,
  needs: SnapshotNeeds,
  keep: readonly string[] = [],
  onWarning?: (warning: string) => void,
): Promise<SnapshotForDetection> {
  const started = performance.now();
  // sql.js's WebAssembly compiles on V8's background threads while the synchronous /proc walk runs.
  startLoadingSqlJs();
  // The live tables' rows go into the snapshot database while they are collected (never held whole); the
  // database is built here, in this thread's sql.js, and handed to the rule lanes as bytes. Handing them the
  // rows to build from instead (a SnapshotBuild) kept sql.js off this thread but cost as much CPU and more
  // memory: the rows are copied into the worker by structured clone (docs/performance.md, "Building the snapshot twice").
  const streamed = streamedSnapshot(keep);
  try {
    const snapshot = await collectSnapshot({...collectOptionsFromConfig(config), tables: needs.tables, stream: streamed.stream});
    for (const problem of snapshot.scan.errors) if (problem.startsWith(COLLECTION_LIMIT_PREFIX)) onWarning?.(problem);
    const collected = performance.now();
    const exported = await streamed.bytes(snapshot.scan, snapshot.processes);
    // The database (closed) and its in-memory file are dead: collected before the shared copy is made, so
    // the file, its export and the copy are never all held at once.
    if (exported.byteLength >= COLLECT_FROM_BYTES) collectGarbage();
    const content = released(inSharedMemory(exported));
    return {
      content,
      timings: {collect_ms: Math.round(collected - started), snapshot_build_ms: Math.round(performance.now() - collected)},
      scanIds: [snapshot.scan.id],
      tables: snapshot.scan.tables,
      scans: [snapshot.scan],
      source: 'live',
      processCount: snapshot.processes.length,
      inaccessibleCount: snapshot.processes.filter((p) => !p.accessible).length,
      live: snapshot,
    };
  } finally {
    streamed.close();
  }
}

/** `db`'s file, `db` closed. */
function exportAndClose(db: Database): Uint8Array {
  try {
    return db.export();
  } finally {
    db.close();
  }
}

/** Below this many bytes the copies let go of are not worth a garbage collection (a run of a small snapshot never waits long). */
const COLLECT_FROM_BYTES = 4 * 1024 * 1024;

/**
 * `content` (a snapshot's bytes in shared memory, or its open file's pages: what the rule lanes read), after a
 * garbage collection when the snapshot is large: the database it was checked in (and its sql.js instance),
 * and any file read or export, are dead by then, each as large as the snapshot or more, and would otherwise
 * stay resident while this thread waits on the rules.
 */
function released<T extends Uint8Array | FilePages>(content: T): T {
  if ((isFilePages(content) ? content.size : content.byteLength) >= COLLECT_FROM_BYTES) collectGarbage();
  return content;
}

/**
 * `db`'s file in shared memory (shared-bytes.ts), what the rule lanes read, and `db` closed: the database and
 * the exported copy are let go before the rules run, so a run holds the snapshot once however many workers
 * read it.
 */
function closeToShared(db: Database): Uint8Array {
  return released(inSharedMemory(exportAndClose(db)));
}

/** A copy of `db` holding only one scan (files with several scans are split so each alert has one scan), in shared memory. */
async function onlyScan(db: Database, scanId: number): Promise<Uint8Array> {
  const SQL = await loadSqlJs();
  const copy = new SQL.Database(db.export());
  try {
    keepOnlyScans(copy, [scanId]);
  } catch (error) {
    copy.close();
    throw error;
  }
  return closeToShared(copy);
}

/** How many processes the scans hold, and how many of them were partly unreadable when collected. */
function processCounts(db: Database, scanIds: readonly number[]): {processCount: number; inaccessibleCount: number} {
  const [row] = selectAll(
    db,
    `SELECT count(*) AS n, coalesce(sum(accessible = 0), 0) AS inaccessible FROM processes WHERE scan_id IN (${scanIds.map(() => '?').join(', ')})`,
    [...scanIds],
  );
  return {processCount: Number(row?.n ?? 0), inaccessibleCount: Number(row?.inaccessible ?? 0)};
}

/**
 * What `detect --input` says about the scan it judges (null: nothing): a scan of no processes (a live scan always
 * has some: the file is incomplete or altered, and the run judged nothing), or a file of several scans (only the
 * latest is judged; --since judges each one in range). `chosenFrom`: the file and its scan count.
 */
export function latestScanWarning(
  chosenFrom: {readonly path: string; readonly scans: number} | undefined,
  scanId: number | undefined,
  processCount: number,
): string | undefined {
  if (chosenFrom === undefined) return undefined;
  const others = chosenFrom.scans - 1;
  const rest =
    others === 0
      ? 'it is the only scan of the file'
      : `${others} other scan${others === 1 ? '' : 's'} of the file not judged (--since TIME judges each scan in range)`;
  if (processCount === 0)
    return `${chosenFrom.path}: its latest scan (id ${scanId}) holds no processes, so no rule saw anything: a live scan always has processes, so the file is incomplete or altered; ${rest}`;
  if (others > 0) return `${chosenFrom.path}: holds ${chosenFrom.scans} scans; rules judged the latest (id ${scanId}), ${rest}`;
  return undefined;
}

/**
 * The latest scan of `input` for the rules: the open file's pages when it is read in place (the caller closes
 * them: releaseFilePages), else the checked copy's export in shared memory — never a file that was not read
 * in place: its bytes may hold views and triggers the workers must not see; its database closed before the
 * rules run (it is one more copy, or one more page cache).
 */
async function latestForRules(
  input: string,
  read: ReadOptions,
  onWarning?: (warning: string) => void,
): Promise<Omit<SnapshotForDetection, 'source' | 'content'> & {content: Uint8Array | FilePages}> {
  const {loadLatestScan} = await import('../storage/input.js');
  const latest = await loadLatestScan(input, {...read, inPlace: true});
  let counts: ReturnType<typeof processCounts>;
  try {
    counts = processCounts(latest.db, latest.scanIds);
  } catch (error) {
    closeSnapshot(latest);
    throw error;
  }
  const warning = latestScanWarning(latest.chosenFrom, latest.scanIds[0], counts.processCount);
  if (warning !== undefined) onWarning?.(warning);
  let content: Uint8Array | FilePages;
  if (latest.inPlace === undefined) content = inSharedMemory(exportAndClose(latest.db));
  else {
    latest.db.close();
    content = latest.inPlace;
  }
  return {
    content,
    scanIds: latest.scanIds,
    tables: heldTables(latest.scans, latest.scanIds),
    scans: latest.scans.filter((s) => latest.scanIds.includes(s.id)),
    ...counts,
  };
}

/**
 * For `detect`: the live snapshot; or the latest scan of `--input`; or, with `--since`, every scan in
 * range one at a time (each scan is its own snapshot, so rules joining processes by pid stay per scan).
 */
export function detectionSnapshots(options: SnapshotSourceOptions): SnapshotSource {
  const {config, input, since} = options;
  const problems = readOptionsOf(options);
  return async function* (needs) {
    if (input === undefined) {
      // What the output shows besides the rules (a tree's sockets) is also kept as rows (`live.tables`).
      yield await live(config, {tables: [...new Set([...needs.tables, ...(options.alsoCollect ?? [])])]}, options.alsoCollect, options.onWarning);
      return;
    }
    if (since === undefined) {
      // Taken in a function of its own, so that nothing of this generator holds the database (and the sql.js
      // instance an imported copy lives in) while the rules run; collected once it is let go.
      const latest = await latestForRules(input, problems, options.onWarning);
      const pages = isFilePages(latest.content) ? latest.content : undefined;
      try {
        yield {...latest, content: released(latest.content), source: input};
        // The rules are done with the file read in place: the run fails, naming it, if a page they read was
        // no longer the page checked (storage/file-pages.ts).
        if (pages !== undefined) releaseFilePages(pages);
      } finally {
        if (pages !== undefined) closeFilePages(pages);
      }
      return;
    }
    const {requireSnapshotsInRange} = await import('../storage/input.js');
    // A file read in place stays open while the rules read its pages: readSnapshotsInRange closes it when the
    // next file is asked for, and fails the run, naming it, if a page read was no longer the page checked.
    for await (const file of requireSnapshotsInRange(input, {since, ...problems, inPlace: true})) {
      for (const scanId of file.scanIds) {
        const scansInFile = Number(selectAll(file.db, 'SELECT count(*) AS n FROM scans')[0]?.n);
        const bytes = scansInFile === 1 ? released(file.inPlace ?? inSharedMemory(file.db.export())) : await onlyScan(file.db, scanId);
        yield {
          content: bytes,
          scanIds: [scanId],
          tables: heldTables(file.scans, [scanId]),
          scans: file.scans.filter((s) => s.id === scanId),
          source: input,
          ...processCounts(file.db, [scanId]),
        };
      }
    }
  };
}

/** For `query`: the live snapshot, or every scan of `--input` in range in ONE database (joins across scans). */
export async function querySnapshot(options: SnapshotSourceOptions, needs: SnapshotNeeds): Promise<SnapshotForDetection> {
  const {config, input, since} = options;
  if (input === undefined) return live(config, needs, [], options.onWarning);
  const {loadScansIntoOneDatabase} = await import('../storage/input.js');
  const merged = await loadScansIntoOneDatabase(input, {
    maxQueryMb: config.storage.max_query_mb,
    ...(since === undefined ? {} : {since}),
    ...readOptionsOf(options),
    // Each file is only read (its rows copied into the one database): a file this build wrote is not imported first.
    inPlace: true,
  });
  const scanIds = merged.scans.map((s) => s.id);
  let counts: ReturnType<typeof processCounts>;
  try {
    counts = processCounts(merged.db, scanIds);
  } catch (error) {
    merged.db.close();
    throw error;
  }
  return {content: closeToShared(merged.db), scanIds, tables: heldTables(merged.scans, scanIds), scans: merged.scans, source: input, ...counts};
}
