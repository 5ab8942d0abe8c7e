// The live-response tables of one scan: after the process walk, read only the tables asked for (a rule, a
// query or `scan --tables` needs them), each /proc file once: fd links once for sockets and open files,
// each network namespace's socket tables once. What cannot be read (another user's process without root)
// is left out and counted per table, never an abort.
import {LIVE_TABLE_SCHEMAS, type LiveTableName} from '../models/live-tables.js';
import type {ProcessRecord} from '../models/process.js';
import type {CollectedTable, TableRow} from '../models/tables.js';
import {type EnvSelection, parseEnviron} from './envs.js';
import {type FdLink, readFdLinks} from './fds.js';
import {readMaps} from './maps.js';
import {openFileRows} from './open-files.js';
import {readProcTextIfThere} from './proc-read.js';
import {listeningRows, readSocketIndex, socketRows} from './sockets.js';

/** The tables this module fills (the registry's collected tables other than `processes`). */
export const LIVE_TABLES = Object.keys(LIVE_TABLE_SCHEMAS) as LiveTableName[];

/** The tables read from /proc/PID/maps (maps.ts), once for both. */
const MAPS_TABLES: ReadonlySet<string> = new Set(['process_memory_map', 'process_libraries']);

export interface LiveTablesOptions {
  readonly procRoot: string;
  readonly scanId: number;
  /** The processes of the scan (their pid, net_ns and kernel_thread are used). */
  readonly processes: readonly ProcessRecord[];
  readonly tables: ReadonlySet<string>;
  readonly env: EnvSelection;
}

export interface LiveTablesResult {
  /** Row objects per table; process_memory_map as flat values (tens of thousands of rows). */
  readonly rows: Record<string, CollectedTable>;
  /** Per table: processes whose files for it could not be read (permission denied). */
  readonly unreadable: Record<string, number>;
  readonly ms: number;
}

/** Read the requested live tables for every process of the scan. */
export function collectLiveTables(options: LiveTablesOptions): LiveTablesResult {
  const started = performance.now();
  const {procRoot, scanId, tables} = options;
  const rows: Record<string, TableRow[]> = {};
  const unreadable: Record<string, number> = {};
  for (const table of LIVE_TABLES) {
    if (tables.has(table)) {
      if (!MAPS_TABLES.has(table)) rows[table] = [];
      unreadable[table] = 0;
    }
  }
  const wantSockets = tables.has('process_open_sockets') || tables.has('listening_ports');
  const wantFiles = tables.has('process_open_files');
  const processes = options.processes.filter((p) => p.platform_data?.kernel_thread !== true);
  const netNsOf = (p: ProcessRecord): number | null => (typeof p.platform_data?.net_ns === 'number' ? p.platform_data.net_ns : null);

  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    let index: ReturnType<typeof readSocketIndex>['index'] | undefined;
    if (wantSockets) {
      const byNs = new Map<number | null, number[]>();
      for (const p of processes) {
        const ns = netNsOf(p);
        const list = byNs.get(ns);
        if (list === undefined) byNs.set(ns, [p.pid]);
        else if (list.length < 8) list.push(p.pid);
      }
      const read = readSocketIndex(procRoot, byNs);
      index = read.index;
      if (read.unreadable > 0) {
        if (tables.has('process_open_sockets')) unreadable.process_open_sockets = (unreadable.process_open_sockets ?? 0) + read.unreadable;
        if (tables.has('listening_ports')) unreadable.listening_ports = (unreadable.listening_ports ?? 0) + read.unreadable;
      }
    }
    const count = (table: string): void => {
      if (unreadable[table] !== undefined) unreadable[table]++;
    };
    for (const process of processes) {
      const pid = process.pid;
      if (wantSockets || wantFiles) {
        const fds: FdLink[] | 'unreadable' | 'gone' = readFdLinks(procRoot, pid);
        if (fds === 'unreadable') {
          count('process_open_sockets');
          count('listening_ports');
          count('process_open_files');
        } else if (fds !== 'gone') {
          if (wantSockets && index !== undefined) {
            const sockets = socketRows(scanId, pid, fds, index, netNsOf(process));
            rows.process_open_sockets?.push(...sockets);
            rows.listening_ports?.push(...listeningRows(sockets));
          }
          if (wantFiles) rows.process_open_files?.push(...openFileRows(scanId, pid, fds));
        }
      }
      if (tables.has('process_envs')) {
        const text = readProcTextIfThere(`${procRoot}/${pid}/environ`, 'latin1');
        if (text === 'unreadable') count('process_envs');
        else if (text !== 'gone') rows.process_envs?.push(...parseEnviron(scanId, pid, text, options.env));
      }
    }
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
  const collected: Record<string, CollectedTable> = {...rows};
  const wanted = {memoryMap: tables.has('process_memory_map'), libraries: tables.has('process_libraries')};
  if (wanted.memoryMap || wanted.libraries) {
    const maps = readMaps(
      procRoot,
      scanId,
      processes.map((p) => p.pid),
      wanted,
    );
    if (wanted.memoryMap) {
      collected.process_memory_map = {values: maps.values, rows: maps.rows};
      unreadable.process_memory_map = maps.unreadable.length;
    }
    if (wanted.libraries) {
      collected.process_libraries = maps.libraries;
      unreadable.process_libraries = maps.unreadable.length;
    }
  }
  return {rows: collected, unreadable, ms: Math.round((performance.now() - started) * 10) / 10};
}
