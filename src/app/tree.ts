// The process tree's use case (`scan --tree`, `detect --tree`): the latest scan of a saved input with its
// processes and, when the snapshot holds a `process_open_sockets` table, their sockets by pid.
// src/tree/process-tree.ts builds the forest from them; src/tree/tree-view.ts draws it.
import type {Database} from 'sql.js';

import type {ProcessRecord} from '../models/process.js';
import {rowToProcess} from '../models/process.js';
import type {ScanRecord} from '../models/scan.js';
import type {DaemonEyeError} from '../errors.js';
import {selectAll} from '../storage/database.js';
import {tableColumns} from '../storage/migrations.js';
import type {TreeSocket} from '../tree/process-tree.js';

/** The table of per-process sockets (its columns as given by the live-response tables). */
export const SOCKETS_TABLE = 'process_open_sockets';

const text = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));
const int = (value: unknown): number | null => (typeof value === 'number' ? value : value === null || value === undefined ? null : Number(value));

/** `process_open_sockets` rows (live or read from a snapshot) as tree sockets, by pid, in fd order. */
export function socketsByPid(rows: readonly Readonly<Record<string, unknown>>[]): Map<number, TreeSocket[]> {
  const byPid = new Map<number, TreeSocket[]>();
  for (const row of [...rows].sort((a, b) => Number(a.pid) - Number(b.pid) || Number(a.fd) - Number(b.fd))) {
    const pid = Number(row.pid);
    const socket: TreeSocket = {
      fd: int(row.fd),
      family: text(row.family),
      protocol: typeof row.protocol === 'number' ? row.protocol : text(row.protocol),
      local_address: text(row.local_address),
      local_port: int(row.local_port),
      remote_address: text(row.remote_address),
      remote_port: int(row.remote_port),
      state: text(row.state),
      path: text(row.path),
    };
    byPid.set(pid, [...(byPid.get(pid) ?? []), socket]);
  }
  return byPid;
}

/** Sockets of one scan by pid; an empty map when the snapshot has no sockets table. */
export function socketsOfScan(db: Database, scanId: number): Map<number, TreeSocket[]> {
  // An older snapshot migrated in memory has the table; a scan that did not collect it has no rows in it.
  if (tableColumns(db, SOCKETS_TABLE).length === 0) return new Map();
  return socketsByPid(selectAll(db, `SELECT * FROM ${SOCKETS_TABLE} WHERE scan_id = ?`, [scanId]));
}

/** The processes of one scan of a loaded snapshot, by pid. */
export function processesOfScan(db: Database, scanId: number): ProcessRecord[] {
  return selectAll(db, 'SELECT * FROM processes WHERE scan_id = ? ORDER BY pid', [scanId]).map(rowToProcess);
}

export interface SavedScan {
  readonly scan: ScanRecord;
  readonly processes: ProcessRecord[];
  readonly sockets: Map<number, TreeSocket[]>;
  readonly path: string;
}

/** The latest scan of `--input` (a snapshot file or store directory), with its sockets when it holds them. */
export async function loadLatestSavedScan(input: string, onProblem?: (problem: DaemonEyeError) => void): Promise<SavedScan> {
  const {loadLatestScan} = await import('../storage/input.js');
  const latest = await loadLatestScan(input, onProblem === undefined ? {} : {onProblem});
  try {
    const scan = latest.scans[0] as ScanRecord;
    return {scan, processes: processesOfScan(latest.db, scan.id), sockets: socketsOfScan(latest.db, scan.id), path: latest.path};
  } finally {
    latest.db.close();
  }
}
