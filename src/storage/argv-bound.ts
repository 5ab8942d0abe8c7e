// A snapshot file's command lines held to what a scan on this host keeps (collection.argv.ceiling). A live
// scan never keeps more of one argv than the ceiling (src/collect/argv-limit.ts), so every rule's cost over
// `command_line` and `cmdline` is bounded by it; a file is another host's word, or an attacker's, and one
// 100 MB command_line in it made every rule that reads argv run out of memory or time (red-team trial 8,
// F5). A longer value is cut here exactly as a scan cuts: the argv's first and last bytes with the
// `[daemoneye: N of M bytes of argv not kept]` argument between, so oversized-command-line reports it, the
// other processes of the file are judged as before, and the reader says which process was cut (docs/storage.md).
import type {Database} from 'sql.js';

import {cutArgvBytes} from '../collect/argv-limit.js';
import {escapeBytes, unescapeBytes} from '../collect/text-encoding.js';

/**
 * Bytes past the ceiling an argv a scan kept may have: the marker argument it puts where the middle was
 * (`[daemoneye: 1,073,741,824 of 1,073,741,824 bytes of argv not kept]` and its NUL, under 80 bytes). A scan's
 * own cut is never cut again.
 */
export const ARGV_MARKER_SLACK = 128;

/**
 * The stored bytes past which a process's argv may be longer than a scan keeps at `ceiling` bytes: its
 * `command_line` (JSON never takes fewer bytes than the argv it holds: each argument's bytes at least once,
 * two quotes and a comma for its NUL), and its `cmdline`, which no kept argv makes longer than four bytes per
 * byte of argv (`\xHH`, the stored form of a byte that is not UTF-8).
 */
export function storedArgvBounds(ceiling: number): {commandLine: number; cmdline: number} {
  return {commandLine: ceiling + ARGV_MARKER_SLACK, cmdline: 4 * (ceiling + ARGV_MARKER_SLACK)};
}

/** One process whose stored argv was longer than a scan here keeps. */
export interface ArgvBound {
  readonly pid: number;
  /** Bytes of the stored `command_line` and `cmdline` as the file held them. */
  readonly commandLineBytes: number;
  readonly cmdlineBytes: number;
  /** Bytes of the argv (its arguments with their NULs) and bytes kept of it: equal when only `cmdline` was too long. */
  readonly total: number;
  readonly kept: number;
}

/** Whether `db`'s processes hold a stored argv longer than a scan keeps at `ceiling` (bytes of argv): SQLite's byte counts, no text read. */
export function hasOverlongArgv(db: Database, ceiling: number): boolean {
  const bounds = storedArgvBounds(ceiling);
  const [row] = db.exec(
    `SELECT EXISTS (SELECT 1 FROM processes WHERE octet_length(command_line) > ${bounds.commandLine} OR octet_length(cmdline) > ${bounds.cmdline})`,
  )[0]?.values ?? [[0]];
  return Number(row?.[0]) === 1;
}

/**
 * Cut, in `db` (a writable snapshot database), every process's argv that a scan at `ceiling` bytes could not
 * have kept: an argv (its bytes, NULs included, as /proc/PID/cmdline) longer than the ceiling and the marker's
 * slack is cut as a scan cuts (its first ⌈ceiling/2⌉ and last ⌊ceiling/2⌋ bytes, the marker between), and
 * `cmdline` is written again from the result (argv joined by spaces); a `cmdline` longer than storedArgvBounds
 * allows is written again from `command_line` too. Returns the processes changed, in pid order. A `command_line` that is not a JSON array
 * of text is left as it is (the import refused such a file before this runs).
 */
export function cutOverlongArgv(db: Database, ceiling: number): ArgvBound[] {
  const bounds = storedArgvBounds(ceiling);
  const rows = (db.exec(
    `SELECT CAST(rowid AS TEXT), pid, octet_length(command_line), octet_length(cmdline) FROM processes
     WHERE octet_length(command_line) > ${bounds.commandLine} OR octet_length(cmdline) > ${bounds.cmdline} ORDER BY pid`,
  )[0]?.values ?? []) as [string, number, number | null, number | null][];
  const changed: ArgvBound[] = [];
  for (const [rowid, pid, commandLineBytes, cmdlineBytes] of rows) {
    const stored = db.exec(`SELECT command_line FROM processes WHERE rowid = ${rowid}`)[0]?.values[0]?.[0];
    let argv: unknown;
    try {
      argv = typeof stored === 'string' ? JSON.parse(stored) : [];
    } catch {
      continue;
    }
    if (!Array.isArray(argv) || !argv.every((arg): arg is string => typeof arg === 'string')) continue;
    const bytes = Buffer.concat(argv.flatMap((arg) => [unescapeBytes(arg), Buffer.alloc(1)]));
    const total = bytes.length;
    const cut = total > ceiling + ARGV_MARKER_SLACK;
    // A long command_line whose argv is within the ceiling (escapes take room), and a cmdline no more than its bound: as they are.
    if (!cut && (cmdlineBytes ?? 0) <= bounds.cmdline) continue;
    let kept = argv;
    if (cut) {
      // As readProcHeadTail reads a file longer than its allowance: the first ⌈ceiling/2⌉ and last ⌊ceiling/2⌋ bytes.
      const head = bytes.subarray(0, Math.ceil(ceiling / 2));
      const tail = bytes.subarray(total - Math.floor(ceiling / 2));
      kept = cutArgvBytes(head, tail, total).map((arg) => escapeBytes(arg));
    }
    db.run('UPDATE processes SET command_line = ?, cmdline = ? WHERE rowid = ?', [JSON.stringify(kept), kept.join(' '), rowid]);
    changed.push({pid, commandLineBytes: commandLineBytes ?? 0, cmdlineBytes: cmdlineBytes ?? 0, total, kept: cut ? ceiling : total});
  }
  return changed;
}

const figure = (n: number): string => n.toLocaleString('en-US');

/** The one warning line of a file's cut argvs, naming the file, the table and columns, and up to ten pids. */
export function argvBoundWarning(path: string, changed: readonly ArgvBound[], ceiling: number): string | undefined {
  if (changed.length === 0) return undefined;
  const shown = changed
    .slice(0, 10)
    .map((c) => `pid ${c.pid}: command_line ${figure(c.commandLineBytes)} bytes, cmdline ${figure(c.cmdlineBytes)} bytes`)
    .join('; ');
  const more = changed.length > 10 ? `; and ${changed.length - 10} more` : '';
  return (
    `${path}: ${changed.length} process${changed.length > 1 ? 'es hold' : ' holds'} a command line longer than a scan here keeps ` +
    `(collection.argv.ceiling, ${figure(ceiling)} bytes of argv) in processes.command_line or cmdline (${shown}${more}); ` +
    'cut as a scan cuts, first and last bytes with a "[daemoneye: N of M bytes of argv not kept]" argument between'
  );
}
