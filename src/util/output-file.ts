// Writing a file the user named (`scan --output`, `export --output`, `sign -o`, `--metrics-file`, the
// configuration file `rules enable` edits). The name is the user's, not ours to replace: atomic
// replacement (temp file, fsync, rename) is only for a regular file or a new name. A character device or a
// FIFO is written through (`/dev/null` discards, `/dev/full` is ENOSPC, a FIFO feeds its reader), never
// replaced by a file; a directory, a socket and a block device are refused. A symbolic link is resolved
// once, checked (it must belong to this user or root) and reported; the link itself is kept. A path that leads
// to one of this process's own open descriptors (`/dev/stdout`, `/proc/self/fd/N`, or the very file stdout is
// appended to) is written to that descriptor, never replaced. Bytes bound for a terminal are escaped (text)
// or refused (binary), wherever the terminal was reached from. Kernel interfaces (/proc, /sys and friends)
// are refused. The policy, per kind, is the table in docs/operations/guarantees.md.
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  type Stats,
  statfsSync,
  statSync,
  writeSync,
} from 'node:fs';
import {isatty} from 'node:tty';
import {basename, dirname, isAbsolute, join, resolve} from 'node:path';

import {DaemonEyeError, fileError, systemErrorCode} from '../errors.js';
import {AtomicFileWriter} from './atomic-write.js';
import {trimEndChar} from './text.js';

/**
 * How an output path is written; `descriptor` is one of this process's own open descriptors (stdout reached
 * through /dev/stdout or /proc/self/fd/1, or the file stdout is appended to), written to as it is.
 */
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
  /** For `descriptor`: the open descriptor the path leads to, written to directly (at its offset, or appended) and never closed. */
  readonly fd?: number;
}

/**
 * What is written, so that bytes bound for a terminal are handled by where they land, not by the flag that
 * named the path: text is passed through `escape` (the terminal policy of src/output/terminal.ts) on a
 * terminal; binary (a SQLite snapshot, a raw signature) is refused there, as gzip refuses to.
 */
export type OutputContent = {readonly type: 'text'; readonly escape: (text: string) => string} | {readonly type: 'binary'; readonly name: string};

export interface OutputOptions {
  /** Text (escaped on a terminal) or binary (refused on one). */
  readonly content: OutputContent;
  /** Mode of a new or replaced regular file (default 0600). */
  readonly mode?: number;
  /** Replace a regular file keeping its mode and (as root) its owner and group: for files people edit, like configuration. */
  readonly keepOwnership?: boolean;
  /** Only these kinds may be written (e.g. a configuration file must be a file); others are refused. */
  readonly kinds?: readonly OutputKind[];
  /** What the file is, for messages (default "output"). */
  readonly what?: string;
  /** Told, once the write succeeded, how the path was resolved when that is not a plain file (a link followed, a device written through). */
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
const egid = (): number => process.getegid?.() ?? 0;

/** The descriptors a path is matched against by what it is: stdout first, then stderr, then stdin. */
const STANDARD_DESCRIPTORS = [1, 2, 0] as const;

/**
 * The standard descriptor (1, 2 or 0) that is the very regular file `stat` describes (`--output log >> log`):
 * replacing it would cut the descriptor off. A device or FIFO named by its path is opened again instead, as
 * the same /dev/null serves as stdin and as an output.
 */
function standardDescriptor(stat: Stats): number | undefined {
  if (!stat.isFile()) return undefined;
  for (const fd of STANDARD_DESCRIPTORS) {
    try {
      const own = fstatSync(fd);
      if (own.dev === stat.dev && own.ino === stat.ino) return fd;
    } catch {
      // not open
    }
  }
  return undefined;
}

// This process's own descriptor directories as /proc shows them (its pid there may differ from process.pid
// when /proc belongs to another pid namespace): /proc/PID/fd and /proc/PID/task/TID/fd.
let ownFdDirectory: RegExp | undefined;
function isOwnFdDirectory(dir: string): boolean {
  if (ownFdDirectory === undefined) {
    let self: string;
    try {
      self = realpathSync.native('/proc/self');
    } catch {
      self = `/proc/${process.pid}`;
    }
    ownFdDirectory = new RegExp(`^${self.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:/task/\\d+)?/fd$`);
  }
  return ownFdDirectory.test(dir);
}

/** Where a link chain went: an own descriptor it names, or another process's /proc entry it passed through. */
interface Chain {
  readonly fd?: number;
  readonly foreignProc?: string;
}

// Another process's descriptor directories, and a process's own directory (whose `exe` is its program).
const PROC_FD_DIRECTORY = /^\/proc\/\d+(?:\/task\/\d+)?\/(?:fd|map_files)$/;
const PROC_DIRECTORY = /^\/proc\/\d+(?:\/task\/\d+)?$/;

/**
 * Follow the link at `given` hop by hop (as the kernel will) and say whether a hop is an entry of this
 * process's own descriptor directory (`/proc/self/fd/N`, `/dev/fd/N`, `/dev/stdout`: descriptor N) or of
 * another process's (`/proc/PID/fd/N`, `/proc/PID/cwd` …: its open file, which must not be replaced).
 */
function followChain(given: string): Chain {
  let path = resolve(given);
  for (let hop = 0; hop < 40; hop++) {
    let dir: string;
    try {
      dir = realpathSync.native(dirname(path));
    } catch {
      return {};
    }
    const name = basename(path);
    if (isOwnFdDirectory(dir)) return /^\d+$/.test(name) ? {fd: Number(name)} : {};
    if (PROC_FD_DIRECTORY.test(dir) || (PROC_DIRECTORY.test(dir) && name === 'exe')) return {foreignProc: join(dir, name)};
    let stat: Stats;
    try {
      stat = lstatSync(path);
    } catch {
      return {};
    }
    if (!stat.isSymbolicLink()) return {};
    let target: string;
    try {
      target = readlinkSync(path);
    } catch {
      return {};
    }
    path = isAbsolute(target) ? target : join(dir, target);
  }
  return {};
}

/** The open flags of descriptor `fd` of this process (/proc/self/fdinfo), or undefined without /proc. */
function descriptorFlags(fd: number): number | undefined {
  try {
    const flags = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    return flags === null ? undefined : Number.parseInt(flags[1] as string, 8);
  } catch {
    return undefined; // no /proc: the write itself will say
  }
}

/** Whether descriptor `fd` of this process was opened for writing. */
function openForWriting(fd: number): boolean {
  const flags = descriptorFlags(fd);
  return flags === undefined || (flags & 0o3) !== constants.O_RDONLY;
}

/**
 * Whether descriptor `fd` is one Node opened for its own event loop rather than one this process was given
 * (stdin, stdout, stderr, or one the shell left open, like `9>>log`): an epoll, eventfd or other anonymous
 * inode, or a pipe or socket this process holds both ends of (libuv's self-pipes). Writing into one crashed
 * the run (SIGSEGV). Node marks every descriptor close-on-exec at start, so that flag cannot tell them apart.
 */
function internalDescriptor(fd: number): boolean {
  if (fd <= 2) return false;
  let link: string;
  try {
    link = readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return false;
  }
  if (link.startsWith('anon_inode:')) return true;
  if (!/^(?:pipe|socket):\[/.test(link)) return false;
  const mode = (descriptorFlags(fd) ?? 0) & 0o3;
  for (const other of readdirSync('/proc/self/fd')) {
    if (Number(other) === fd) continue;
    try {
      if (readlinkSync(`/proc/self/fd/${other}`) === link && ((descriptorFlags(Number(other)) ?? 0) & 0o3) !== mode) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

const DESCRIPTOR_NAMES: Readonly<Record<number, string>> = {0: 'stdin', 1: 'stdout', 2: 'stderr'};
const descriptorName = (fd: number): string => DESCRIPTOR_NAMES[fd] ?? `file descriptor ${fd}`;

// File systems that are kernel interfaces, not storage (statfs f_type, linux/magic.h): a name there is a
// switch or a counter, never a place for a file.
const KERNEL_FILESYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, '/proc'],
  [0x62656572, 'sysfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0xcafe4a11, 'bpf'],
  [0x62656570, 'configfs'],
  [0x6165676c, 'pstore'],
  [0xde5e81e4, 'efivarfs'],
  [0x42494e4d, 'binfmt_misc'],
  [0x67596969, 'rpc_pipefs'],
  [0x6e736673, 'nsfs'],
]);

/** The kernel file system `path` (a file, or the directory a new file would go in) is on, or undefined. */
function kernelFilesystem(path: string): string | undefined {
  try {
    return KERNEL_FILESYSTEMS.get(Number(statfsSync(path).type));
  } catch {
    return undefined;
  }
}

/** Wait `ms` without returning to the event loop (a full pipe being drained by its reader). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Refuse (OUTPUT_REFUSED) an output whose directory is reached through a symbolic link owned by neither this
 * user nor root, at any level (someone who can plant `/tmp/case -> /etc` must not choose where root writes:
 * the Linux `protected_symlinks` idea, applied to every directory of the path, not just the last name).
 * `given` is the path as the user named it.
 */
export function checkOutputDirectory(given: string, what = 'output'): void {
  let current = '/';
  for (const part of resolve(dirname(resolve(given)))
    .split('/')
    .filter(Boolean)) {
    const next = join(current, part);
    let stat: Stats;
    try {
      stat = lstatSync(next);
    } catch {
      break; // a missing directory: nothing further to follow, the write itself says what is wrong
    }
    if (stat.isSymbolicLink()) {
      if (stat.uid !== euid() && stat.uid !== 0) {
        throw refused(
          given,
          `${what} ${given} goes through ${next}, a symbolic link owned by uid ${stat.uid}, not by this user (uid ${euid()}) or root: not followed`,
          'give the real directory path, or remove the link',
        );
      }
      try {
        current = realpathSync.native(next);
      } catch {
        break;
      }
    } else {
      current = next;
    }
  }
}

/**
 * Refuse (OUTPUT_REFUSED) a new file `given` whose directory, or the nearest existing directory above it,
 * is on a kernel file system (/proc, /sys …): a file created there is no file, and the error the kernel
 * gives (ENOENT for /proc) would send the user looking for a missing directory.
 */
export function refuseNewOnKernelFilesystem(given: string, what = 'output'): void {
  const kernel = kernelFilesystem(existingAncestor(dirname(resolve(given))));
  if (kernel !== undefined) throw kernelFilesystemRefusal(given, what, kernel);
}

/**
 * The kernel file system (e.g. `/proc`, `sysfs`) that the file `path` is on, or that it would be created on
 * (its nearest existing directory), or undefined for a disk. For state the tool appends to (a file sink).
 */
export function kernelFilesystemOf(path: string): string | undefined {
  return kernelFilesystem(existsSync(path) ? path : existingAncestor(dirname(resolve(path))));
}

/** The nearest directory of `dir` (itself or above) that exists. */
function existingAncestor(dir: string): string {
  let current = dir;
  while (!existsSync(current) && dirname(current) !== current) current = dirname(current);
  return current;
}

/**
 * Decide where and how an output path is written, without writing. Throws OUTPUT_REFUSED (exit 2) for a
 * directory, a socket, a block device, a kind `kinds` leaves out, a dangling link, a link owned by another
 * user (it could point anywhere: the Linux `protected_symlinks` idea, applied everywhere), a path on a kernel
 * file system (/proc, /sys …), another process's open file reached through /proc/PID/fd, and a descriptor of
 * this process that is not open for writing.
 */
export function resolveOutput(given: string, options: Pick<OutputOptions, 'kinds' | 'what'> = {}): OutputTarget {
  const what = options.what ?? 'output';
  // '' is no path: left alone it would resolve to the working directory and fail at the write.
  if (given === '') throw refused(given, `${what} is an empty path`, 'give a file path');
  checkOutputDirectory(given, what);
  let stat: Stats;
  try {
    stat = lstatSync(given);
  } catch (error) {
    // On a kernel file system the refusal says more than the error (another process's /proc/PID/fd is EACCES).
    refuseNewOnKernelFilesystem(given, what);
    if (systemErrorCode(error) !== 'ENOENT') throw fileError(error, given, 'write');
    return {given, path: given, kind: 'new', link: null, existing: null};
  }
  let link: string | null = null;
  let path = given;
  let chain: Chain = {};
  if (stat.isSymbolicLink()) {
    try {
      link = readlinkSync(given);
    } catch (error) {
      // Another process's /proc/PID/fd/N or exe that this user may not inspect: never followed.
      throw refused(
        given,
        `${what} ${given} is a symbolic link this user cannot read (${systemErrorCode(error) ?? 'error'}): not followed`,
        'give the path of a regular file',
      );
    }
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
    chain = followChain(given);
  }
  // One of this process's own descriptors, named (/dev/stdout, /proc/self/fd/N) or by what it is (the file
  // stdout is appended to, the terminal it is): written to as it is open, at its offset or appended, since
  // replacing its file would lose what it holds and a socket cannot be opened again by name.
  const fd = chain.fd ?? standardDescriptor(stat);
  if (fd !== undefined) {
    // Writing into Node's own event-loop pipe would crash the process (it did: SIGSEGV).
    if (internalDescriptor(fd)) {
      throw refused(
        given,
        `${what} ${given} is descriptor ${fd}, one DaemonEye opened for itself, not one it was given`,
        'give a file path, or a descriptor the shell opened (e.g. 9>>FILE with /dev/fd/9)',
      );
    }
    if (!openForWriting(fd)) {
      throw refused(given, `${what} ${given} is this process's ${descriptorName(fd)}, open for reading only`, 'give another path');
    }
    if (options.kinds !== undefined && !options.kinds.includes('descriptor')) {
      throw refused(given, `${what} ${given} is this process's own ${descriptorName(fd)}, not a file`, 'give the path of a regular file');
    }
    return {given, path: given, kind: 'descriptor', link, existing: null, fd};
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
  if (kind === 'file') {
    // Another process's open file (a daemon's log reached through /proc/PID/fd/N): replacing it would cut the
    // process off from its own file.
    if (chain.foreignProc !== undefined) {
      throw refused(given, `${what} ${given} leads through ${chain.foreignProc}, another process's open file: it is not replaced`, "give the file's own path");
    }
    const kernel = kernelFilesystem(given);
    if (kernel !== undefined) throw kernelFilesystemRefusal(given, what, kernel);
    // A regular file is replaced where it really is, so a link keeps pointing at it.
    if (link !== null) path = realpathSync.native(given);
  }
  if (options.kinds !== undefined && !options.kinds.includes(kind)) {
    throw refused(given, `${what} ${given} is a ${kind}${via}, not a file`, 'give the path of a regular file');
  }
  return {given, path, kind, link, existing: kind === 'file' ? stat : null};
}

/**
 * Check, before any work, that `given` can be written the way OutputFileWriter will write it, so a long run
 * (a scan of 20,000 processes, an export of a store) is not thrown away at its end by a path that was wrong
 * from the start. Throws what the write would: resolveOutput's refusals (OUTPUT_REFUSED, exit 2), and for a
 * new or regular file, the fileError of a directory that is missing or that this user cannot create files
 * in (an atomic replacement writes its temp file there). Writes nothing; the write itself checks again.
 */
export function preflightOutput(given: string, options: Pick<OutputOptions, 'kinds' | 'what'> = {}): OutputTarget {
  const target = resolveOutput(given, options);
  if (target.kind === 'new' || target.kind === 'file') {
    try {
      accessSync(dirname(resolve(target.path)), constants.W_OK | constants.X_OK);
    } catch (error) {
      throw fileError(error, given, 'write');
    }
  }
  return target;
}

/** The one-line refusal (OUTPUT_REFUSED, exit 2) for a file `given` on kernel file system `kernel`. */
export function kernelFilesystemRefusal(given: string, what: string, kernel: string): DaemonEyeError {
  return refused(given, `${what} ${given} is on ${kernel}, a kernel interface, not a place for files`, 'give a path on a disk');
}

/** The line that tells the user how an output was written, when it was not simply a file at the given path. */
export function describeOutput(target: OutputTarget, what = 'output'): string | undefined {
  if (target.link !== null && target.kind === 'file')
    return `${what} ${target.given} is a symbolic link to ${target.path}: replaced ${target.path}, the link is kept`;
  if (target.kind === 'descriptor') {
    const own = `this process's own ${descriptorName(target.fd ?? 1)}`;
    return target.link === null
      ? `${what} ${target.given} is ${own}: written to it, not replaced`
      : `${what} ${target.given} is a symbolic link to ${target.link}, ${own}: written to it`;
  }
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

/** The refusal of binary bytes bound for a terminal (one line, like gzip's). */
function binaryToTerminal(target: OutputTarget, what: string, name: string): DaemonEyeError {
  const via = target.link === null ? '' : ` (through the symbolic link to ${target.link})`;
  return refused(
    target.given,
    `${what} ${target.given} is a terminal${via}: ${name} is binary and is not written to a terminal`,
    'give a file path, or redirect stdout to a file',
  );
}

/** A failed write through a device, FIFO or descriptor: ENOSPC there is the device's answer, not a full disk. */
function writeThroughError(error: unknown, target: OutputTarget): DaemonEyeError {
  const failure = fileError(error, target.given, 'write');
  if (systemErrorCode(error) !== 'ENOSPC') return failure;
  return new DaemonEyeError('IO_WRITE_FAILED', failure.message, {
    file: target.given,
    hint: `give a file path; this ${target.kind} takes no more bytes, as /dev/full never does`,
    cause: error,
  });
}

/**
 * A file the user named, written in pieces: `write()` as often as needed, then `commit()`; `abort()` on
 * failure. A regular file or a new name is published atomically at `commit()` (nothing half-written, the
 * old file kept until then); a device, FIFO or own descriptor is written through as the bytes come (abort
 * cannot take them back). When the bytes land on a terminal (`terminal`), text is escaped by its content's
 * `escape` and binary is refused from the constructor. Throws OUTPUT_REFUSED from the constructor for what
 * resolveOutput refuses. How a link or device was handled is told to `note` once `commit()` succeeded, so a
 * refusal or a failed write is one line.
 */
export class OutputFileWriter {
  readonly target: OutputTarget;
  /** Whether the bytes land on a terminal (a TTY reached by any path: /dev/stdout, /dev/tty, /dev/pts/N …). */
  readonly terminal: boolean;
  private readonly atomic: AtomicFileWriter | undefined;
  private fd: number | undefined;
  private readonly escape: ((text: string) => string) | undefined;
  private readonly done: (() => void) | undefined;

  constructor(given: string, options: OutputOptions) {
    this.target = resolveOutput(given, options);
    const what = options.what ?? 'output';
    const note = describeOutput(this.target, what);
    this.done = note === undefined || options.note === undefined ? undefined : () => options.note?.(note);
    if (this.target.kind === 'new' || this.target.kind === 'file') {
      const existing = options.keepOwnership === true ? this.target.existing : null;
      this.atomic = new AtomicFileWriter(this.target.path, {
        mode: existing === null ? (options.mode ?? 0o600) : existing.mode & 0o7777,
        ...(existing === null ? {} : {owner: {uid: existing.uid, gid: existing.gid}}),
      });
      this.terminal = false;
      return;
    }
    const fd = this.target.kind === 'descriptor' ? (this.target.fd as number) : openThrough(this.target);
    this.terminal = isatty(fd);
    if (this.terminal && options.content.type === 'binary') {
      if (this.target.kind !== 'descriptor') closeSync(fd);
      throw binaryToTerminal(this.target, what, options.content.name);
    }
    this.fd = fd;
    if (this.terminal && options.content.type === 'text') this.escape = options.content.escape;
  }

  write(chunk: string | Uint8Array): void {
    if (this.atomic !== undefined) {
      this.atomic.write(chunk);
      return;
    }
    if (this.fd === undefined) throw new Error('OutputFileWriter: write after commit or abort');
    const text = this.escape === undefined ? chunk : this.escape(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const buffer = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    try {
      let offset = 0;
      while (offset < buffer.length) {
        try {
          // No position: at the descriptor's offset, or at the end when it was opened to append (`>> log`).
          offset += writeSync(this.fd, buffer, offset, buffer.length - offset);
        } catch (error) {
          // A descriptor Node made non-blocking (stdout) says EAGAIN while its reader catches up.
          if (systemErrorCode(error) !== 'EAGAIN') throw error;
          pause(5);
        }
      }
    } catch (error) {
      this.abort();
      throw writeThroughError(error, this.target);
    }
  }

  commit(): void {
    if (this.atomic !== undefined) this.atomic.commit();
    else this.close();
    this.done?.();
  }

  abort(): void {
    if (this.atomic !== undefined) this.atomic.abort();
    else this.close();
  }

  private close(): void {
    if (this.fd === undefined) return;
    if (this.target.kind === 'descriptor') {
      this.fd = undefined; // the process's own descriptors stay open
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
export function writeOutputFile(given: string, data: string | Uint8Array, options: OutputOptions): OutputTarget {
  const writer = new OutputFileWriter(given, options);
  writer.write(data);
  writer.commit();
  return writer.target;
}

/**
 * The real path of a directory the user named to write a tree of files under (`export --format parquet
 * --output DIR`), created (mode 0750, parents too) when missing. A link there is resolved once and checked as
 * for a file (yours or root's); a kernel file system, or anything but a directory, is refused (OUTPUT_REFUSED).
 */
export function resolveOutputDirectory(given: string, what = 'output directory'): string {
  let stat: Stats;
  try {
    stat = lstatSync(given);
  } catch (error) {
    if (systemErrorCode(error) !== 'ENOENT') throw fileError(error, given, 'create');
    refuseNewOnKernelFilesystem(given, what);
    try {
      mkdirSync(given, {recursive: true, mode: 0o750});
    } catch (failure) {
      throw fileError(failure, given, 'create');
    }
    return realpathSync.native(given);
  }
  if (stat.isSymbolicLink() && stat.uid !== euid() && stat.uid !== 0) {
    throw refused(
      given,
      `${what} ${given} is a symbolic link owned by uid ${stat.uid}, not by this user (uid ${euid()}) or root: not followed`,
      'give the directory it points to, or remove the link',
    );
  }
  let real: string;
  try {
    real = realpathSync.native(given);
    stat = statSync(real);
  } catch (error) {
    throw refused(
      given,
      `${what} ${given} is a symbolic link that leads nowhere (${systemErrorCode(error) ?? 'unreadable'})`,
      'give an existing directory or a new name',
    );
  }
  if (!stat.isDirectory()) throw refused(given, `${what} ${given} is a ${kindOf(stat)}, not a directory`, 'give a directory path; it is created when missing');
  const kernel = kernelFilesystem(real);
  if (kernel !== undefined) throw kernelFilesystemRefusal(given, what, kernel);
  return real;
}

/**
 * Create (mode 0750) or check each directory of `relative` under `root` (from resolveOutputDirectory) and return
 * the path: the tree inside is the tool's own, so a symbolic link, a non-directory, or a directory another user
 * owns or may write to there (any user, or a group other than this user's or root's: planted, or opened to
 * others, by someone who can write to the root) is refused, never followed. `created` hears each directory this call made.
 */
export function outputSubdirectory(root: string, relative: string, what = 'output directory', created?: (path: string) => void): string {
  let path = root;
  for (const part of relative.split('/').filter((p) => p !== '' && p !== '.')) {
    path = join(path, part);
    try {
      mkdirSync(path, {mode: 0o750});
      created?.(path);
    } catch (error) {
      if (systemErrorCode(error) !== 'EEXIST') throw fileError(error, path, 'create');
    }
    const stat = lstatSync(path);
    const problem = stat.isSymbolicLink()
      ? `is a symbolic link to ${readlinkSync(path)}`
      : !stat.isDirectory()
        ? `is a ${kindOf(stat)}, not a directory`
        : stat.uid !== euid() && stat.uid !== 0
          ? `belongs to uid ${stat.uid}, not to this user (uid ${euid()}) or root`
          : (stat.mode & 0o002) !== 0
            ? 'may be written by any user'
            : (stat.mode & 0o020) !== 0 && stat.gid !== egid() && stat.gid !== 0
              ? `may be written by group ${stat.gid}, not this user's group (gid ${egid()}) or root's`
              : undefined;
    if (problem !== undefined) {
      throw refused(
        path,
        `${what} ${path} ${problem}: the tree under ${root} is written only through directories of its own`,
        `remove ${path}, or give another ${what}`,
      );
    }
  }
  return path;
}
