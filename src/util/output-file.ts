// Writing a file the user named (`scan --output`, `export --output`, `sign -o`, `--metrics-file`, the
// configuration file `rules enable` edits). The name is the user's, not ours to replace: atomic
// replacement (temp file, fsync, rename) is only for a regular file or a new name. A character device or a
// FIFO is written through (`/dev/null` discards, `/dev/full` is ENOSPC, a FIFO feeds its reader), never
// replaced by a file; a directory, a socket and a block device are refused. A symbolic link is resolved
// once, checked (it must belong to this user or root) and reported; the link itself is kept. The policy, per
// kind, is the table in docs/operations/guarantees.md.
import {closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, realpathSync, type Stats, statSync, writeSync} from 'node:fs';

import {DaemonEyeError, fileError, systemErrorCode} from '../errors.js';
import {AtomicFileWriter} from './atomic-write.js';
import {trimEndChar} from './text.js';

/** How an output path is written; `descriptor` is this process's own stdout or stderr, reached through a link like /dev/stdout. */
export type OutputKind = 'new' | 'file' | 'character device' | 'fifo' | 'descriptor';

export interface OutputTarget {
  /** The path as the user gave it. */
  readonly given: string;
  /** Where the bytes go: the given path, or the file a link there resolves to. */
  readonly path: string;
  readonly kind: OutputKind;
  /** What the link at `given` points to, when it is a symbolic link; null otherwise. */
  readonly link: string | null;
  /** The regular file about to be replaced (its mode and owner), null for anything else. */
  readonly existing: Stats | null;
  /** For `descriptor`: the open descriptor (1 or 2) the link leads to, written to directly and never closed. */
  readonly fd?: number;
}

export interface OutputOptions {
  /** Mode of a new or replaced regular file (default 0600). */
  readonly mode?: number;
  /** Replace a regular file keeping its mode and (as root) its owner and group: for files people edit, like configuration. */
  readonly keepOwnership?: boolean;
  /** Only these kinds may be written (e.g. a configuration file must be a file); others are refused. */
  readonly kinds?: readonly OutputKind[];
  /** What the file is, for messages (default "output"). */
  readonly what?: string;
  /** Told how the path was resolved when that is not a plain file (a link followed, a device written through). */
  readonly note?: (message: string) => void;
}

function refused(given: string, message: string, hint: string): DaemonEyeError {
  return new DaemonEyeError('OUTPUT_REFUSED', message, {file: given, hint});
}

function kindOf(stat: Stats): OutputKind | 'directory' | 'socket' | 'block device' | 'other' {
  if (stat.isFile()) return 'file';
  if (stat.isDirectory()) return 'directory';
  if (stat.isCharacterDevice()) return 'character device';
  if (stat.isFIFO()) return 'fifo';
  if (stat.isSocket()) return 'socket';
  if (stat.isBlockDevice()) return 'block device';
  return 'other';
}

const euid = (): number => process.geteuid?.() ?? 0;

/** 1 or 2 when `stat` is the very file, pipe, socket or terminal this process has open as stdout or stderr. */
function ownDescriptor(stat: Stats): number | undefined {
  for (const fd of [1, 2]) {
    try {
      const own = fstatSync(fd);
      if (own.dev === stat.dev && own.ino === stat.ino) return fd;
    } catch {
      // not open
    }
  }
  return undefined;
}

/** Wait `ms` without returning to the event loop (a full pipe being drained by its reader). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Decide where and how an output path is written, without writing. Throws OUTPUT_REFUSED (exit 2) for a
 * directory, a socket, a block device, a kind `kinds` leaves out, a dangling link, or a link owned by
 * another user (it could point anywhere: the Linux `protected_symlinks` idea, applied everywhere).
 */
export function resolveOutput(given: string, options: Pick<OutputOptions, 'kinds' | 'what'> = {}): OutputTarget {
  const what = options.what ?? 'output';
  let stat: Stats;
  try {
    stat = lstatSync(given);
  } catch (error) {
    if (systemErrorCode(error) === 'ENOENT') return {given, path: given, kind: 'new', link: null, existing: null};
    throw fileError(error, given, 'write');
  }
  let link: string | null = null;
  let path = given;
  if (stat.isSymbolicLink()) {
    link = readlinkSync(given);
    if (stat.uid !== euid() && stat.uid !== 0) {
      throw refused(
        given,
        `${what} ${given} is a symbolic link owned by uid ${stat.uid}, not by this user (uid ${euid()}) or root: not followed`,
        'give the path it points to, or remove the link',
      );
    }
    try {
      stat = statSync(given);
    } catch (error) {
      const code = systemErrorCode(error);
      if (code === 'ENOENT')
        throw refused(given, `${what} ${given} is a symbolic link to ${link}, which does not exist`, 'create the file, or give another path');
      if (code === 'ELOOP') throw refused(given, `${what} ${given} is a symbolic link that loops`, 'give another path');
      throw fileError(error, given, 'write');
    }
    // A regular file is replaced where it really is, so the link keeps pointing at it. Anything else is opened
    // through the link itself: the kernel resolves /proc/self/fd/N to the very pipe or terminal it names.
    if (stat.isFile()) path = realpathSync.native(given);
    // This process's own stdout or stderr (a link to /dev/stdout, /proc/self/fd/1): written to as it is, since
    // a socket (what a supervisor often gives) cannot be opened again by name.
    else {
      const fd = ownDescriptor(stat);
      if (fd !== undefined) return {given, path: given, kind: 'descriptor', link, existing: null, fd};
    }
  }
  const kind = kindOf(stat);
  const via = link === null ? '' : ` (the symbolic link ${given} points to ${link})`;
  switch (kind) {
    case 'directory':
      throw refused(given, `${what} ${given} is a directory${via}`, `give a file path, e.g. ${trimEndChar(given, '/')}/FILE`);
    case 'socket':
      throw refused(given, `${what} ${given} is a socket${via}: a file cannot be written to it`, 'give a file path');
    case 'block device':
      throw refused(given, `${what} ${given} is a block device${via}: writing a file over it would destroy what it holds`, 'give a file path');
    case 'other':
      throw refused(given, `${what} ${given} is not a file${via}`, 'give a file path');
  }
  if (options.kinds !== undefined && !options.kinds.includes(kind)) {
    throw refused(given, `${what} ${given} is a ${kind}${via}, not a file`, 'give the path of a regular file');
  }
  return {given, path, kind, link, existing: kind === 'file' ? stat : null};
}

/** The line that tells the user how an output was written, when it was not simply a file at the given path. */
export function describeOutput(target: OutputTarget, what = 'output'): string | undefined {
  if (target.link !== null && target.kind === 'file')
    return `${what} ${target.given} is a symbolic link to ${target.path}: replaced ${target.path}, the link is kept`;
  if (target.kind === 'descriptor')
    return `${what} ${target.given} is a symbolic link to ${target.link ?? '?'}, this process's own ${target.fd === 2 ? 'stderr' : 'stdout'}: written to it`;
  if (target.link !== null) return `${what} ${target.given} is a symbolic link to ${target.link} (a ${target.kind}): written through it`;
  if (target.kind === 'character device' || target.kind === 'fifo') return `${what} ${target.given} is a ${target.kind}: written through, not replaced`;
  return undefined;
}

/** Open a device or FIFO for writing through, never creating or truncating anything. */
function openThrough(target: OutputTarget): number {
  // O_NOFOLLOW when the name was not a link: one swapped in since it was looked at is refused (ELOOP).
  const base = constants.O_WRONLY | constants.O_NOCTTY | (target.link === null ? constants.O_NOFOLLOW : 0);
  let fd: number;
  try {
    if (target.kind === 'fifo') {
      // A FIFO nobody reads would block the run for ever: refuse it. With a reader, reopen blocking.
      let probe: number;
      try {
        probe = openSync(target.path, base | constants.O_NONBLOCK);
      } catch (error) {
        if (systemErrorCode(error) === 'ENXIO') {
          throw new DaemonEyeError('IO_WRITE_FAILED', `no process is reading the FIFO ${target.given}`, {
            file: target.given,
            hint: 'start its reader first (e.g. `cat FIFO &`), or give a file path',
          });
        }
        throw error;
      }
      try {
        fd = openSync(target.path, base);
      } finally {
        closeSync(probe);
      }
    } else {
      fd = openSync(target.path, base);
    }
  } catch (error) {
    throw fileError(error, target.given, 'write');
  }
  const kind = kindOf(fstatSync(fd));
  if (kind !== target.kind) {
    closeSync(fd);
    throw refused(target.given, `${target.given} changed from a ${target.kind} to a ${kind} while it was being opened`, 'run again');
  }
  return fd;
}

/**
 * A file the user named, written in pieces: `write()` as often as needed, then `commit()`; `abort()` on
 * failure. A regular file or a new name is published atomically at `commit()` (nothing half-written, the
 * old file kept until then); a device or FIFO is written through as the bytes come (abort cannot take them
 * back). Throws OUTPUT_REFUSED from the constructor for what resolveOutput refuses.
 */
export class OutputFileWriter {
  readonly target: OutputTarget;
  private readonly atomic: AtomicFileWriter | undefined;
  private fd: number | undefined;

  constructor(given: string, options: OutputOptions = {}) {
    this.target = resolveOutput(given, options);
    const note = describeOutput(this.target, options.what);
    if (note !== undefined) options.note?.(note);
    if (this.target.kind === 'new' || this.target.kind === 'file') {
      const existing = options.keepOwnership === true ? this.target.existing : null;
      this.atomic = new AtomicFileWriter(this.target.path, {
        mode: existing === null ? (options.mode ?? 0o600) : existing.mode & 0o7777,
        ...(existing === null ? {} : {owner: {uid: existing.uid, gid: existing.gid}}),
      });
    } else if (this.target.kind === 'descriptor') {
      this.fd = this.target.fd;
    } else {
      this.fd = openThrough(this.target);
    }
  }

  write(chunk: string | Uint8Array): void {
    if (this.atomic !== undefined) {
      this.atomic.write(chunk);
      return;
    }
    if (this.fd === undefined) throw new Error('OutputFileWriter: write after commit or abort');
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    try {
      let offset = 0;
      while (offset < buffer.length) {
        try {
          offset += writeSync(this.fd, buffer, offset, buffer.length - offset);
        } catch (error) {
          // A descriptor Node made non-blocking (stdout) says EAGAIN while its reader catches up.
          if (systemErrorCode(error) !== 'EAGAIN') throw error;
          pause(5);
        }
      }
    } catch (error) {
      this.abort();
      throw fileError(error, this.target.given, 'write');
    }
  }

  commit(): void {
    if (this.atomic !== undefined) {
      this.atomic.commit();
      return;
    }
    this.close();
  }

  abort(): void {
    if (this.atomic !== undefined) this.atomic.abort();
    else this.close();
  }

  private close(): void {
    if (this.fd === undefined) return;
    if (this.target.kind === 'descriptor') {
      this.fd = undefined; // stdout and stderr stay open
      return;
    }
    try {
      closeSync(this.fd);
    } finally {
      this.fd = undefined;
    }
  }
}

/** Write a whole file the user named (see OutputFileWriter); returns where and how it went. */
export function writeOutputFile(given: string, data: string | Uint8Array, options: OutputOptions = {}): OutputTarget {
  const writer = new OutputFileWriter(given, options);
  writer.write(data);
  writer.commit();
  return writer.target;
}
