// process_open_files: every file descriptor of a process that is not a socket (sockets have their own
// table), with the kernel's ` (deleted)` marker turned into a column and the path in the one text form.
import type {ProcessOpenFileRow} from '../models/live-tables.js';
import type {FdLink} from './fds.js';
import {DELETED_MARKER} from './parsers.js';
import {escapeLatin1} from './text-encoding.js';

/** One process's rows from its fd links; `socket:[N]` links are left to process_open_sockets. */
export function openFileRows(scanId: number, pid: number, fds: readonly FdLink[]): ProcessOpenFileRow[] {
  const rows: ProcessOpenFileRow[] = [];
  for (const {fd, target, deleted} of fds) {
    if (target.startsWith('socket:[')) continue;
    rows.push({scan_id: scanId, pid, fd, path: escapeLatin1(deleted ? target.slice(0, -DELETED_MARKER.length) : target), deleted});
  }
  return rows;
}
