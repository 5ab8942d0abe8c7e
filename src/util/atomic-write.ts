// Every file a command writes whole is written atomically: a `.tmp-*` file in the same directory,
// fsync, rename, fsync of the directory. A crash leaves the old file or the new one, never half of one.
import {closeSync, fsyncSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync} from 'node:fs';
import {basename, dirname, join} from 'node:path';
import {randomBytes} from 'node:crypto';

import {fileError} from '../errors.js';

export const TEMP_PREFIX = '.tmp-';

function tempPathFor(path: string): string {
  return join(dirname(path), `${TEMP_PREFIX}${basename(path)}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** fsync a directory so a rename or link in it survives a crash (best effort: some file systems refuse). */
export function fsyncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on directories; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A file written in pieces and published atomically by `commit()`; `abort()` leaves nothing behind. */
export class AtomicFileWriter {
  private fd: number | undefined;
  private readonly tempPath: string;
  private done = false;

  constructor(
    readonly path: string,
    options: {mode?: number} = {},
  ) {
    this.tempPath = tempPathFor(path);
    try {
      this.fd = openSync(this.tempPath, 'wx', options.mode ?? 0o644);
    } catch (error) {
      throw fileError(error, path, 'write');
    }
  }

  write(chunk: string | Uint8Array): void {
    if (this.fd === undefined) throw new Error('AtomicFileWriter: write after commit or abort');
    try {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      let offset = 0;
      while (offset < buffer.length) offset += writeSync(this.fd, buffer, offset, buffer.length - offset);
    } catch (error) {
      this.abort();
      throw fileError(error, this.path, 'write');
    }
  }

  commit(): void {
    if (this.done || this.fd === undefined) return;
    try {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = undefined;
      renameSync(this.tempPath, this.path);
      this.done = true;
      fsyncDirectory(dirname(this.path));
    } catch (error) {
      this.abort();
      throw fileError(error, this.path, 'write');
    }
  }

  abort(): void {
    if (this.done) return;
    this.done = true;
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = undefined;
    }
    try {
      unlinkSync(this.tempPath);
    } catch {
      // nothing to remove
    }
  }
}

/** Write a whole file atomically. */
export function writeFileAtomic(path: string, data: string | Uint8Array, options: {mode?: number} = {}): void {
  const writer = new AtomicFileWriter(path, options);
  writer.write(data);
  writer.commit();
}

/** Remove `.tmp-*` files older than `maxAgeMs` left in `dir` by killed writers. Returns how many. */
export function removeStaleTempFiles(dir: string, maxAgeMs = 60 * 60 * 1000, now = Date.now()): number {
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const path = join(dir, name);
    try {
      if (now - statSync(path).mtimeMs > maxAgeMs) {
        unlinkSync(path);
        removed++;
      }
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed;
}
