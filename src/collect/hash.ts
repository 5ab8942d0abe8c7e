// Executable hashing: SHA-256 (node:crypto) streamed from /proc/PID/exe, so a deleted binary is still
// hashed; each distinct image (device + inode) once, with bounded concurrency and a size cap, and a digest
// reused from the hash cache while the file is provably unchanged (hash-cache.ts).
import {createHash} from 'node:crypto';
import type {Stats} from 'node:fs';
import {open} from 'node:fs/promises';

import type {FileIdentity, HashCache} from './hash-cache.js';
import {errorCode} from './proc-read.js';

export const HASH_ALGORITHM = 'sha256';
const READ_CHUNK = 1024 * 1024;

export interface HashJob {
  /** `device:inode`: one hash per distinct file. */
  readonly key: string;
  readonly size: number;
  readonly regular: boolean;
  /** Paths that all lead to the file (one /proc/PID/exe per process running it): tried in turn. */
  readonly readPaths: readonly string[];
  /** The file as the process walk saw it: the key into the hash cache. */
  readonly identity?: FileIdentity;
}

export interface HashProgress {
  readonly done: number;
  readonly total: number;
  readonly bytes: number;
  readonly elapsedMs: number;
}

export interface HashOptions {
  readonly maxBytes: number;
  readonly concurrency: number;
  /** Called about every 250 ms while hashing runs (the CLI shows a line on a TTY). */
  readonly onProgress?: (progress: HashProgress) => void;
  /** Digests of unchanged files are taken from here, and new ones recorded. */
  readonly cache?: HashCache;
}

export interface HashOutcome {
  /** key → hex digest; absent when not hashed (too big, not a regular file, unreadable, gone). */
  readonly hashes: Map<string, string>;
  readonly files: number;
  readonly bytes: number;
  readonly skippedTooLarge: number;
  readonly skippedNotRegular: number;
  readonly failed: number;
  /** Files whose digest came from the cache (not read). */
  readonly cacheHits: number;
  /** A few failure descriptions for the scan record's `errors` (never more than 10). */
  readonly errors: string[];
}

export class HashTooLargeError extends Error {}

export function identityOf(stats: Stats): FileIdentity {
  return {device: stats.dev, inode: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs};
}

const sameIdentity = (a: FileIdentity, b: FileIdentity): boolean =>
  a.device === b.device && a.inode === b.inode && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;

/**
 * SHA-256 of one file, streamed through a reusable buffer. Throws the fs error, or HashTooLargeError when
 * the file grows past `maxBytes` while being read. `identity` is the file's identity when it did not change
 * while it was read (only then may the digest be cached), else undefined.
 */
export async function sha256File(
  path: string,
  maxBytes: number,
  buffer: Buffer = Buffer.allocUnsafe(READ_CHUNK),
): Promise<{hex: string; bytes: number; identity: FileIdentity | undefined}> {
  const handle = await open(path, 'r');
  try {
    const before = identityOf(await handle.stat());
    const hash = createHash('sha256');
    let total = 0;
    for (;;) {
      const {bytesRead} = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maxBytes) throw new HashTooLargeError(`${path} is larger than ${maxBytes} bytes`);
      hash.update(buffer.subarray(0, bytesRead));
    }
    const after = identityOf(await handle.stat());
    return {hex: hash.digest('hex'), bytes: total, identity: sameIdentity(before, after) ? after : undefined};
  } finally {
    await handle.close();
  }
}

export async function hashExecutables(jobs: readonly HashJob[], options: HashOptions): Promise<HashOutcome> {
  const hashes = new Map<string, string>();
  const errors: string[] = [];
  let files = 0;
  let bytes = 0;
  let skippedTooLarge = 0;
  let skippedNotRegular = 0;
  let failed = 0;
  let done = 0;
  let cacheHits = 0;
  const queue = jobs.filter((job) => {
    if (!job.regular) skippedNotRegular++;
    else if (job.size > options.maxBytes) skippedTooLarge++;
    else {
      const cached = job.identity === undefined ? undefined : options.cache?.lookup(job.identity);
      if (cached === undefined) return true;
      hashes.set(job.key, cached);
      cacheHits++;
    }
    return false;
  });
  const total = queue.length;
  const started = Date.now();
  const timer =
    options.onProgress === undefined ? undefined : setInterval(() => options.onProgress?.({done, total, bytes, elapsedMs: Date.now() - started}), 250).unref();

  const worker = async (): Promise<void> => {
    const buffer = Buffer.allocUnsafe(READ_CHUNK);
    for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
      let lastError: unknown;
      for (const path of job.readPaths) {
        try {
          const result = await sha256File(path, options.maxBytes, buffer);
          hashes.set(job.key, result.hex);
          if (result.identity !== undefined) options.cache?.record(result.identity, result.hex);
          files++;
          bytes += result.bytes;
          lastError = undefined;
          break;
        } catch (error) {
          lastError = error;
          // The process exited: another process running the same file may still be there.
          if (errorCode(error) !== 'ENOENT' && errorCode(error) !== 'ESRCH') break;
        }
      }
      if (lastError instanceof HashTooLargeError) skippedTooLarge++;
      else if (lastError !== undefined && !['ENOENT', 'ESRCH'].includes(errorCode(lastError))) {
        failed++;
        if (errors.length < 10) errors.push(`hashing ${job.readPaths[0] ?? job.key}: ${errorCode(lastError)}`);
      }
      done++;
    }
  };
  try {
    await Promise.all(Array.from({length: Math.max(1, Math.min(options.concurrency, total))}, worker));
  } finally {
    if (timer !== undefined) clearInterval(timer);
  }
  return {hashes, files, bytes, skippedTooLarge, skippedNotRegular, failed, cacheHits, errors};
}
