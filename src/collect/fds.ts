// The file descriptors of one process: /proc/PID/fd listed and each link read once, shared by
// process_open_sockets and process_open_files so a scan asking for both reads the links once.
import {readdirSync, readlinkSync} from 'node:fs';

import {errorCode, isGone} from './proc-read.js';

export interface FdLink {
  readonly fd: number;
  /** The link text: a path (maybe ending in ` (deleted)`), `socket:[N]`, `pipe:[N]`, `anon_inode:[…]`. */
  readonly target: string;
}

/**
 * The fds of a process in ascending order, or `unreadable` (permission denied: another user's process
 * without root) or `gone` (it exited). An fd closed between the listing and its readlink is skipped.
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
    try {
      links.push({fd: Number(name), target: readlinkSync(`${dir}/${name}`)});
    } catch {
      // Closed meanwhile.
    }
  }
  return links.sort((a, b) => a.fd - b.fd);
}
