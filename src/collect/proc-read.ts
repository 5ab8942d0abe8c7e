// Synchronous /proc reading helpers: text through Node's native UTF-8 file reader, bytes and latin1 text
// through one reused buffer, and fs error codes.
import {closeSync, openSync, readFileSync, readSync, type Stats, statSync} from 'node:fs';

/** The read buffer's size between reads; a bigger file grows it for that read only. */
const SCRATCH_BYTES = 64 * 1024;
let scratch = Buffer.allocUnsafe(SCRATCH_BYTES);

/** Read from `fd` into the shared buffer after its first `length` bytes (doubled first when full); the bytes read, 0 at the end. */
function readMore(fd: number, length: number): number {
  if (length === scratch.length) {
    const bigger = Buffer.allocUnsafe(scratch.length * 2);
    scratch.copy(bigger, 0, 0, length);
    scratch = bigger;
  }
  return readSync(fd, scratch, length, scratch.length - length, null);
}

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
      const read = readMore(fd, length);
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

/** A file read within a byte allowance: its first and last bytes, and its length (head + tail < total: the middle was not kept). */
export interface HeadTail {
  /** The file's first bytes: all of it when it fits in the allowance. */
  readonly head: Buffer;
  /** Its last bytes (empty when the head holds all of it). */
  readonly tail: Buffer;
  /** The file's length in bytes, all of it read through (the bytes in between were read and dropped). */
  readonly total: number;
}

/**
 * A file of any length read through with at most `keep` bytes (plus one chunk) held: the whole file when it
 * is no longer than `keep`, else its first ⌈keep/2⌉ and last ⌊keep/2⌋ bytes. /proc/PID/cmdline cannot be
 * measured without reading it (its size reads 0), and whoever runs a process chooses its argv's length (up to
 * about 6 MiB: a quarter of an unlimited stack's 24 MiB cap), so it is streamed through one buffer whose tail
 * half keeps the last bytes seen. `keep` is in bytes; it is at least 2. Throws as openSync/readSync do.
 */
export function readProcHeadTail(path: string, keep: number): HeadTail {
  const headBytes = Math.ceil(keep / 2);
  const tailBytes = keep - headBytes;
  const fd = openSync(path, 'r');
  try {
    // The common case (an argv of a few hundred bytes) is one read into a buffer of exactly `keep` + 1.
    const first = Buffer.allocUnsafe(Math.min(keep + 1, SCRATCH_BYTES + 1));
    let length = 0;
    for (;;) {
      if (length === first.length) break;
      const read = readSync(fd, first, length, first.length - length, null);
      if (read === 0) return {head: Buffer.from(first.subarray(0, length)), tail: Buffer.alloc(0), total: length};
      length += read;
    }
    // More than fits so far: grow toward keep + 1 to learn whether the whole file fits.
    let whole = first;
    if (length <= keep) {
      whole = Buffer.allocUnsafe(keep + 1);
      first.copy(whole, 0, 0, length);
      for (;;) {
        if (length === whole.length) break;
        const read = readSync(fd, whole, length, whole.length - length, null);
        if (read === 0) return {head: whole.subarray(0, length), tail: Buffer.alloc(0), total: length};
        length += read;
      }
    }
    // Longer than `keep`: keep the head, then stream the rest through a window twice the tail's size.
    const head = Buffer.from(whole.subarray(0, headBytes));
    const window = Buffer.allocUnsafe(Math.max(2 * tailBytes, 64 * 1024));
    let filled = length - headBytes;
    let total = length;
    whole.copy(window, 0, length - Math.min(filled, window.length), length);
    filled = Math.min(filled, window.length);
    for (;;) {
      if (filled === window.length) {
        // Slide: only the last tailBytes can still be the file's last bytes.
        window.copyWithin(0, filled - tailBytes, filled);
        filled = tailBytes;
      }
      const read = readSync(fd, window, filled, window.length - filled, null);
      if (read === 0) break;
      filled += read;
      total += read;
    }
    return {head, tail: Buffer.from(window.subarray(filled - Math.min(tailBytes, filled), filled)), total};
  } finally {
    closeSync(fd);
  }
}

/** How far readProcStream read a file: `read` bytes handed over, and whether the file holds more after them. */
export interface StreamRead {
  readonly read: number;
  readonly more: boolean;
}

/**
 * A file's first `allowance` bytes handed to `take` a chunk at a time (at most 64 KiB each, in the shared
 * buffer: valid only during the call), and whether the file goes on past them (one more byte is asked for;
 * the rest is never read, so the kernel never copies it). /proc/PID/environ is as long as whoever started the
 * process chose (its size reads 0), and is read this way so that no more than a chunk of it is ever held
 * here. `allowance` in bytes (Infinity: the whole file). Throws as openSync/readSync do.
 */
export function readProcStream(path: string, allowance: number, take: (chunk: Buffer, length: number) => void): StreamRead {
  const fd = openSync(path, 'r');
  let read = 0;
  try {
    for (;;) {
      const want = Math.min(SCRATCH_BYTES, allowance - read);
      if (want <= 0) return {read, more: readSync(fd, scratch, 0, 1, null) > 0};
      const got = readSync(fd, scratch, 0, want, null);
      if (got === 0) return {read, more: false};
      read += got;
      take(scratch, got);
    }
  } finally {
    closeSync(fd);
  }
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
      const read = readMore(fd, length);
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
