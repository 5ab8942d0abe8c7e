// Synchronous /proc reading helpers: text through Node's native UTF-8 file reader, and fs error codes.
import {readFileSync, type Stats, statSync} from 'node:fs';

/**
 * The whole file as text: UTF-8 (invalid bytes become U+FFFD: only for files whose text is the kernel's
 * own), or latin1, one character per byte, for files that carry names and paths (escapeLatin1 makes them
 * the one text form). readFileSync with an encoding takes Node's native one-call path (open, read to EOF,
 * close in C++), measured faster than a JS read loop on /proc.
 */
export function readProcText(path: string, encoding: 'utf8' | 'latin1' = 'utf8'): string {
  return readFileSync(path, encoding);
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
