// Messages between the detection engine and its rule workers.
import type {SnapshotContent} from '../storage/snapshot-build.js';

export type WorkerRequest =
  | {
      readonly type: 'load';
      readonly snapshotId: string;
      /** The snapshot file's bytes, or the rows to build its database from (a live snapshot). */
      readonly content: SnapshotContent;
      readonly lists: Readonly<Record<string, readonly string[]>>;
    }
  | {readonly type: 'run'; readonly taskId: number; readonly sql: string; readonly maxRows: number};

export type WorkerResponse =
  | {readonly type: 'ready'}
  /** `bytes`: the database the worker built from a SnapshotBuild, exported, for any later worker to load as a file. */
  | {readonly type: 'loaded'; readonly snapshotId: string; readonly bytes?: Uint8Array}
  | {
      readonly type: 'rows';
      readonly taskId: number;
      readonly columns: string[];
      readonly rows: (string | number | null)[][];
      readonly truncated: boolean;
      readonly elapsedMs: number;
    }
  | {readonly type: 'failed'; readonly taskId: number | null; readonly message: string}
  /** The in-process lane (in-process-lane.ts) stopped the query at its limit; a worker is stopped by terminate() instead. */
  | {readonly type: 'stopped'; readonly taskId: number};
