// Store directories: one snapshot file per scan, named `scan-<UTC time>-<scan_id>.db`, so concurrent
// writers never conflict and an append costs the same whatever the history; retention prunes the oldest.
import {lstatSync, readdirSync, type Stats, statSync, unlinkSync} from 'node:fs';
import {join} from 'node:path';

import {DaemonEyeError, fileError, systemErrorCode} from '../errors.js';
import type {Alert} from '../models/alert.js';
import type {ProcessRecord} from '../models/process.js';
import type {ScanRecord} from '../models/scan.js';
import {AtomicFileWriter, removeStaleTempFiles, TEMP_PREFIX} from '../util/atomic-write.js';
import {notRegularFile} from '../util/read-file.js';
import {settleRun, signalTurn} from '../util/interrupt.js';
import {ensureStateDirectory} from '../util/state-file.js';
import {serializeSnapshot, withAlerts, SNAPSHOT_FILE_MODE, type SnapshotWriteResult, type TableRowsByName} from './snapshot-file.js';
import {makeDirectory} from '../util/directory.js';

/** A store directory holds the snapshot files and nothing else: only its owner may list or read it. */
export const STORE_DIR_MODE = 0o700;

const STORE_FILE = /^scan-(\d{8}T\d{6}(?:\.\d{3})?Z)-(\d+)(?:-\d+)?\.db$/;

/** Where diagnostics of the storage layer go (the CLI passes its stderr logger). */
export interface StorageLog {
  info(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
}

/** How much history a store keeps (`storage.retention_days`, `storage.max_scans`, `storage.max_size_mb`); null: no limit. */
export interface RetentionPolicy {
  readonly retentionDays: number | null;
  readonly maxScans: number | null;
  readonly maxSizeMb: number | null;
}

/** One snapshot file in a store directory, as its listing sees it. */
export interface StoreFile {
  readonly path: string;
  readonly name: string;
  /** Scan start time from the file name (epoch ms); null for a `*.db` file not named by this tool. */
  readonly time: number | null;
  readonly scanId: number | null;
  readonly bytes: number;
  /**
   * Why the entry cannot be a snapshot file, when it cannot: a symbolic link that loops or whose target is
   * missing, a directory (or a link to one), a FIFO, socket or device. Every reader reports it (one line naming
   * the file) and skips it; retention leaves it alone.
   */
  readonly problem?: DaemonEyeError;
}

/** Basic ISO 8601 UTC with milliseconds (`20241231T235959.123Z`): sortable, and no colons in file names. */
function compactUtc(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '');
}

function parseCompactUtc(text: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(?:\.(\d{3}))?Z$/.exec(text);
  if (m === null) return Number.NaN;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7] ?? 0));
}

/** The file name of a scan in a store: `scan-<UTC start time>-<scan_id>.db`. */
export function storeFileName(scan: Pick<ScanRecord, 'id' | 'start_time'>, suffix = 0): string {
  return `scan-${compactUtc(scan.start_time)}-${scan.id}${suffix === 0 ? '' : `-${suffix}`}.db`;
}

/** Time and scan id from a store file name; undefined when the name is not one of ours. */
export function parseStoreFileName(name: string): {time: number; scanId: number} | undefined {
  const match = STORE_FILE.exec(name);
  if (match === null) return undefined;
  const time = parseCompactUtc(match[1] as string);
  const scanId = Number(match[2]);
  if (Number.isNaN(time) || !Number.isSafeInteger(scanId)) return undefined;
  return {time, scanId};
}

/** True for a file a store reader takes: `*.db`, not a temp file. */
export function isSnapshotFileName(name: string): boolean {
  return name.endsWith('.db') && !name.startsWith(TEMP_PREFIX) && !name.startsWith('.');
}

const SNAPSHOT_FILE = {what: 'snapshot file'} as const;

/**
 * Why the store entry `path` (`entry`: its lstat) cannot be a snapshot file, or undefined when it can (a regular
 * file, or a link to one). A link is followed once and judged by its target, as a single input file is; a link
 * that loops or whose target is missing is named as such.
 */
function unusableEntry(path: string, entry: Stats): DaemonEyeError | undefined {
  if (!entry.isSymbolicLink()) return entry.isFile() ? undefined : notRegularFile(path, entry, SNAPSHOT_FILE);
  let target: Stats;
  try {
    target = statSync(path);
  } catch (error) {
    const code = systemErrorCode(error);
    const link = (what: string): DaemonEyeError =>
      new DaemonEyeError('INPUT_UNREADABLE', `is a symbolic link ${what}, not a snapshot file`, {file: path, hint: 'delete the link'});
    if (code === 'ELOOP') return link('that loops');
    if (code === 'ENOENT' || code === 'ENOTDIR') return link('whose target does not exist');
    return fileError(error, path, 'read');
  }
  return target.isFile() ? undefined : notRegularFile(path, target, SNAPSHOT_FILE);
}

/**
 * The snapshot files of a store directory, oldest first (by the time in the name; files not named by
 * this tool come first, since their time is only known once opened). Temp files and other names are ignored;
 * a `*.db` entry that cannot be a snapshot file is listed with its `problem` (readers report and skip it).
 */
export function listStoreFiles(dir: string): StoreFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    throw fileError(error, dir, 'read');
  }
  const files: StoreFile[] = [];
  for (const name of names) {
    if (!isSnapshotFileName(name)) continue;
    const path = join(dir, name);
    let entry: Stats;
    try {
      entry = lstatSync(path);
    } catch {
      continue; // pruned by a concurrent writer between readdir and lstat
    }
    const problem = unusableEntry(path, entry);
    let bytes = entry.size;
    if (problem === undefined && entry.isSymbolicLink()) {
      try {
        bytes = statSync(path).size;
      } catch {
        continue; // the link's target went meanwhile
      }
    }
    const parsed = parseStoreFileName(name);
    files.push({path, name, time: parsed?.time ?? null, scanId: parsed?.scanId ?? null, bytes, ...(problem === undefined ? {} : {problem})});
  }
  return files.sort((a, b) => (a.time ?? -Infinity) - (b.time ?? -Infinity) || a.name.localeCompare(b.name));
}

/**
 * Create a store directory (0700, parents too) if it does not exist; an existing one keeps its mode but must
 * be a directory of this user that others cannot write (they could plant snapshot files): STATE_UNSAFE.
 */
export function ensureStoreDir(dir: string): void {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch (error) {
    if (systemErrorCode(error) !== 'ENOENT') throw fileError(error, dir, 'create');
    try {
      makeDirectory(dir, STORE_DIR_MODE);
    } catch (inner) {
      throw fileError(inner, dir, 'create');
    }
    return;
  }
  if (!isDirectory) {
    throw new DaemonEyeError('IO_WRITE_FAILED', 'the store path exists and is not a directory', {
      file: dir,
      hint: 'point --store or storage.path at a directory',
    });
  }
  ensureStateDirectory(dir, 'store directory');
}

/** A snapshot file the retention policy removed, and why. */
export interface PrunedFile {
  readonly name: string;
  readonly reason: 'retention_days' | 'max_scans' | 'max_size_mb';
}

/**
 * Apply the retention policy to a store: files older than retention_days, then the oldest beyond
 * max_scans, then the oldest until the store fits max_size_mb. `keep` (the file just written) is never
 * removed. Concurrent writers may prune at once: each removes the oldest of what it sees and a file
 * already gone is skipped, so they converge on the same result.
 */
export function applyRetention(dir: string, policy: RetentionPolicy, options: {now?: number; keep?: string; log?: StorageLog} = {}): PrunedFile[] {
  const now = options.now ?? Date.now();
  // An entry that is no snapshot file (a directory, a link, a device) is not ours to prune: readers report it.
  const files = listStoreFiles(dir).filter((file) => file.time !== null && file.problem === undefined);
  const pruned: PrunedFile[] = [];
  const remove = (file: StoreFile, reason: PrunedFile['reason']): void => {
    try {
      unlinkSync(file.path);
    } catch (error) {
      if (systemErrorCode(error) !== 'ENOENT') throw fileError(error, file.path, 'remove');
    }
    pruned.push({name: file.name, reason});
  };
  let kept = files;
  if (policy.retentionDays !== null) {
    const cutoff = now - policy.retentionDays * 86_400_000;
    for (const file of kept) if ((file.time as number) < cutoff && file.path !== options.keep) remove(file, 'retention_days');
    kept = kept.filter((file) => !pruned.some((p) => p.name === file.name));
  }
  if (policy.maxScans !== null) {
    while (kept.length > policy.maxScans && kept[0] !== undefined && kept[0].path !== options.keep) remove(kept.shift() as StoreFile, 'max_scans');
  }
  if (policy.maxSizeMb !== null) {
    const limit = policy.maxSizeMb * 1024 * 1024;
    let total = kept.reduce((sum, file) => sum + file.bytes, 0);
    while (total > limit && kept[0] !== undefined && kept[0].path !== options.keep) {
      const oldest = kept.shift() as StoreFile;
      total -= oldest.bytes;
      remove(oldest, 'max_size_mb');
    }
  }
  if (pruned.length > 0 && options.log !== undefined) {
    const reasons = [...new Set(pruned.map((p) => p.reason))].map((reason) => `${reason}=${String(policyValue(policy, reason))}`).join(', ');
    options.log.info(
      `store ${dir}: pruned ${pruned.length} old snapshot file${pruned.length > 1 ? 's' : ''} (${reasons}): ${pruned.map((p) => p.name).join(' ')}`,
    );
  }
  return pruned;
}

function policyValue(policy: RetentionPolicy, reason: PrunedFile['reason']): number | null {
  return reason === 'retention_days' ? policy.retentionDays : reason === 'max_scans' ? policy.maxScans : policy.maxSizeMb;
}

/** The retention policy of a configuration's `storage` section. */
export function retentionFromConfig(storage: {retention_days: number | null; max_scans: number | null; max_size_mb: number | null}): RetentionPolicy {
  return {retentionDays: storage.retention_days, maxScans: storage.max_scans, maxSizeMb: storage.max_size_mb};
}

/** What appending a scan to a store did. */
export interface StoreAppendResult extends SnapshotWriteResult {
  readonly pruned: PrunedFile[];
  readonly removedTemps: string[];
}

/**
 * Add one scan to a store directory as a new snapshot file (`scan --store DIR`), then prune by the
 * retention policy. The directory is created (0700) if needed; stale temp files of killed writers are
 * removed first.
 */
export async function appendToStore(
  dir: string,
  scan: ScanRecord,
  processes: readonly ProcessRecord[],
  options: {
    alerts?: readonly Alert[];
    retention?: RetentionPolicy;
    log?: StorageLog;
    now?: number;
    tables?: TableRowsByName;
    /** The scan's snapshot file already built (its processes and live tables: snapshot-writer.ts): `alerts` are added to it, `tables` unused. */
    snapshot?: Uint8Array;
  } = {},
): Promise<StoreAppendResult> {
  ensureStoreDir(dir);
  const removedTemps = removeStaleTempFiles(dir, options.now === undefined ? {} : {now: options.now});
  if (removedTemps.length > 0) options.log?.debug(`store ${dir}: removed ${removedTemps.length} temp file(s) left by killed writers`);
  const alerts = options.alerts ?? [];
  if (options.snapshot?.length === 0) throw new Error('an empty snapshot file given to the store (its bytes were let go)');
  const bytes = options.snapshot === undefined ? await serializeSnapshot(scan, processes, alerts, options.tables) : await withAlerts(options.snapshot, alerts);
  // Published under a new name, never replacing one: two runs that picked the same name both keep their scan.
  const writer = new AtomicFileWriter(join(dir, storeFileName(scan, 0)), {mode: SNAPSHOT_FILE_MODE});
  writer.write(bytes);
  // A signal that came during the write ends the run before the file joins the store (src/util/interrupt.ts).
  await signalTurn();
  const path = writer.commitAsNew((attempt) => storeFileName(scan, attempt));
  // The scan is in the store: a first signal from here on lets the run finish (its rows, its audit entry) and
  // end 0, so 143 always means nothing was added (src/util/interrupt.ts settleRun).
  settleRun();
  const pruned = options.retention === undefined ? [] : applyRetention(dir, options.retention, {now: options.now, keep: path, log: options.log});
  return {path, bytes: bytes.length, scanIds: [scan.id], processCount: processes.length, alertCount: alerts.length, pruned, removedTemps};
}
