// `mkdir -p` without Node's recursive mkdir. Node 20's `mkdirSync(p, {recursive: true})` never returns for a
// path under /proc: mkdir("/proc/x") fails with ENOENT, the recursive walk takes that for a missing parent,
// "creates" /proc (EEXIST) and tries again, for ever, synchronously (no deadline or signal handler can run).
import {mkdirSync, statSync} from 'node:fs';
import {dirname, resolve} from 'node:path';

function errnoError(code: string, path: string): NodeJS.ErrnoException {
  const error = new Error(`${code}: mkdir '${path}'`) as NodeJS.ErrnoException;
  error.code = code;
  error.path = path;
  return error;
}

/**
 * Create `path` and its missing parents, each new one with `mode` (before the umask), like `mkdir -p`.
 * It finds the nearest existing ancestor, then makes each missing component once, top down, so every
 * failure surfaces as the system error of the component that failed (ENOENT under /proc, EACCES, EROFS,
 * ENOTDIR when a component is a file): Node's `ErrnoException`, with `code` and `path`. An existing
 * directory is success; so is a component another process creates meanwhile (EEXIST).
 */
export function makeDirectory(path: string, mode = 0o777): void {
  const missing: string[] = [];
  for (let current = resolve(path); ;) {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(current).isDirectory();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      missing.push(current);
      const parent = dirname(current);
      if (parent === current) break;
      current = parent;
      continue;
    }
    if (!isDirectory) throw errnoError('ENOTDIR', current);
    break;
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir, {mode});
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}
