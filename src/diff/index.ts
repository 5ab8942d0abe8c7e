// `daemoneye diff` as a library call: resolve OLD and NEW (two snapshot files or stores: the latest scan of
// each; or one store: its last two scans), load each scan with its listening ports when it holds them,
// and compare (snapshot-diff.ts).
import type {Database} from 'sql.js';

import {DaemonEyeError} from '../errors.js';
import {rowToProcess} from '../models/process.js';
import type {ScanRecord} from '../models/scan.js';
import {ocsfProcessLaunch} from '../output/ocsf.js';
import {renderNdjsonLine} from '../output/render.js';
import type {View} from '../output/view.js';
import {selectAll} from '../storage/database.js';
import {tableColumns} from '../storage/migrations.js';
import {type DiffResult, type DiffSide, diffSnapshots, type ListeningPort, type SnapshotDiff} from './snapshot-diff.js';

export * from './snapshot-diff.js';

/** The table of listening sockets (columns as given by the live-response tables). */
export const LISTENING_PORTS_TABLE = 'listening_ports';

/** Listening ports of one scan, or null when the snapshot has no such table. */
export function listeningPortsOfScan(db: Database, scanId: number): ListeningPort[] | null {
  const columns = tableColumns(db, LISTENING_PORTS_TABLE);
  if (columns.length === 0) return null;
  // Every snapshot has the table; only a scan that collected it (scans.tables) says what was listening.
  if (tableColumns(db, 'scans').includes('tables')) {
    const listed = selectAll(db, 'SELECT tables FROM scans WHERE id = ?', [scanId])[0]?.tables;
    const collected = typeof listed === 'string' ? (JSON.parse(listed) as unknown) : null;
    if (!Array.isArray(collected) || !collected.includes(LISTENING_PORTS_TABLE)) return null;
  }
  const where = columns.includes('scan_id') ? ' WHERE scan_id = ?' : '';
  return selectAll(db, `SELECT * FROM ${LISTENING_PORTS_TABLE}${where}`, where === '' ? [] : [scanId]).map((row) => ({
    pid: row.pid === null || row.pid === undefined ? null : Number(row.pid),
    port: Number(row.port),
    protocol: typeof row.protocol === 'number' ? row.protocol : row.protocol === null || row.protocol === undefined ? null : String(row.protocol),
    family: row.family === null || row.family === undefined ? null : String(row.family),
    address: row.address === null || row.address === undefined ? null : String(row.address),
  }));
}

function sideOf(db: Database, scan: ScanRecord, source: string): DiffSide {
  return {
    source,
    scan,
    processes: selectAll(db, 'SELECT * FROM processes WHERE scan_id = ? ORDER BY pid', [scan.id]).map(rowToProcess),
    listening: listeningPortsOfScan(db, scan.id),
  };
}

/** The latest scan of a snapshot file or store. */
async function latestSide(path: string): Promise<DiffSide> {
  const {loadLatestScan} = await import('../storage/input.js');
  const latest = await loadLatestScan(path);
  try {
    return sideOf(latest.db, latest.scans[0] as ScanRecord, path);
  } finally {
    latest.db.close();
  }
}

/** The last two scans of a store directory (or of a file holding several), older first. */
async function lastTwo(path: string): Promise<[DiffSide, DiffSide]> {
  const {openSnapshotInput} = await import('../storage/input.js');
  const {readSnapshotFile} = await import('../storage/snapshot-file.js');
  const input = openSnapshotInput(path);
  const sides: DiffSide[] = [];
  // Newest files first; files without a tool-made name (time unknown) after them.
  const files = [...input.files.filter((f) => f.time !== null).reverse(), ...input.files.filter((f) => f.time === null)];
  for (const file of files) {
    if (sides.length >= 2) break;
    const loaded = await readSnapshotFile(file.path);
    try {
      for (const scan of [...loaded.scans].reverse()) {
        if (sides.length >= 2) break;
        sides.push(sideOf(loaded.db, scan, file.path));
      }
    } finally {
      loaded.db.close();
    }
  }
  if (sides.length < 2) {
    throw new DaemonEyeError('INPUT_NOT_FOUND', `${path} holds ${sides.length} scan${sides.length === 1 ? '' : 's'}; a diff needs two`, {
      file: path,
      hint: 'take another with `daemoneye scan --store`, or give OLD and NEW',
    });
  }
  const [newer, older] = sides as [DiffSide, DiffSide];
  return older.scan.start_time <= newer.scan.start_time ? [older, newer] : [newer, older];
}

export interface DiffOptions {
  /** OLD and NEW, or one store (its last two scans); none: `defaultStore`. */
  readonly inputs: readonly string[];
  readonly defaultStore: string;
}

/** Resolve the inputs and compare. Usage errors (three inputs) and unusable files throw (exit 2). */
export async function diffInputs(options: DiffOptions): Promise<SnapshotDiff> {
  const {inputs} = options;
  if (inputs.length > 2)
    throw new DaemonEyeError('USAGE', `diff takes OLD and NEW (or one store), not ${inputs.length} inputs`, {hint: 'see daemoneye diff --help'});
  if (inputs.length === 2) {
    const before = await latestSide(inputs[0] as string);
    const after = await latestSide(inputs[1] as string);
    return diffSnapshots(before, after);
  }
  const [older, newer] = await lastTwo(inputs[0] ?? options.defaultStore);
  return diffSnapshots(older, newer);
}

function detail(result: DiffResult): string {
  const c = result.columns;
  const text = (value: unknown): string => (Array.isArray(value) ? value.join(',') : value === null || value === undefined ? '' : String(value));
  switch (result.name) {
    case 'processes':
      return `${text(c.pid)} ${text(c.user)} ${text(c.cmdline) || `[${text(c.name)}]`}`;
    case 'new_executables':
      return `${text(c.executable_path)} ${text(c.executable_hash) || '(not hashed)'} pids ${text(c.pids)}`;
    case 'executable_hashes':
      return `${text(c.executable_path)} ${text(c.old_hashes)} → ${text(c.executable_hash)} pids ${text(c.pids)}`;
    case 'parent_child':
      return `${text(c.parent_executable)} → ${text(c.child_executable)} (pid ${text(c.parent_pid)} → ${text(c.child_pid)})`;
    case 'listening_ports':
      return `${text(c.protocol)} ${text(c.address)}:${text(c.port)} ${text(c.executable_path) || text(c.name)} pid ${text(c.pid)}`;
  }
}

/**
 * How `diff` prints (src/output/view.ts): one osquery-style result per NDJSON line; `--format json` the
 * whole diff (`old`, `new`, `results`, `counts`); a table of ACTION, WHAT, DETAIL on a terminal; `--format ocsf`
 * one OCSF Process Activity: Launch event per process new since the older scan.
 */
export function diffView(diff: SnapshotDiff): View<DiffResult> {
  return {
    rows: diff.results,
    document: diff,
    columns: [
      {header: 'ACTION', get: (r: DiffResult) => r.action},
      {header: 'WHAT', get: (r: DiffResult) => r.name},
      {header: 'DETAIL', get: detail},
    ],
    text: {
      // OCSF has a class for a process new since the other scan (Process Activity: Launch); the other changes
      // (removed processes, new executables and hashes, ports) have none and are in the NDJSON output.
      ocsf: (rows) =>
        rows
          .filter((r) => r.name === 'processes' && r.action === 'added')
          .map((r) => renderNdjsonLine(ocsfProcessLaunch(r.columns, r.host, r.unixTime * 1000)))
          .join(''),
    },
  };
}

/** One stderr line: what was compared and how much changed. */
export function diffSummaryLine(diff: SnapshotDiff): string {
  const counts = Object.entries(diff.counts)
    .map(([key, n]) => `${n} ${key.replace(':', ' ')}`)
    .join(', ');
  const ports = diff.compared_listening_ports ? '' : ' (listening ports not compared: a scan holds none)';
  return `scan ${diff.old.scan_id} (${diff.old.source}) → scan ${diff.new.scan_id} (${diff.new.source}): ${diff.results.length === 0 ? 'no changes' : counts}${ports}`;
}
