// The plumbing between processes: what kind of file each fd is (pipe, FIFO, terminal, …) and, across every
// process of a scan, which processes hold the other end of each pipe, FIFO and pseudo-terminal
// (process_fd_peers). A reverse shell relayed through socat, a FIFO, openssl or python's pty.spawn shows as a
// shell whose stdio's peer holds a network socket.
import {statSync, type Stats} from 'node:fs';

import type {CollectedRow, OPEN_FILE_TYPES, ProcessFdPeerRow} from '../models/live-tables.js';
import type {FdLink} from './fds.js';
import {readProcText} from './proc-read.js';

export type OpenFileType = (typeof OPEN_FILE_TYPES)[number];
export type FdAccess = 'r' | 'w' | 'rw';

/** What one fd is, beyond its link text. */
export interface FdFacts {
  readonly type: OpenFileType | null;
  readonly inode: number | null;
  readonly ptyIndex: number | null;
  readonly access: FdAccess | null;
  /** Device of the open file (FIFOs: with the inode, the FIFO's identity; terminals: the devpts instance). */
  readonly device: number | null;
}

const PTY_SLAVE_MAJOR_MIN = 136;
const PTY_SLAVE_MAJOR_MAX = 143;
const PTMX = {major: 5, minor: 2};

/** Major and minor of a Linux device number (glibc's gnu_dev_major/minor). */
export function deviceNumbers(rdev: number): {major: number; minor: number} {
  const dev = BigInt(rdev);
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  return {major, minor};
}

/**
 * The access mode and, for a terminal master, the terminal number from /proc/PID/fdinfo/FD text
 * (`flags:\t0100002` octal, `tty-index:\t3`). Pure; unknown or missing fields are null.
 */
export function parseFdinfo(text: string): {access: FdAccess | null; ttyIndex: number | null} {
  const flags = /^flags:\s*([0-7]+)$/m.exec(text);
  const mode = flags === null ? null : Number.parseInt(flags[1] ?? '', 8) & 3;
  const access: FdAccess | null = mode === 0 ? 'r' : mode === 1 ? 'w' : mode === 2 ? 'rw' : null;
  const tty = /^tty-index:\s*(\d+)$/m.exec(text);
  return {access, ttyIndex: tty === null ? null : Number(tty[1])};
}

function typeOfStat(stats: Stats): OpenFileType {
  if (stats.isFIFO()) return 'fifo';
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'directory';
  if (stats.isCharacterDevice()) {
    const {major, minor} = deviceNumbers(stats.rdev);
    if (major >= PTY_SLAVE_MAJOR_MIN && major <= PTY_SLAVE_MAJOR_MAX) return 'pty';
    if (major === PTMX.major && minor === PTMX.minor) return 'pty_master';
    return 'character';
  }
  if (stats.isBlockDevice()) return 'block';
  return 'other';
}

function fdinfo(procRoot: string, pid: number, fd: number): {access: FdAccess | null; ttyIndex: number | null} {
  try {
    return parseFdinfo(readProcText(`${procRoot}/${pid}/fdinfo/${fd}`, 'latin1'));
  } catch {
    return {access: null, ttyIndex: null};
  }
}

/**
 * The facts of one fd: a stat of the open file through /proc/PID/fd/N (never opened: a FIFO is not read), and
 * /proc/PID/fdinfo/N for pipes, FIFOs and terminals. `pipe:[N]` needs no stat; `anon_inode:` has no file.
 */
export function fdFacts(procRoot: string, pid: number, link: FdLink): FdFacts {
  const {fd, target} = link;
  if (target.startsWith('anon_inode:')) return {type: 'anon_inode', inode: null, ptyIndex: null, access: null, device: null};
  const pipe = /^pipe:\[(\d+)\]$/.exec(target);
  if (pipe !== null) return {type: 'pipe', inode: Number(pipe[1]), ptyIndex: null, access: fdinfo(procRoot, pid, fd).access, device: null};
  let stats: Stats;
  try {
    stats = statSync(`${procRoot}/${pid}/fd/${fd}`);
  } catch {
    return {type: null, inode: null, ptyIndex: null, access: null, device: null};
  }
  const type = typeOfStat(stats);
  if (type === 'fifo') return {type, inode: stats.ino, ptyIndex: null, access: fdinfo(procRoot, pid, fd).access, device: stats.dev};
  if (type === 'pty') {
    const {major, minor} = deviceNumbers(stats.rdev);
    return {type, inode: stats.ino, ptyIndex: (major - PTY_SLAVE_MAJOR_MIN) * 256 + minor, access: fdinfo(procRoot, pid, fd).access, device: stats.dev};
  }
  if (type === 'pty_master') {
    const info = fdinfo(procRoot, pid, fd);
    return {type, inode: stats.ino, ptyIndex: info.ttyIndex, access: info.access, device: devptsDevice(procRoot, pid)};
  }
  return {type, inode: stats.ino, ptyIndex: null, access: null, device: null};
}

/**
 * The devpts instance a process's `/dev/ptmx` allocates terminals in: the device of `/dev/pts` in its own
 * mount namespace (through /proc/PID/root), so a master pairs only with terminals of the same instance
 * (containers mount their own). Null when it cannot be read.
 */
function devptsDevice(procRoot: string, pid: number): number | null {
  try {
    return statSync(`${procRoot}/${pid}/root/dev/pts`).dev;
  } catch {
    return null;
  }
}

/** One fd of one process with its facts, as the peer resolution needs it. */
export interface FdEnd {
  readonly pid: number;
  readonly fd: number;
  readonly facts: FdFacts;
}

/** At most this many peers are listed per channel end (a build's jobserver pipe is held by hundreds). */
export const MAX_PEERS_PER_CHANNEL = 32;

/**
 * A channel held by more ends than this lists peers for its stdio ends (fds 0-2) only. Any user can fork
 * hundreds of processes that inherit the same thousand pipes: with every end listing its 32 peers, 500 such
 * processes made millions of rows (a live detect collected for 98 s and grew past 4 GB). A relay between a
 * shell and the network joins stdio ends, and an ordinary pipeline's channel has a few ends, so rows stay at
 * most 32 per stdio fd plus the small channels' own.
 */
export const MAX_ENDS_EVERY_FD_LISTED = 16;

const readsFrom = (access: FdAccess | null): boolean => access !== 'w';
const writesTo = (access: FdAccess | null): boolean => access !== 'r';

/** For each index of `ends` (sorted by pid), the index of the first end of the next pid. */
function nextPidIndex(ends: readonly FdEnd[]): number[] {
  const next = new Array<number>(ends.length);
  for (let i = ends.length - 1; i >= 0; i--) {
    next[i] = i + 1 < ends.length && (ends[i + 1] as FdEnd).pid === (ends[i] as FdEnd).pid ? (next[i + 1] as number) : i + 1;
  }
  return next;
}

/**
 * process_fd_peers rows for every fd end of a scan: pipes by inode, FIFOs by device and inode (the ends that
 * face each other, in other processes), terminals by devpts instance and number (a `pty` pairs with the
 * `pty_master`s of its terminal and the reverse). Peers are sorted by pid and capped at MAX_PEERS_PER_CHANNEL; a
 * channel of more than MAX_ENDS_EVERY_FD_LISTED ends lists the peers of its stdio ends only.
 */
export function fdPeerRows(ends: readonly FdEnd[]): CollectedRow<ProcessFdPeerRow>[] {
  const channels = new Map<string, {channel: 'pipe' | 'fifo' | 'pty'; id: number; ends: FdEnd[]}>();
  const add = (key: string, channel: 'pipe' | 'fifo' | 'pty', id: number, end: FdEnd): void => {
    const entry = channels.get(key);
    if (entry === undefined) channels.set(key, {channel, id, ends: [end]});
    else entry.ends.push(end);
  };
  for (const end of ends) {
    const {type, inode, ptyIndex, device} = end.facts;
    if (type === 'pipe' && inode !== null) add(`pipe:${inode}`, 'pipe', inode, end);
    else if (type === 'fifo' && inode !== null) add(`fifo:${device ?? ''}:${inode}`, 'fifo', inode, end);
    else if ((type === 'pty' || type === 'pty_master') && ptyIndex !== null && device !== null) add(`pty:${device}:${ptyIndex}`, 'pty', ptyIndex, end);
  }
  const rows: CollectedRow<ProcessFdPeerRow>[] = [];
  for (const {channel, id, ends: members} of channels.values()) {
    if (members.length < 2) continue;
    const sorted = [...members].sort((a, b) => a.pid - b.pid || a.fd - b.fd);
    // Two ends of a pipe or FIFO face each other when one may write what the other reads (unknown access:
    // either); a terminal pairs with the other kind. Each end walks only the ends it may pair with, in pid
    // order, jumping over its own pid: a channel held by thousands of ends that never pair (one pipe every
    // process reads) stays linear.
    const pty = channel === 'pty';
    // A pty's peers, or a reader's (the ends that write).
    const ofPtyOrReader = sorted.filter((e) => (pty ? e.facts.type !== 'pty' : writesTo(e.facts.access)));
    // A master's peers, or a writer's (the ends that read).
    const ofMasterOrWriter = sorted.filter((e) => (pty ? e.facts.type === 'pty' : readsFrom(e.facts.access)));
    const skips = new Map<FdEnd[], number[]>();
    const stdioOnly = sorted.length > MAX_ENDS_EVERY_FD_LISTED;
    for (const end of sorted) {
      if (stdioOnly && end.fd > 2) continue;
      const {type, access} = end.facts;
      // An end that both reads and writes (or whose access is unknown) faces every other end of a pipe or FIFO.
      const list = pty
        ? type === 'pty'
          ? ofPtyOrReader
          : ofMasterOrWriter
        : !writesTo(access)
          ? ofPtyOrReader
          : !readsFrom(access)
            ? ofMasterOrWriter
            : sorted;
      let skip = skips.get(list);
      if (skip === undefined) {
        skip = nextPidIndex(list);
        skips.set(list, skip);
      }
      let listed = 0;
      for (let i = 0; i < list.length && listed < MAX_PEERS_PER_CHANNEL;) {
        const peer = list[i] as FdEnd;
        if (peer.pid === end.pid) {
          i = skip[i] as number;
          continue;
        }
        i++;
        rows.push({
          pid: end.pid,
          fd: end.fd,
          channel,
          channel_id: id,
          access: channel === 'pty' ? 'rw' : end.facts.access,
          peer_pid: peer.pid,
          peer_fd: peer.fd,
          peer_access: channel === 'pty' ? 'rw' : peer.facts.access,
        });
        listed++;
      }
    }
  }
  return rows;
}
