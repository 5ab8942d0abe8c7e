// `daemoneye diff` as a library call: resolve OLD and NEW (two snapshot files or stores: the latest scan of
// each; or one store: its last two scans), load each scan with its listening ports when it holds them,
// and compare (src/diff/snapshot-diff.ts). A store file that cannot be used is reported and skipped, and the
// diff says which (skipped_files). How it prints is src/diff/diff-view.ts.
import type {Database} from 'sql.js';

import {DaemonEyeError} from '../errors.js';
import type {ScanRecord} from '../models/scan.js';
import type {ReadOptions} from '../storage/input.js';
import type {ReadRedaction} from '../storage/redact-snapshot.js';
import type {SnapshotLimits} from '../storage/snapshot-file.js';
import {readScanProcesses, readTableRows} from '../storage/table-rows.js';
import {type DiffSide, diffSnapshotsSteps, type SkippedFile, type SnapshotDiff} from '../diff/snapshot-diff.js';
import {runSliced} from '../util/steps.js';

async function sideOf(db: Database, scan: ScanRecord, source: string): Promise<DiffSide> {
  return {source, scan, processes: await readScanProcesses(db, scan.id), listening: await readTableRows(db, scan, 'listening_ports')};
}

/** The latest scan of a snapshot file or store. */
async function latestSide(path: string, read: ReadOptions): Promise<DiffSide> {
  const {loadLatestScan} = await import('../storage/input.js');
  const latest = await loadLatestScan(path, read);
  try {
    return await sideOf(latest.db, latest.scans[0] as ScanRecord, path);
  } finally {
    latest.db.close();
  }
}

/** The last two scans of a store directory (or of a file holding several), older first; `skipped`: the files passed over so far. */
async function lastTwo(path: string, read: ReadOptions, skipped: readonly SkippedFile[]): Promise<[DiffSide, DiffSide]> {
  const {openSnapshotInput, readListedFile} = await import('../storage/input.js');
  const input = openSnapshotInput(path);
  // The two latest scans so far, newest first.
  const sides: DiffSide[] = [];
  const secondStart = (): number => (sides.length < 2 ? -Infinity : (sides[1] as DiffSide).scan.start_time);
  // Newest files first; files without a tool-made name (time unknown) after them, always opened: their scans
  // decide, and an unusable one is reported, never passed over in silence.
  const files = [...input.files.filter((f) => f.time !== null).reverse(), ...input.files.filter((f) => f.time === null)];
  for (const file of files) {
    if (file.time !== null && file.time < secondStart()) continue; // cannot hold one of the two latest
    const loaded = await readListedFile(input, file, read);
    if (loaded === undefined) continue;
    try {
      for (const scan of loaded.scans) {
        if (scan.start_time <= secondStart()) continue;
        sides.push(await sideOf(loaded.db, scan, file.path));
        sides.sort((a, b) => b.scan.start_time - a.scan.start_time);
        sides.length = Math.min(sides.length, 2);
      }
    } finally {
      loaded.db.close();
    }
  }
  if (sides.length < 2) {
    const unusable = skipped.length === 0 ? '' : ` usable (${skipped.length} unusable file${skipped.length === 1 ? '' : 's'} skipped, named above)`;
    throw new DaemonEyeError('INPUT_NOT_FOUND', `${path} holds ${sides.length} scan${sides.length === 1 ? '' : 's'}${unusable}; a diff needs two`, {
      file: path,
      hint: skipped.length === 0 ? 'take another with `daemoneye scan --store`, or give OLD and NEW' : 'move the unusable files out of the store',
    });
  }
  const [newer, older] = sides as [DiffSide, DiffSide];
  return older.scan.start_time <= newer.scan.start_time ? [older, newer] : [newer, older];
}

export interface DiffOptions {
  /** OLD and NEW, or one store (its last two scans); none: `defaultStore`. */
  readonly inputs: readonly string[];
  readonly defaultStore: string;
  /** The redaction policy applied to both sides (src/storage/redact-snapshot.ts): default policy when absent; false: as stored. */
  readonly redaction?: ReadRedaction;
  /** Limits on each file read (`storage.max_snapshot_mb`); the default when absent. */
  readonly limits?: SnapshotLimits;
  /** Each store file that cannot be used, as it is skipped (absent: such a file stops the diff). */
  readonly onProblem?: (problem: DaemonEyeError) => void;
  /** A file read that holds objects a snapshot never has (ignoredWarning, src/storage/input.ts), one line each. */
  readonly onWarning: (warning: string) => void;
}

/**
 * Resolve the inputs and compare. Usage errors (three inputs) and an unusable single file throw (exit 2); an
 * unusable file of a store goes to `onProblem`, is skipped and named in the result's `skipped_files`.
 */
export async function diffInputs(options: DiffOptions): Promise<SnapshotDiff> {
  const {inputs, onProblem} = options;
  const skipped: SkippedFile[] = [];
  const read: ReadOptions = {
    onWarning: options.onWarning,
    ...(options.redaction === undefined ? {} : {redaction: options.redaction}),
    ...(options.limits === undefined ? {} : {limits: options.limits}),
    ...(onProblem === undefined
      ? {}
      : {
          onProblem: (problem: DaemonEyeError) => {
            // The problem itself (the report adds that the file was skipped, which skipped_files says already).
            const cause = problem.cause instanceof DaemonEyeError ? problem.cause : problem;
            skipped.push({file: problem.file ?? '?', problem: cause.message});
            onProblem(problem);
          },
        }),
  };
  if (inputs.length > 2)
    throw new DaemonEyeError('USAGE', `diff takes OLD and NEW (or one store), not ${inputs.length} inputs`, {hint: 'see daemoneye diff --help'});
  let diff: SnapshotDiff;
  if (inputs.length === 2) {
    const before = await latestSide(inputs[0] as string, read);
    const after = await latestSide(inputs[1] as string, read);
    diff = await runSliced(diffSnapshotsSteps(before, after));
  } else {
    const [older, newer] = await lastTwo(inputs[0] ?? options.defaultStore, read, skipped);
    diff = await runSliced(diffSnapshotsSteps(older, newer));
  }
  return skipped.length === 0 ? diff : {...diff, skipped_files: skipped};
}
