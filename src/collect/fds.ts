// The file descriptors of one process: /proc/PID/fd listed and each link read once, shared by
// process_open_sockets and process_open_files so a scan asking for both reads the links once.
import {readdirSync, readlinkSync} from 'node:fs';

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

/**
 * The fds of a process in ascending order, or `unreadable` (permission denied: another user's process
 * without root) or `gone` (it exited). An fd closed between the listing and its readlink is skipped.
 * `procRoot` is the /proc to read (a test may give another).
 */
export function readFdLinks(procRoot: string, pid: number): FdLink[] | 'unreadable' | 'gone' {
  const dir = `${procRoot}/${pid}/fd`;
  let names: string[];
  try {
    names = readdirSync(dir);
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
  return links.sort((a, b) => a.fd - b.fd);
}

/** The fd's open file (its link followed) is the file at the full marked path in the process's root. */
function literallyNamed(procRoot: string, pid: number, fdPath: string, target: string): boolean {
  const open = statQuiet(fdPath);
  return open !== undefined && sameFileAt(Buffer.concat([Buffer.from(`${procRoot}/${pid}/root`), Buffer.from(target, 'latin1')]), open) !== undefined;
}
