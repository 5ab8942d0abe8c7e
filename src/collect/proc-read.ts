// Synchronous /proc reading helpers: text through Node's native UTF-8 file reader, and fs error codes.
import {readFileSync} from 'node:fs';

/**
 * The whole file as UTF-8 text (invalid bytes become U+FFFD). readFileSync with an encoding takes Node's
 * native one-call path (open, read to EOF, close in C++), measured faster than a JS read loop on /proc.
 */
export function readProcText(path: string): string {
  return readFileSync(path, 'utf8');
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
export function readProcTextIfThere(path: string): string | 'unreadable' | 'gone' {
  try {
    return readProcText(path);
  } catch (error) {
    return isGone(errorCode(error)) ? 'gone' : 'unreadable';
  }
}
