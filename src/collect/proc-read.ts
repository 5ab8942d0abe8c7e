// Synchronous /proc reading helpers: text through Node's native UTF-8 file reader, bytes and latin1 text
// through one reused buffer, and fs error codes.
import {closeSync, openSync, readFileSync, readSync, type Stats, statSync} from 'node:fs';

/** The read buffer's size between reads; a bigger file grows it for that read only. */
const SCRATCH_BYTES = 64 * 1024;
let scratch = Buffer.allocUnsafe(SCRATCH_BYTES);

/**
 * Read the whole file into the shared buffer and hand `take` the bytes (valid only during the call). /proc
 * files report size 0, so they are read until a read returns 0. readFileSync, for anything but UTF-8, stats
 * the file and allocates a fresh 64 KiB buffer per read (and another for the read that finds the end): over a
 * thousand processes' stat, cmdline, environ, cgroup and maps that was most of the walk's garbage.
 */
function readWhole<T>(path: string, take: (buffer: Buffer, length: number) => T): T {
  const fd = openSync(path, 'r');
  let length = 0;
  try {
    for (;;) {
      if (length === scratch.length) {
        const bigger = Buffer.allocUnsafe(scratch.length * 2);
        scratch.copy(bigger, 0, 0, length);
        scratch = bigger;
      }
      const read = readSync(fd, scratch, length, scratch.length - length, null);
      if (read === 0) break;
      length += read;
    }
  } finally {
    closeSync(fd);
  }
  try {
    return take(scratch, length);
  } finally {
    // A long argv or environ (megabytes, from anyone) does not stay held after its read.
    if (scratch.length > SCRATCH_BYTES) scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  }
}

/**
 * The whole file as text: UTF-8 (invalid bytes become U+FFFD: only for files whose text is the kernel's
 * own), or latin1, one character per byte, for files that carry names and paths (escapeLatin1 makes them
 * the one text form). UTF-8 takes Node's native one-call path (open, read to EOF, close in C++); latin1 is
 * read into the shared buffer (readWhole) and decoded from it.
 */
export function readProcText(path: string, encoding: 'utf8' | 'latin1' = 'utf8'): string {
  if (encoding === 'utf8') return readFileSync(path, 'utf8');
  return readWhole(path, (buffer, length) => buffer.toString('latin1', 0, length));
}

/**
 * The first `maxLines` lines of a file as latin1 text (each with its newline), and whether it has more: read
 * a chunk at a time and stopped there, so the kernel never generates the rest (a process's maps may be 65,530
 * lines, megabytes of text). Whole lines only: /proc's seq files hand out whole lines per read.
 */
export function readProcLines(path: string, maxLines: number): {readonly text: string; readonly lines: number; readonly more: boolean} {
  const fd = openSync(path, 'r');
  let length = 0;
  let lines = 0;
  /** Where the scan for newlines goes on. */
  let scanned = 0;
  let cut = -1;
  let more = false;
  try {
    for (;;) {
      if (length === scratch.length) {
        const bigger = Buffer.allocUnsafe(scratch.length * 2);
        scratch.copy(bigger, 0, 0, length);
        scratch = bigger;
      }
      const read = readSync(fd, scratch, length, scratch.length - length, null);
      if (read === 0) break;
      length += read;
      for (let at = scratch.indexOf(10, scanned); at !== -1 && at < length; at = scratch.indexOf(10, at + 1)) {
        lines++;
        if (lines === maxLines) {
          cut = at + 1;
          break;
        }
      }
      scanned = length;
      if (cut !== -1) {
        // Anything after the last line kept, or one more read that gives bytes, is a line left unread.
        more = cut < length || readSync(fd, Buffer.allocUnsafe(1), 0, 1, null) > 0;
        break;
      }
    }
    return {
      text: scratch.toString('latin1', 0, cut === -1 ? length : cut),
      lines: cut === -1 ? lines + (length > 0 && scratch[length - 1] !== 10 ? 1 : 0) : lines,
      more,
    };
  } finally {
    closeSync(fd);
    if (scratch.length > SCRATCH_BYTES) scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  }
}

/** The whole file's bytes (a copy of exactly its length: small files come from Node's buffer pool). */
export function readProcBytes(path: string): Buffer {
  return readWhole(path, (buffer, length) => Buffer.from(buffer.subarray(0, length)));
}

/** The error code of a thrown fs error (`ENOENT`, `EACCES`, …), or `UNKNOWN`. */
export function errorCode(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : 'UNKNOWN';
}

/** The process is gone (or going): its /proc files vanish or the kernel refuses with ESRCH. */
export function isGone(code: string): boolean {
  return code === 'ENOENT' || code === 'ESRCH';
}

/**
 * The whole file as text, or why not: `unreadable` (permission denied and other refusals) or `gone` (the
 * process exited). For the per-process files a scan may be refused without root.
 */
export function readProcTextIfThere(path: string, encoding: 'utf8' | 'latin1' = 'utf8'): string | 'unreadable' | 'gone' {
  try {
    return readProcText(path, encoding);
  } catch (error) {
    return isGone(errorCode(error)) ? 'gone' : 'unreadable';
  }
}

/** The stat of `path` (following links), or undefined when there is no file there we can stat. */
export function statQuiet(path: string | Buffer): Stats | undefined {
  try {
    return statSync(path, {throwIfNoEntry: false});
  } catch {
    return undefined; // ENOTDIR, EACCES, ELOOP: no file we can compare with
  }
}

/**
 * The stat of the file at `path` when it is the file `identity` names (same device and inode), else
 * undefined. The kernel marks an unlinked file by appending ` (deleted)` to its path in /proc links and
 * maps, and a file may really be named `… (deleted)`: only in that second case does the very file sit at
 * the full marked path (looked up through `/proc/PID/root`, in the process's own mount namespace). A file
 * named `x (deleted) (deleted)` that was then unlinked shows the marker twice; its full path holds nothing.
 */
export function sameFileAt(path: string | Buffer, identity: {readonly dev: number; readonly ino: number}): Stats | undefined {
  const found = statQuiet(path);
  return found !== undefined && found.ino === identity.ino && found.dev === identity.dev ? found : undefined;
}
