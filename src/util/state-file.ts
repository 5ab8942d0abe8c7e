// Files and directories DaemonEye owns: the audit ledger, the spools, the deduplication state, the hash and
// rule caches, the file sink's file, the store and alert directories. A state file is never reached through
// a symbolic link (it is opened with O_NOFOLLOW), must be a regular file owned by this user, and must not be
// writable by other users; a file appended in place (ledger, file sink) must have one name only, since
// another hard link could be anything. A state directory may be reached through a link owned by this user or
// root (systemd's DynamicUser makes /var/lib/NAME one), but must itself be a directory of this user that
// others cannot write, and every directory above it must belong to this user or root: its owner could swap
// the whole state directory.
// Anything else is STATE_UNSAFE (exit 3), naming the file and the fix.
import {accessSync, closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync, type Stats, statSync} from 'node:fs';
import {dirname} from 'node:path';

import {DaemonEyeError, fileError, systemErrorCode} from '../errors.js';
import {writeFileAtomic} from './atomic-write.js';
import {makeDirectory} from './directory.js';

const euid = (): number => process.geteuid?.() ?? 0;
const egid = (): number => process.getegid?.() ?? 0;

export interface StateCheckOptions {
  /** What the file is, for messages ("spool", "audit ledger"). */
  readonly what: string;
  /** Refuse a file with more than one name (files appended in place). */
  readonly singleLink?: boolean;
}

/** Why a state file or directory cannot be trusted, or undefined (the stat of the thing itself, not of a link to it). */
export function stateProblem(stat: Stats, kind: 'file' | 'directory', options: {singleLink?: boolean} = {}): string | undefined {
  if (stat.isSymbolicLink()) return 'is a symbolic link';
  if (kind === 'file' && !stat.isFile()) return 'is not a regular file';
  if (kind === 'directory' && !stat.isDirectory()) return 'is not a directory';
  if (stat.uid !== euid()) return `is owned by uid ${stat.uid}, not by this user (uid ${euid()})`;
  if ((stat.mode & 0o002) !== 0) return 'is writable by every user';
  if ((stat.mode & 0o020) !== 0 && stat.gid !== egid()) return `is writable by group ${stat.gid}`;
  if (options.singleLink === true && kind === 'file' && stat.nlink > 1) return `has ${stat.nlink} hard links (another name could be any file)`;
  return undefined;
}

function fixFor(path: string, problem: string, kind: 'file' | 'directory'): string {
  if (problem.startsWith('is a symbolic link'))
    return `DaemonEye never follows a link for its own state: remove the link, or point the configuration at the real ${kind}`;
  if (problem.startsWith('is owned by')) return `chown ${euid()} ${path}, or configure a path of this user`;
  if (problem.startsWith('is writable by')) return `chmod go-w ${path}`;
  if (problem.startsWith('has ')) return `move it aside and let DaemonEye start a new one (find its other names with \`find / -samefile ${path}\`)`;
  return `move it aside, or configure another path`;
}

/** The STATE_UNSAFE error for `path`. */
export function unsafeState(path: string, problem: string, what: string, kind: 'file' | 'directory' = 'file'): DaemonEyeError {
  return new DaemonEyeError('STATE_UNSAFE', `${what} ${path} ${problem}: not used`, {file: path, hint: fixFor(path, problem, kind)});
}

/**
 * Open a state file without following a link and check it (stateProblem). `flags` are extra open flags
 * (e.g. O_RDONLY, O_WRONLY | O_APPEND | O_CREAT). Returns undefined when it does not exist and O_CREAT is
 * not given; throws STATE_UNSAFE or the file error of a failed open.
 */
export function openStateFile(path: string, flags: number, options: StateCheckOptions & {mode?: number}): number | undefined {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted at the name must not hang the open; it is refused below as not a regular file.
    fd = openSync(path, flags | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY, options.mode ?? 0o600);
  } catch (error) {
    const code = systemErrorCode(error);
    if (code === 'ENOENT' && (flags & constants.O_CREAT) === 0) return undefined;
    if (code === 'ELOOP') throw unsafeState(path, 'is a symbolic link', options.what);
    if (code === 'ENXIO' || code === 'EISDIR') throw unsafeState(path, 'is not a regular file', options.what);
    throw fileError(error, path, (flags & (constants.O_WRONLY | constants.O_RDWR)) === 0 ? 'read' : 'write');
  }
  const problem = stateProblem(fstatSync(fd), 'file', options);
  if (problem !== undefined) {
    closeSync(fd);
    throw unsafeState(path, problem, options.what);
  }
  return fd;
}

/**
 * The content of a state file (undefined when it does not exist), read through openStateFile. A file larger
 * than `maxBytes` throws STATE_UNSAFE rather than being read (a state file this tool wrote is never that big).
 */
export function readStateFile(path: string, options: StateCheckOptions & {maxBytes?: number}): Buffer | undefined {
  const fd = openStateFile(path, constants.O_RDONLY, options);
  if (fd === undefined) return undefined;
  try {
    const size = fstatSync(fd).size;
    if (options.maxBytes !== undefined && size > options.maxBytes) throw unsafeState(path, `is larger than ${options.maxBytes} bytes (${size})`, options.what);
    const buffer = Buffer.alloc(size);
    let read = 0;
    while (read < size) {
      const n = readSync(fd, buffer, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read);
  } catch (error) {
    throw fileError(error, path, 'read');
  } finally {
    closeSync(fd);
  }
}

/**
 * Why a directory above a state directory cannot be trusted, or undefined: it must belong to this user or root
 * (its owner could rename the state directory away and put one of their own in its place).
 */
function ancestorProblem(dir: string): {path: string; problem: string} | undefined {
  let real: string;
  try {
    real = realpathSync.native(dir);
  } catch {
    return undefined; // the checks of the directory itself say what is wrong
  }
  for (let current = dirname(real); ; current = dirname(current)) {
    let stat: Stats;
    try {
      stat = statSync(current);
    } catch {
      return undefined;
    }
    if (stat.uid !== euid() && stat.uid !== 0) return {path: current, problem: `is owned by uid ${stat.uid}, not by this user (uid ${euid()}) or root`};
    if (current === dirname(current)) return undefined;
  }
}

/**
 * Make sure a state directory exists (created 0700 with its parents) and can be trusted: a link to it must
 * belong to this user or root, and the directory itself to this user, not writable by others. Throws
 * STATE_UNSAFE or the file error of a failed mkdir.
 */
export function ensureStateDirectory(dir: string, what = 'state directory'): void {
  let stat: Stats;
  try {
    stat = lstatSync(dir);
  } catch (error) {
    if (systemErrorCode(error) !== 'ENOENT') throw fileError(error, dir, 'create');
    try {
      makeDirectory(dir, 0o700);
      stat = lstatSync(dir);
    } catch (inner) {
      throw fileError(inner, dir, 'create');
    }
  }
  if (stat.isSymbolicLink()) {
    if (stat.uid !== euid() && stat.uid !== 0) {
      throw unsafeState(dir, `is a symbolic link owned by uid ${stat.uid}, not by this user or root`, what, 'directory');
    }
    try {
      stat = statSync(dir);
    } catch (error) {
      throw fileError(error, dir, 'create');
    }
  }
  if (!stat.isDirectory()) throw unsafeState(dir, 'is not a directory', what, 'directory');
  // A directory this user cannot write is said as such (permission denied), before whose it is.
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw fileError(error, dir, 'write');
  }
  const problem = stateProblem(stat, 'directory');
  if (problem !== undefined) throw unsafeState(dir, problem, what, 'directory');
  const above = ancestorProblem(dir);
  if (above !== undefined) {
    throw new DaemonEyeError('STATE_UNSAFE', `${what} ${dir}: the directory above it, ${above.path}, ${above.problem}: not used`, {
      file: dir,
      hint: `chown ${euid()} ${above.path}, or configure a state path whose parent directories belong to root or this user`,
    });
  }
}

/**
 * Write a whole state file atomically (temp file, fsync, rename: a link at the name is replaced, never
 * followed) into its directory, which is created and checked first (ensureStateDirectory).
 */
export function writeStateFile(path: string, data: string | Uint8Array, options: {what: string; mode?: number}): void {
  ensureStateDirectory(dirname(path));
  writeFileAtomic(path, data, {mode: options.mode ?? 0o600});
}
