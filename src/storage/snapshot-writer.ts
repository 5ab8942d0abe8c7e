// A live scan's snapshot database, filled while the scan collects: the live-response tables' rows go into
// it batch by batch as the /proc walk makes them (src/collect/snapshot.ts, CollectOptions.stream), and the
// scan's own rows (meta, scans, processes, alerts) when the walk is done. No table's rows for the whole host
// are held as JavaScript values, nor flattened a second time: what a build from collected rows
// (snapshot-file.ts, snapshotBuild) holds at once, this holds one batch at a time. The database it makes
// holds the same rows, in the same order per table, as the build of the same rows would
// (test/storage/snapshot-writer.test.ts), so every reader of snapshot files reads it unchanged.
import type {Database} from 'sql.js';

import type {TableStream} from '../collect/snapshot.js';
import type {Alert} from '../models/alert.js';
import type {ProcessRecord} from '../models/process.js';
import type {ScanRecord} from '../models/scan.js';
import type {CollectedTable} from '../models/tables.js';
import {insertFlatRows, loadSqlJs, schemaStatements} from './database.js';
import type {SnapshotBuildTable} from './snapshot-build.js';
import {scanTableBuild, snapshotBuild} from './snapshot-file.js';

/** Rows a table gathers before they are inserted: a few hundred KB of values for the widest tables. */
export const DEFAULT_BATCH_ROWS = 2048;

/** A snapshot database being filled with one scan's rows. */
export interface SnapshotWriter {
  /** Rows per batch the collector gathers per table before `write` (CollectOptions.stream). */
  readonly batchRows: number;
  /** Insert one batch of a live-response table's rows (without scan ids: stamped with the scan's). */
  write(table: string, rows: CollectedTable): void;
  /**
   * Insert the scan, its processes and alerts (and the meta rows), and return the snapshot file's bytes.
   * The database is closed afterwards, whether it succeeded or threw.
   */
  finish(scan: ScanRecord, processes: readonly ProcessRecord[], alerts?: readonly Alert[]): Uint8Array;
  /** Let the database go without a file (a failed scan); nothing after it. Idempotent. */
  close(): void;
}

/**
 * A new, empty snapshot database (the registry's schema) for the scan `scanId`, taking its live-response
 * tables' rows as they come. `batchRows`: rows per batch (tests make it small to cross many batch
 * boundaries). Throws sql.js's error if the schema cannot be created.
 */
export async function openSnapshotWriter(scanId: number, options: {readonly batchRows?: number} = {}): Promise<SnapshotWriter> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database();
  try {
    // One transaction for the whole build (committed by `finish`): a batch's own transaction nests in it as a
    // savepoint, so batches do not each commit (a journal file written and deleted per batch).
    db.exec(`${schemaStatements().join(';\n')};\nBEGIN`);
  } catch (error) {
    db.close();
    throw error;
  }
  return new DatabaseWriter(db, scanId, Math.max(1, Math.floor(options.batchRows ?? DEFAULT_BATCH_ROWS)));
}

class DatabaseWriter implements SnapshotWriter {
  private open = true;

  constructor(
    private readonly db: Database,
    private readonly scanId: number,
    readonly batchRows: number,
  ) {}

  write(table: string, rows: CollectedTable): void {
    if (!this.open) throw new Error('the snapshot writer is closed');
    this.insert(scanTableBuild(table, rows, this.scanId));
  }

  finish(scan: ScanRecord, processes: readonly ProcessRecord[], alerts: readonly Alert[] = []): Uint8Array {
    if (!this.open) throw new Error('the snapshot writer is closed');
    if (scan.id !== this.scanId) throw new Error(`scan ${scan.id} finishes a snapshot of scan ${this.scanId}`);
    try {
      // The same rows as a build of the scan without its live tables (those are in already).
      for (const table of snapshotBuild(scan, processes, alerts).tables) this.insert(table);
      this.db.exec('COMMIT');
      return this.db.export();
    } finally {
      this.close();
    }
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.db.close();
  }

  private insert(table: SnapshotBuildTable): void {
    insertFlatRows(this.db, {name: table.name, columns: table.columns.map((name) => ({name}))}, table.values, table.stamp);
  }
}

/** A live scan streamed into its snapshot database: what collectSnapshot is given, and the file once it returns. */
export interface StreamedSnapshot {
  /** CollectOptions.stream: opens the database when the scan's first live table rows come. */
  readonly stream: TableStream;
  /** The snapshot file of the collected scan (the database is opened now if no live table was collected). */
  bytes(scan: ScanRecord, processes: readonly ProcessRecord[], alerts?: readonly Alert[]): Promise<Uint8Array>;
  /** Let the database go (after `bytes`, or when the scan failed). Idempotent. */
  close(): void;
}

/**
 * Stream a live scan into a new snapshot database (src/collect/snapshot.ts, CollectOptions.stream): its
 * live-response tables' rows go in batch by batch while the walk runs; `keep` names tables whose rows the
 * snapshot also returns (a tree's sockets). Call `bytes` once the scan is collected, `close` always.
 */
export function streamedSnapshot(keep: readonly string[] = [], options: {readonly batchRows?: number} = {}): StreamedSnapshot {
  let writer: SnapshotWriter | undefined;
  return {
    stream: {
      open: async (scanId) => {
        writer?.close();
        writer = await openSnapshotWriter(scanId, options);
        return writer;
      },
      keep,
    },
    bytes: async (scan, processes, alerts = []) => {
      writer ??= await openSnapshotWriter(scan.id, options);
      return writer.finish(scan, processes, alerts);
    },
    close: () => writer?.close(),
  };
}
