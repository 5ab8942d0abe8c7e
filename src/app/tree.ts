// The process tree's use case (`scan --tree`, `detect --tree`): the latest scan of a saved input with its
// processes and, when the snapshot holds a `process_open_sockets` table, their sockets by pid.
// src/tree/process-tree.ts builds the forest from them, here in slices (a signal ends the run at once while a
// large snapshot's tree is built: src/util/steps.ts); src/tree/tree-view.ts draws it.
import type {DaemonEyeError} from '../errors.js';
import type {ProcessRecord} from '../models/process.js';
import type {ScanRecord} from '../models/scan.js';
import type {ReadRedaction} from '../storage/redact-snapshot.js';
import type {SnapshotLimits} from '../storage/snapshot-file.js';
import {buildProcessTreeSteps, type ProcessTreeNode, type ProcessTreeOptions, socketsByPidSteps, type TreeSocket} from '../tree/process-tree.js';
import type {ProcessOpenSocketRow} from '../models/live-tables.js';
import {runSliced} from '../util/steps.js';

export interface SavedScan {
  readonly scan: ScanRecord;
  readonly processes: ProcessRecord[];
  readonly sockets: Map<number, TreeSocket[]>;
  readonly path: string;
}

/**
 * The latest scan of `--input` (a snapshot file or store directory), with its sockets when it holds them; its
 * secret columns redacted by `redaction` (default: the default policy; false: as stored); each file read within
 * `limits` (`storage.max_snapshot_mb`; the default when absent).
 */
export async function loadLatestSavedScan(
  input: string,
  options: {
    /** A file holding objects a snapshot never has (ignoredWarning, src/storage/input.ts): said here, as every reader says it. */
    readonly onWarning: (warning: string) => void;
    /** An unusable file of a store, skipped. */
    readonly onProblem?: (problem: DaemonEyeError) => void;
    readonly redaction?: ReadRedaction;
    readonly limits?: SnapshotLimits;
  },
): Promise<SavedScan> {
  const {onProblem, redaction, limits} = options;
  const [{loadLatestScan}, {readScanProcesses, readTableRows}] = await Promise.all([import('../storage/input.js'), import('../storage/table-rows.js')]);
  const latest = await loadLatestScan(input, {
    onWarning: options.onWarning,
    ...(onProblem === undefined ? {} : {onProblem}),
    ...(redaction === undefined ? {} : {redaction}),
    ...(limits === undefined ? {} : {limits}),
  });
  try {
    const scan = latest.scans[0] as ScanRecord;
    const sockets = await treeSockets((await readTableRows(latest.db, scan, 'process_open_sockets')) ?? []);
    return {scan, processes: await readScanProcesses(latest.db, scan.id), sockets, path: latest.path};
  } finally {
    latest.db.close();
  }
}

/** The forest of `processes` (src/tree/process-tree.ts buildProcessTree), built in slices. */
export function processTree(processes: readonly ProcessRecord[], options: ProcessTreeOptions = {}): Promise<ProcessTreeNode[]> {
  return runSliced(buildProcessTreeSteps(processes, options));
}

/** `process_open_sockets` rows as tree sockets by pid (src/tree/process-tree.ts socketsByPid), in slices. */
export function treeSockets(rows: readonly (TreeSocket & Pick<ProcessOpenSocketRow, 'pid'>)[]): Promise<Map<number, TreeSocket[]>> {
  return runSliced(socketsByPidSteps(rows));
}
