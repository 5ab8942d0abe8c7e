// process_open_files: every file descriptor of a process that is not a socket (sockets have their own
// table), with the kernel's ` (deleted)` marker turned into a column, the path in the one text form, and what
// kind of file it is (fd-peers.ts).
import type {CollectedRow, ProcessOpenFileRow} from '../models/live-tables.js';
import type {FdEnd} from './fd-peers.js';
import {fdFacts} from './fd-peers.js';
import type {FdLink} from './fds.js';
import {DELETED_MARKER} from './parsers.js';
import {escapeLatin1} from './text-encoding.js';

/**
 * One process's rows from its fd links (`socket:[N]` links are left to process_open_sockets), and its pipe,
 * FIFO and terminal ends for process_fd_peers. `procRoot` is the /proc the links were read from.
 */
export function openFileRows(pid: number, fds: readonly FdLink[], procRoot = '/proc'): {rows: CollectedRow<ProcessOpenFileRow>[]; ends: FdEnd[]} {
  const rows: CollectedRow<ProcessOpenFileRow>[] = [];
  const ends: FdEnd[] = [];
  for (const link of fds) {
    const {fd, target, deleted} = link;
    if (target.startsWith('socket:[')) continue;
    const facts = fdFacts(procRoot, pid, link);
    if (facts.type === 'pipe' || facts.type === 'fifo' || facts.type === 'pty' || facts.type === 'pty_master') ends.push({pid, fd, facts});
    rows.push({
      pid,
      fd,
      path: escapeLatin1(deleted ? target.slice(0, -DELETED_MARKER.length) : target),
      deleted,
      type: facts.type,
      inode: facts.inode,
      pty_index: facts.ptyIndex,
      access: facts.access,
    });
  }
  return {rows, ends};
}
