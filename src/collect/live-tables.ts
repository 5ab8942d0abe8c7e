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
import {type FdEnd, fdPeerRows} from './fd-peers.js';
import {openFileRows} from './open-files.js';
import {readProcTextIfThere} from './proc-read.js';
import {fdinfoVerdicts, listeningRows, readSocketIndex, resolveUnixSockets, type SocketTables, socketRows} from './sockets.js';

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
  /** What the scan should report besides unreadable files (forged /proc/net/unix lines). */
  readonly problems: readonly string[];
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
  const wantPeers = tables.has('process_fd_peers');
  const wantFiles = tables.has('process_open_files') || wantPeers;
  const ends: FdEnd[] = [];
  const processes = options.processes.filter((p) => p.platform_data?.kernel_thread !== true);
  const netNsOf = (p: ProcessRecord): number | null => (typeof p.platform_data?.net_ns === 'number' ? p.platform_data.net_ns : null);

  const problems: string[] = [];
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    let sockets: SocketTables | undefined;
    if (wantSockets) {
      const byNs = new Map<number | null, number[]>();
      for (const p of processes) {
        const ns = netNsOf(p);
        const list = byNs.get(ns);
        if (list === undefined) byNs.set(ns, [p.pid]);
        else if (list.length < 8) list.push(p.pid);
      }
      sockets = readSocketIndex(procRoot, byNs);
      if (sockets.unreadable > 0) {
        if (tables.has('process_open_sockets')) unreadable.process_open_sockets = (unreadable.process_open_sockets ?? 0) + sockets.unreadable;
        if (tables.has('listening_ports')) unreadable.listening_ports = (unreadable.listening_ports ?? 0) + sockets.unreadable;
      }
    }
    const count = (table: string): void => {
      if (unreadable[table] !== undefined) unreadable[table]++;
    };
    // The fd links of every process first: /proc/net/unix is settled with them (an fd's fdinfo says whether
    // its socket is AF_UNIX) before any socket row is made.
    const fdsOf = new Map<number, FdLink[]>();
    const netNsByPid = new Map(processes.map((p) => [p.pid, netNsOf(p)]));
    for (const process of processes) {
      const pid = process.pid;
      if (wantSockets || wantFiles) {
        const fds: FdLink[] | 'unreadable' | 'gone' = readFdLinks(procRoot, pid);
        if (fds === 'unreadable') {
          count('process_open_sockets');
          count('listening_ports');
          count('process_open_files');
          count('process_fd_peers');
        } else if (fds !== 'gone') {
          if (wantSockets) fdsOf.set(pid, fds);
          if (wantFiles) {
            const files = openFileRows(scanId, pid, fds, procRoot);
            rows.process_open_files?.push(...files.rows);
            if (wantPeers) ends.push(...files.ends);
          }
        }
      }
      if (tables.has('process_envs')) {
        const text = readProcTextIfThere(`${procRoot}/${pid}/environ`, 'latin1');
        if (text === 'unreadable') count('process_envs');
        else if (text !== 'gone') rows.process_envs?.push(...parseEnviron(scanId, pid, text, options.env));
      }
    }
    if (sockets !== undefined) {
      const verdict = fdinfoVerdicts(procRoot, sockets, fdsOf);
      const {forged, ambiguous} = resolveUnixSockets(sockets, verdict);
      if (forged > 0) {
        problems.push(
          `process_open_sockets: ${forged} line${forged === 1 ? '' : 's'} of /proc/net/unix forged by a socket path holding a newline: dropped, and read as part of that path`,
        );
      }
      if (ambiguous > 0) {
        problems.push(
          `process_open_sockets: ${ambiguous} AF_UNIX socket${ambiguous === 1 ? ' is' : 's are'} claimed by two lines of /proc/net/unix that nothing tells apart (a path holding a newline forged one): path and state left empty where they differ`,
        );
      }
      for (const [pid, fds] of fdsOf) {
        const socketRowsOfPid = socketRows(scanId, pid, fds, sockets.index, netNsByPid.get(pid) ?? null);
        rows.process_open_sockets?.push(...socketRowsOfPid);
        rows.listening_ports?.push(...listeningRows(socketRowsOfPid));
      }
    }
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
  if (wantPeers) rows.process_fd_peers = fdPeerRows(scanId, ends);
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
  return {rows: collected, unreadable, problems, ms: Math.round((performance.now() - started) * 10) / 10};
}
