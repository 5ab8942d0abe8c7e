// Small synchronous readers for /proc files: one shared buffer, no fstat, no stream. /proc files report
// size 0, so readFileSync's size-based path is useless; a plain read loop is the cheapest way in Node.
import {closeSync, openSync, readSync} from 'node:fs';

const CHUNK = 64 * 1024;
const shared = Buffer.allocUnsafe(CHUNK);

/** The whole file as bytes (a fresh Buffer). Throws the fs error (code ENOENT, EACCES, ESRCH, …). */
export function readProcBytes(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    let length = readSync(fd, shared, 0, CHUNK, null);
    if (length < CHUNK) return Buffer.from(shared.subarray(0, length));
    // Large files (long argv, big environments): keep reading into fresh chunks until EOF.
    const chunks: Buffer[] = [Buffer.from(shared.subarray(0, length))];
    for (;;) {
      const chunk = Buffer.allocUnsafe(CHUNK);
      length = readSync(fd, chunk, 0, CHUNK, null);
      if (length === 0) break;
      chunks.push(chunk.subarray(0, length));
    }
    return Buffer.concat(chunks);
  } finally {
    closeSync(fd);
  }
}

/** The whole file as UTF-8 text (invalid bytes become U+FFFD). */
export function readProcText(path: string): string {
  const fd = openSync(path, 'r');
  try {
    let length = readSync(fd, shared, 0, CHUNK, null);
    if (length < CHUNK) return shared.toString('utf8', 0, length);
    const chunks: Buffer[] = [Buffer.from(shared.subarray(0, length))];
    for (;;) {
      const chunk = Buffer.allocUnsafe(CHUNK);
      length = readSync(fd, chunk, 0, CHUNK, null);
      if (length === 0) break;
      chunks.push(chunk.subarray(0, length));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** The error code of a thrown fs error (`ENOENT`, `EACCES`, …), or `UNKNOWN`. */
export function errorCode(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : 'UNKNOWN';
}

/** The process is gone (or going): its /proc files vanish or the kernel refuses with ESRCH. */
export function isGone(code: string): boolean {
  return code === 'ENOENT' || code === 'ESRCH';
}
