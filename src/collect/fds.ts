// The file descriptors of one process: /proc/PID/fd listed and each link read once, shared by
// process_open_sockets and process_open_files so a scan asking for both reads the links once.
import {opendirSync, readdirSync, readlinkSync} from 'node:fs';

import {DELETED_MARKER} from './parsers.js';
import {errorCode, isGone, sameFileAt, statQuiet} from './proc-read.js';

export interface FdLink {
  readonly fd: number;
  /**
   * The link's bytes, one latin1 character per byte (a path need not be UTF-8; escapeLatin1 gives its text):
   * a path (maybe ending in ` (deleted)`), `socket:[N]`, `pipe:[N]`, `anon_inode:[…]`.
   */
  readonly target: string;
  /**
   * The target ends in the kernel's ` (deleted)` marker and the open file is not a file really named so
   * (sameFileAt): the file was unlinked while open.
   */
  readonly deleted: boolean;
}

/** What one listing of /proc/PID/fd gave: the links read, ascending by fd, and whether fds were left unread. */
export interface FdListing {
  readonly links: FdLink[];
  /** Fds listed (an fd closed before its readlink, or whose link is refused, is listed but has no link). */
  readonly listed: number;
  /** The listing stopped at its limit with fds left (fdCount says how many the process holds). */
  readonly more: boolean;
}

/**
 * The fds of a process in ascending order, at most `limit` of them: the lowest (the kernel lists
 * /proc/PID/fd in ascending order, so the listing stops there without reading the rest: a process may hold a
 * million fds). Or `unreadable` (permission denied: another user's process without root) or `gone` (it
 * exited). An fd closed between the listing and its readlink is skipped. `procRoot` is the /proc to read (a
 * test may give another).
 */
export function readFdLinks(procRoot: string, pid: number, limit = Number.POSITIVE_INFINITY): FdListing | 'unreadable' | 'gone' {
  const dir = `${procRoot}/${pid}/fd`;
  let names: string[];
  let more = false;
  try {
    if (limit === Number.POSITIVE_INFINITY) {
      names = readdirSync(dir);
    } else {
      names = [];
      const listing = opendirSync(dir, {bufferSize: 256});
      try {
        for (let entry = listing.readSync(); entry !== null; entry = listing.readSync()) {
          if (names.length >= limit) {
            more = true;
            break;
          }
          names.push(entry.name);
        }
      } finally {
        listing.closeSync();
      }
    }
  } catch (error) {
    return isGone(errorCode(error)) ? 'gone' : 'unreadable';
  }
  const links: FdLink[] = [];
  for (const name of names) {
    let target: string;
    try {
      target = readlinkSync(`${dir}/${name}`, {encoding: 'buffer'}).toString('latin1');
    } catch {
      continue; // Closed meanwhile.
    }
    links.push({
      fd: Number(name),
      target,
      deleted: target.startsWith('/') && target.endsWith(DELETED_MARKER) && !literallyNamed(procRoot, pid, `${dir}/${name}`, target),
    });
  }
  return {links: links.sort((a, b) => a.fd - b.fd), listed: names.length, more};
}

/**
 * How many fds the process holds, without listing them: the size the kernel gives /proc/PID/fd (Linux 6.2
 * and later), or null (an older kernel says 0; the process is gone).
 */
export function fdCount(procRoot: string, pid: number): number | null {
  const size = statQuiet(`${procRoot}/${pid}/fd`)?.size;
  return size === undefined || size <= 0 ? null : size;
}

/** The fd's open file (its link followed) is the file at the full marked path in the process's root. */
function literallyNamed(procRoot: string, pid: number, fdPath: string, target: string): boolean {
  const open = statQuiet(fdPath);
  return open !== undefined && sameFileAt(Buffer.concat([Buffer.from(`${procRoot}/${pid}/root`), Buffer.from(target, 'latin1')]), open) !== undefined;
}
