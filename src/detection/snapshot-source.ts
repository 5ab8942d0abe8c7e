// Where a detection run or a query gets its snapshot: saved input (`--input FILE|DIR`, `--since`) or a live
// collection. The engine takes snapshot file bytes; this module is the one place that produces them.
// MINIMAL READER: until the storage and collect modules land this reads snapshot files and store
// directories itself (checks, latest file of a store); it is replaced by src/storage once merged.
import {readdirSync, readFileSync, statSync} from 'node:fs';
import {join} from 'node:path';

import {DaemonEyeError, fileError} from '../errors.js';
import {loadSqlJs, SCHEMA_VERSION, selectAll} from '../storage/database.js';

export interface SnapshotForDetection {
  readonly bytes: Uint8Array;
  /** Scans in the snapshot, oldest first. */
  readonly scanIds: readonly number[];
  /** What was read: a file path, or `live`. */
  readonly source: string;
}

const SQLITE_MAGIC = 'SQLite format 3\u0000';

async function checkedBytes(path: string, bytes: Uint8Array, since: number | undefined): Promise<SnapshotForDetection> {
  if (Buffer.from(bytes.subarray(0, 16)).toString('latin1') !== SQLITE_MAGIC) {
    throw new DaemonEyeError('INPUT_CORRUPT', `${path} is not a snapshot file (not an SQLite database)`, {
      file: path,
      hint: 'give a file written by `daemoneye scan --output`',
    });
  }
  const SQL = await loadSqlJs();
  let db;
  try {
    db = new SQL.Database(bytes);
    const version = Number(selectAll(db, "SELECT value FROM meta WHERE key = 'schema_version'")[0]?.value);
    if (!Number.isInteger(version)) throw new Error('no schema_version in meta');
    if (version > SCHEMA_VERSION) {
      throw new DaemonEyeError('INPUT_INCOMPATIBLE', `${path} has snapshot schema ${version}; this DaemonEye reads up to ${SCHEMA_VERSION}`, {
        file: path,
        hint: 'upgrade DaemonEye',
      });
    }
    const scans = selectAll(db, 'SELECT id FROM scans WHERE ? IS NULL OR start_time >= ? ORDER BY start_time', [since ?? null, since ?? null]).map((r) =>
      Number(r.id),
    );
    return {bytes, scanIds: scans, source: path};
  } catch (error) {
    if (error instanceof DaemonEyeError) throw error;
    throw new DaemonEyeError('INPUT_CORRUPT', `${path} is not a valid snapshot file: ${(error as Error).message}`, {file: path, cause: error});
  } finally {
    db?.close();
  }
}

/** A snapshot file, or the newest snapshot file of a store directory. */
export async function snapshotFromInput(path: string, options: {since?: number} = {}): Promise<SnapshotForDetection> {
  let file = path;
  try {
    if (statSync(path).isDirectory()) {
      const names = readdirSync(path)
        .filter((name) => name.endsWith('.db') && !name.startsWith('.'))
        .sort();
      const newest = names.at(-1);
      if (newest === undefined)
        throw new DaemonEyeError('INPUT_NOT_FOUND', `no snapshot files in store ${path}`, {file: path, hint: 'take one with `daemoneye scan --store DIR`'});
      file = join(path, newest);
    }
    return await checkedBytes(file, new Uint8Array(readFileSync(file)), options.since);
  } catch (error) {
    throw fileError(error, file, 'read');
  }
}

/** `--input` when given, else a live snapshot. */
export function snapshotProvider(options: {input?: string | undefined; since?: number | undefined}): () => Promise<SnapshotForDetection> {
  const {input, since} = options;
  if (input !== undefined) return () => snapshotFromInput(input, since === undefined ? {} : {since});
  return () => {
    throw new DaemonEyeError('USAGE', 'live snapshots are not wired yet in this build', {hint: 'give --input FILE|DIR'});
  };
}
