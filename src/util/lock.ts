// Locks for files several runs share (ledger, dedupe state, spool, file sink). Node has no flock, so
// this uses proper-lockfile: an atomic mkdir of `<file>.lock` whose mtime the holder refreshes; a holder
// killed with SIGKILL stops refreshing and its lock is taken over once stale (five seconds), so a
// crashed run never blocks the next one for long. A `.lock` that is not a real directory (a symbolic link
// planted there would have its target's times refreshed and be removed through) is refused, never used.
// A run ended by a signal removes the lock it holds, at any moment from the mkdir that takes it to the rmdir
// that gives it back (src/util/interrupt.ts).
import * as fs from 'node:fs';
import {lstatSync, mkdirSync, rmdirSync} from 'node:fs';
import {dirname} from 'node:path';

import lockfile from 'proper-lockfile';

import {DaemonEyeError, fileError, systemErrorCode} from '../errors.js';
import {makeDirectory} from './directory.js';
import {onInterrupt} from './interrupt.js';

export interface LockOptions {
  /** How long to wait for the lock before giving up. */
  readonly timeoutMs?: number;
  /** After this long without a refresh, a lock is taken over. */
  readonly staleMs?: number;
}

/** A lock path must be absent or a real directory: anything else is STATE_UNSAFE naming it and the fix. */
function checkLockPath(lock: string): void {
  try {
    const stat = lstatSync(lock);
    if (stat.isDirectory()) return;
    const what = stat.isSymbolicLink() ? 'a symbolic link' : 'not a directory';
    throw new DaemonEyeError('STATE_UNSAFE', `lock ${lock} is ${what}: not used`, {
      file: lock,
      hint: 'a lock is a directory DaemonEye makes and removes; remove this one (no DaemonEye run made it)',
    });
  } catch (error) {
    if (systemErrorCode(error) === 'ENOENT') return;
    throw error;
  }
}

/** Run `fn` while holding the lock of `path` (the file need not exist). */
export async function withLock<T>(path: string, fn: () => Promise<T> | T, options: LockOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const staleMs = Math.max(2_000, options.staleMs ?? 5_000);
  try {
    makeDirectory(dirname(path), 0o700);
  } catch (error) {
    throw fileError(error, dirname(path), 'create');
  }
  const lockDir = `${path}.lock`;
  checkLockPath(lockDir);
  const deadline = Date.now() + timeoutMs;
  let release: (() => Promise<void>) | undefined;
  // Whether the lock directory is ours. proper-lockfile makes and removes it through `fs`: given one whose mkdir
  // and rmdir of it are synchronous, this flag changes in the same turn as the directory, so a signal (handled
  // between turns) finds it right: the undo removes the directory exactly when this run made it and has not
  // removed it, including while proper-lockfile still probes the new directory or while it releases it.
  let held = false;
  const lockFs = {
    ...fs,
    mkdir: (dir: string, callback: FsCallback): void =>
      synchronously(() => {
        mkdirSync(dir);
        if (dir === lockDir) held = true;
      }, callback),
    rmdir: (dir: string, callback: FsCallback): void =>
      synchronously(() => {
        rmdirSync(dir);
        if (dir === lockDir) held = false;
      }, callback),
  };
  const forget = onInterrupt(() => {
    if (held) rmdirSync(lockDir);
  });
  try {
    while (release === undefined) {
      try {
        release = await lockfile.lock(path, {
          fs: lockFs,
          realpath: false,
          stale: staleMs,
          update: Math.floor(staleMs / 4),
          // proper-lockfile throws from a timer when a refresh comes late (a starved event loop on a loaded
          // host), which would crash the run mid-write. The work under our locks is short; carry on instead.
          onCompromised: () => undefined,
        });
      } catch (error) {
        const code = (error as {code?: string}).code;
        if (code !== 'ELOCKED') throw fileError(error, lockDir, 'lock');
        if (Date.now() >= deadline) {
          throw new DaemonEyeError('LOCK_FAILED', `timed out after ${timeoutMs} ms waiting for the lock on ${path}`, {
            file: path,
            hint: 'another daemoneye run holds it; retry, or remove the .lock directory if no run is active',
          });
        }
        await new Promise((resolve) => setTimeout(resolve, 25 + Math.random() * 50));
      }
    }
    try {
      return await fn();
    } finally {
      await release().catch(() => undefined);
    }
  } finally {
    forget();
  }
}

type FsCallback = (error: NodeJS.ErrnoException | null) => void;

/** Run `operation` now and hand its outcome (null or the error) to `callback` on the next tick, as fs's callbacks come. */
function synchronously(operation: () => void, callback: FsCallback): void {
  let failure: NodeJS.ErrnoException | null = null;
  try {
    operation();
  } catch (error) {
    failure = error as NodeJS.ErrnoException;
  }
  process.nextTick(callback, failure);
}
