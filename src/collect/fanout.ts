// Fan-out limits: how much of a per-process source whose size the process itself chooses (its open fds, its
// memory maps) a scan reads. Without them one unprivileged process holding half a million fds, or a few
// dozen of them, make a scan run for minutes and take gigabytes, and what they hide behind is every other
// process of the scan. The rule: every process is read up to a floor (its lowest fds: stdio, where a reverse
// shell's socket sits; its first maps in the kernel's order), so no process can hide another; only the
// processes that have more are read further, after everyone's floor, each to an equal share of what is left
// of the scan's budget among those still waiting (and never past a ceiling). The scan's cost stays linear in
// its processes: at most the budget, or every floor when the floors alone pass it. A process that was cut
// short is never silent: the scan's warnings name it with how much was read of how much.
import type {LiveTableSource} from '../models/live-tables.js';

/** The sources a process fans out into (a live table's /proc source). */
export type FanoutSource = LiveTableSource;

/** The limits of one source (collection.fanout.fds / .maps): counts of entries (fds, or lines of maps). */
export interface FanoutLimits {
  /** Entries of every process read whatever the budget. */
  readonly floor: number;
  /** Entries of one process never read past. */
  readonly ceiling: number;
  /** Entries the scan reads of this source over all its processes (the floors are read even past it). */
  readonly budget: number;
}

/** A process read short of what it holds: `read` entries of `total` (null: more than `read`, how many the kernel does not say). */
export interface FanoutCut {
  readonly pid: number;
  readonly read: number;
  readonly total: number | null;
}

/**
 * The first read of every process: its floor, never past the ceiling. A process that has more than this waits
 * for a second read (fanoutShare) once every process had its first.
 */
export function firstRead(limits: FanoutLimits): number {
  return Math.min(limits.floor, limits.ceiling);
}

/**
 * How many entries in all a process waiting for its second read may have: its first read plus an equal
 * share of what is left of the budget (`budget - spent`, `spent` counting every entry read so far, first reads
 * included) among the `waiting` processes still waiting (itself included), never past the ceiling and never
 * below the first read. A process that takes less than its share leaves the rest to those after it.
 */
export function fanoutShare(limits: FanoutLimits, spent: number, waiting: number): number {
  const first = firstRead(limits);
  const left = Math.max(0, limits.budget - spent);
  return Math.max(first, Math.min(limits.ceiling, first + Math.floor(left / Math.max(1, waiting))));
}

/** One source's budget over a scan: what was read so far and who was cut short. */
export class FanoutBudget {
  private spent = 0;
  readonly cuts: FanoutCut[] = [];

  constructor(readonly limits: FanoutLimits) {}

  /** The entries of a first read (firstRead). */
  get first(): number {
    return firstRead(this.limits);
  }

  /** `entries` more were read. */
  spend(entries: number): void {
    this.spent += Math.max(0, entries);
  }

  /** The whole allowance of the next process waiting for its second read, `waiting` of them left (fanoutShare). */
  share(waiting: number): number {
    return fanoutShare(this.limits, this.spent, waiting);
  }

  /** Entries read so far. */
  get used(): number {
    return this.spent;
  }
}

/** What each source holds, as a warning names it, and the tables made from it. */
const SOURCE_WORDS: Readonly<Record<LiveTableSource, {readonly entries: string; readonly tables: string; readonly key: string; readonly order: string}>> = {
  fd: {
    entries: 'file descriptors',
    tables: 'process_open_files, process_open_sockets, process_fd_peers',
    key: 'collection.fanout.fds',
    order: 'their lowest fds (stdio first)',
  },
  maps: {
    entries: 'memory maps',
    tables: 'process_memory_map, process_libraries',
    key: 'collection.fanout.maps',
    order: "their first maps (the kernel's order, by address)",
  },
  environ: {entries: 'environment entries', tables: 'process_envs', key: 'collection.fanout', order: 'their first entries'},
};

/** How every warning of a collection limit starts (scans.errors; `scan` and `detect` also print them). */
export const COLLECTION_LIMIT_PREFIX = 'collection limit: ';

/** Processes a warning names before it says how many more there are (one line, whatever the flood). */
const NAMED_CUTS = 10;

/** A count as a warning writes it (`19,003`). */
export const figure = (n: number): string => n.toLocaleString('en-US');

/**
 * The processes a `collection limit: ` warning names, e.g. `pid 4242: 1,024 of 19,003 bytes; …; and 3 more`:
 * at most NAMED_CUTS, those holding most first (by `total`, or by what was read when the kernel did not say),
 * then how many more. `unit` follows each count (` bytes`, or nothing for entries).
 */
export function namedCuts(cuts: readonly FanoutCut[], unit = ''): string {
  const named = [...cuts]
    .sort((a, b) => (b.total ?? b.read) - (a.total ?? a.read) || a.pid - b.pid)
    .slice(0, NAMED_CUTS)
    .map(({pid, read, total}) => `pid ${pid}: ${figure(read)} of ${total === null ? `more than ${figure(read)}` : figure(total)}${unit}`)
    .join('; ');
  return cuts.length > NAMED_CUTS ? `${named}; and ${figure(cuts.length - NAMED_CUTS)} more` : named;
}

/**
 * The one warning line of a source's cuts, e.g. `collection limit: 3 processes hold more file descriptors
 * than the scan read (pid 4242: 1,024 of 19,003; …); process_open_files, … hold only their lowest fds (stdio
 * first): raise collection.fanout.fds (budget, ceiling) to read more`. At most NAMED_CUTS pids, then how
 * many more, those holding most first. The prefix `collection limit: ` is stable: `scans.errors` and SIEMs may match it.
 */
export function fanoutWarning(source: FanoutSource, cuts: readonly FanoutCut[]): string {
  const words = SOURCE_WORDS[source];
  const count = `${figure(cuts.length)} process${cuts.length === 1 ? ' holds' : 'es hold'}`;
  return `${COLLECTION_LIMIT_PREFIX}${count} more ${words.entries} than the scan read (${namedCuts(cuts)}); ${words.tables} hold only ${words.order}: raise ${words.key} (budget, ceiling) to read more`;
}

/**
 * The warning of a network namespace's socket table read only to its first `read` lines
 * (collection.fanout.socket_table_lines): its sockets are listed in the kernel's hash order, so a socket past
 * them, whichever process holds it, is known by its fd's inode only.
 */
export function socketTableWarning(netNs: number | null, file: string, read: number): string {
  const where = netNs === null ? 'a network namespace' : `network namespace ${netNs}`;
  return `${COLLECTION_LIMIT_PREFIX}/proc/net/${file} of ${where} lists more sockets than the scan read (${figure(read)} lines); a socket listed past them has its process_open_sockets row without family, addresses or state, and no listening_ports row: raise collection.fanout.socket_table_lines to read more`;
}
