// Saving a scan where the user asked (`scan --output FILE`, `scan --store [DIR]`): one call for the
// command, returning the facts worth logging and auditing.
import type {Alert} from '../models/alert.js';
import type {ProcessRecord} from '../models/process.js';
import type {ScanRecord} from '../models/scan.js';
import {type SnapshotWriteResult, type TableRowsByName, writeSnapshotFile} from './snapshot-file.js';
import {appendToStore, type RetentionPolicy, type StorageLog, type StoreAppendResult} from './store.js';

export interface SaveTargets {
  /** Write one snapshot file here (replaced whole if it exists). */
  readonly outputPath?: string;
  /** Add a new snapshot file to this store directory, then apply `retention`. */
  readonly storeDir?: string;
  readonly retention?: RetentionPolicy;
  readonly log?: StorageLog;
  /** Rows of the live-response tables the scan collected. */
  readonly tables?: TableRowsByName;
  /**
   * The scan's snapshot file already built (its processes and live tables went into it while collecting:
   * snapshot-writer.ts); `tables` is then unused. Written as it is, with `alerts` added.
   */
  readonly snapshot?: Uint8Array;
  /** Hears how an output that is a link, device or FIFO was written (src/util/output-file.ts). */
  readonly note?: (message: string) => void;
}

export interface SaveResult {
  readonly output?: SnapshotWriteResult;
  readonly store?: StoreAppendResult;
}

/** Save one scan to a snapshot file and/or a store directory. Nothing is written when neither is given. */
export async function saveScan(
  scan: ScanRecord,
  processes: readonly ProcessRecord[],
  targets: SaveTargets,
  alerts: readonly Alert[] = [],
): Promise<SaveResult> {
  const content = targets.snapshot === undefined ? (targets.tables ?? {}) : {bytes: targets.snapshot};
  const output = targets.outputPath === undefined ? undefined : await writeSnapshotFile(targets.outputPath, scan, processes, alerts, content, targets.note);
  const store =
    targets.storeDir === undefined
      ? undefined
      : await appendToStore(targets.storeDir, scan, processes, {
          alerts,
          retention: targets.retention,
          log: targets.log,
          ...(targets.snapshot === undefined ? {} : {snapshot: targets.snapshot}),
          ...(targets.tables === undefined ? {} : {tables: targets.tables}),
        });
  return {...(output === undefined ? {} : {output}), ...(store === undefined ? {} : {store})};
}
