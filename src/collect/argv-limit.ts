// Command-line limits: how much of a process's argv a scan keeps (collection.argv). Whoever starts a process
// chooses its argv's length, up to about 6 MiB (with `ulimit -s unlimited`, a quarter of the 24 MiB stack
// cap), and every byte kept is copied into the snapshot and through each rule that reads `cmdline`: forty
// unprivileged processes of 6 MB each made a live detect take a minute and 2.5 GB, and its rules time out.
// The rule, as for fds and maps (the fan-out limits): every process is kept up to a floor, then the
// processes whose argv is longer are read again, after the walk, each to an equal share of what is left of
// the scan's budget among those still waiting, never past a ceiling. What is kept is the head and the tail
// (an attacker pads the middle, and a shell's script is the first arguments), with one marker argument where
// the middle was, so a rule, a query and a reader all see the cut. Each process cut is named in the scan's
// warnings, the fan-out limits' way (fanout.ts).
import {COLLECTION_LIMIT_PREFIX, figure, namedCuts} from './fanout.js';

/** The limits (collection.argv), in bytes of /proc/PID/cmdline (the NULs between arguments included). */
export interface ArgvLimits {
  /** Bytes of every process's argv kept whatever the budget. */
  readonly floor: number;
  /** Bytes of one process's argv never kept past. */
  readonly ceiling: number;
  /** Bytes of argv a scan keeps over all its processes (every floor is kept even past it). */
  readonly budget: number;
}

/** A process whose argv was kept short: `read` bytes of its `total` (bytes of /proc/PID/cmdline). */
export interface ArgvCut {
  readonly pid: number;
  readonly read: number;
  readonly total: number;
}

/** How the marker argument starts: `SELECT pid FROM processes WHERE instr(cmdline, '[daemoneye: ') > 0` finds every cut. */
export const ARGV_CUT_MARKER_PREFIX = '[daemoneye: ';

/** The argument put where the middle of a cut argv was, e.g. `[daemoneye: 5,801,234 of 5,900,000 bytes of argv not kept]`. */
export function argvCutMarker(cut: number, total: number): string {
  return `${ARGV_CUT_MARKER_PREFIX}${figure(cut)} of ${figure(total)} bytes of argv not kept]`;
}

/**
 * The arguments kept of an argv cut short: those of `head` (the first bytes of /proc/PID/cmdline), the marker,
 * then those of `tail` (its last bytes). Whole arguments where the cut falls between two; an argument the cut
 * falls inside keeps its start at the end of the head (or its end at the start of the tail), beside the marker.
 * `total` is the file's length in bytes.
 */
export function cutArgvBytes(head: Buffer, tail: Buffer, total: number): Buffer[] {
  const split = (bytes: Buffer): Buffer[] => {
    const args: Buffer[] = [];
    let start = 0;
    for (let nul = bytes.indexOf(0); nul >= 0; nul = bytes.indexOf(0, start)) {
      args.push(bytes.subarray(start, nul));
      start = nul + 1;
    }
    args.push(bytes.subarray(start));
    return args;
  };
  const headArgs = split(head);
  // A head ending on a NUL ends between two arguments: the empty piece after it is no argument.
  if (headArgs.length > 1 && headArgs[headArgs.length - 1]?.length === 0) headArgs.pop();
  const tailArgs = split(tail);
  // argv ends with a NUL (unless rewritten by setproctitle), and a tail starting on one starts between two.
  if (tailArgs.length > 1 && tailArgs[tailArgs.length - 1]?.length === 0) tailArgs.pop();
  if (tailArgs.length > 1 && tailArgs[0]?.length === 0) tailArgs.shift();
  const marker = Buffer.from(argvCutMarker(total - head.length - tail.length, total), 'latin1');
  return [...headArgs, marker, ...tailArgs];
}

/** The bytes a process waiting for its second read may keep in all: its floor plus an equal share of what is left of the budget (`spent` so far) among the `waiting` processes (itself included), never past the ceiling. */
export function argvShare(limits: ArgvLimits, spent: number, waiting: number): number {
  const floor = Math.min(limits.floor, limits.ceiling);
  const left = Math.max(0, limits.budget - spent);
  return Math.max(floor, Math.min(limits.ceiling, floor + Math.floor(left / Math.max(1, waiting))));
}

/**
 * The one warning line of the scan's argv cuts, e.g. `collection limit: 2 processes have a longer command line
 * than the scan kept (pid 4242: 1,048,576 of 5,900,000 bytes; …); processes.command_line and cmdline hold
 * their first and last bytes with a "[daemoneye: N of M bytes of argv not kept]" argument between: raise
 * collection.argv (budget, ceiling) to keep more`. At most ten pids, the longest first, then how many more.
 */
export function argvWarning(cuts: readonly ArgvCut[]): string {
  const count = `${figure(cuts.length)} process${cuts.length === 1 ? ' has' : 'es have'}`;
  return `${COLLECTION_LIMIT_PREFIX}${count} a longer command line than the scan kept (${namedCuts(cuts, ' bytes')}); processes.command_line and cmdline hold their first and last bytes with a "${ARGV_CUT_MARKER_PREFIX}N of M bytes of argv not kept]" argument between: raise collection.argv (budget, ceiling) to keep more`;
}
