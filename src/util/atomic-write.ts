// Every file a command writes whole is written atomically: a `.tmp-*` file in the same directory,
// fsync, rename (or a hard link, to publish under a new name without ever replacing one), fsync of the
// directory. A crash leaves the old file or the new one, never half of one; a run ended by a signal
// removes its temp files (src/util/interrupt.ts), and the temp files a killed writer leaves behind are
// swept by removeStaleTempFiles.
import {closeSync, existsSync, fchmodSync, fchownSync, fsyncSync, linkSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync} from 'node:fs';
import {basename, dirname, join} from 'node:path';
import {randomBytes} from 'node:crypto';

import {fileError, systemErrorCode} from '../errors.js';
import {onInterrupt} from './interrupt.js';
import {processAlive} from './process.js';

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
  private readonly forget: () => void;

  /**
   * `mode` is the new file's mode (before the umask); with `owner`, the file gets exactly `mode` and that
   * owner and group (as root; others cannot give a file away and keep their own), so a replaced file keeps
   * who owns it.
   */
  constructor(
    readonly path: string,
    options: {mode?: number; owner?: {uid: number; gid: number}} = {},
  ) {
    this.tempPath = tempPathFor(path);
    try {
      this.fd = openSync(this.tempPath, 'wx', options.mode ?? 0o644);
    } catch (error) {
      throw fileError(error, path, 'write');
    }
    // A signal before commit or abort removes the temp file, as abort would.
    this.forget = onInterrupt(() => this.abort());
    if (options.owner !== undefined) {
      try {
        fchmodSync(this.fd, options.mode ?? 0o644);
        fchownSync(this.fd, options.owner.uid, options.owner.gid);
      } catch (error) {
        if (systemErrorCode(error) !== 'EPERM') {
          this.abort();
          throw fileError(error, path, 'write');
        }
      }
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

  /**
   * Finish the temp file (fsync, close) without publishing it: many files of one output are written first and
   * published together at the end (`export --format parquet`), without holding a descriptor each. A signal
   * before `commit` still removes the temp file; only `commit` and `abort` may follow.
   */
  seal(): void {
    if (this.done || this.fd === undefined) return;
    try {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = undefined;
    } catch (error) {
      this.abort();
      throw fileError(error, this.path, 'write');
    }
  }

  commit(): void {
    if (this.done) return;
    try {
      if (this.fd !== undefined) {
        fsyncSync(this.fd);
        closeSync(this.fd);
        this.fd = undefined;
      }
      renameSync(this.tempPath, this.path);
      this.done = true;
      this.forget();
      fsyncDirectory(dirname(this.path));
    } catch (error) {
      this.abort();
      throw fileError(error, this.path, 'write');
    }
  }

  /**
   * Publish under a name that does not exist yet, never replacing a file: the fsynced temp file is
   * hard-linked to `nameFor(attempt)` in the target's directory for attempt 0, 1, … (a link fails on an
   * existing name, unlike rename), so two writers that picked the same name both keep their file. File
   * systems without hard links fall back to rename after an existence check. Returns the path.
   */
  commitAsNew(nameFor: (attempt: number) => string): string {
    if (this.done || this.fd === undefined) throw new Error('AtomicFileWriter: commit after commit or abort');
    const dir = dirname(this.path);
    try {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = undefined;
      for (let attempt = 0; ; attempt++) {
        const path = join(dir, nameFor(attempt));
        try {
          linkSync(this.tempPath, path);
          unlinkSync(this.tempPath);
          this.done = true;
          this.forget();
          return path;
        } catch (error) {
          const code = systemErrorCode(error);
          if (code === 'EEXIST' && attempt < 1000) continue;
          if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw error;
          if (existsSync(path)) continue;
          renameSync(this.tempPath, path);
          this.done = true;
          this.forget();
          return path;
        }
      }
    } catch (error) {
      this.abort();
      throw fileError(error, this.path, 'write');
    } finally {
      fsyncDirectory(dir);
    }
  }

  abort(): void {
    if (this.done) return;
    this.done = true;
    this.forget();
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

/** Temp files older than this are a killed writer's, whatever their pid says (pids are reused). */
export const STALE_TEMP_MS = 60 * 60 * 1000;

/**
 * Remove the temp files killed writers left in `dir`: those whose writer pid (in the name) is gone, and any
 * older than STALE_TEMP_MS. A live writer's temp file is never touched. `prefix` narrows the sweep to the
 * temp files of one target (`.tmp-<name>-`), for a directory that holds other people's files. Returns the
 * names removed.
 */
export function removeStaleTempFiles(dir: string, options: {prefix?: string; now?: number} = {}): string[] {
  const prefix = options.prefix ?? TEMP_PREFIX;
  const now = options.now ?? Date.now();
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!name.startsWith(TEMP_PREFIX) || !name.startsWith(prefix)) continue;
    const pid = /-(\d+)-[0-9a-f]+$/.exec(name)?.[1];
    const path = join(dir, name);
    try {
      const old = now - statSync(path).mtimeMs > STALE_TEMP_MS;
      if (old || (pid !== undefined && Number(pid) !== process.pid && !processAlive(Number(pid)))) {
        unlinkSync(path);
        removed.push(name);
      }
    } catch {
      // removed by another writer meanwhile, or not ours to remove
    }
  }
  return removed;
}
