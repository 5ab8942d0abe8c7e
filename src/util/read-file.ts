// Reading a file a flag or the configuration names, which may come from a hostile host: only a regular
// file is read (a FIFO, a device such as /dev/zero, a socket or a directory is refused before anything
// blocks or grows), and never more than a stated number of bytes, so no input can hang a run or fill its
// memory. Every reader of user-named files goes through here; docs/storage.md ("Untrusted files") says why.
import {closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync} from 'node:fs';

import {DaemonEyeError, type ErrorCode, fileError} from '../errors.js';
import {isEmbeddedFile, readFileSync as readPackageFile} from '../package-files.js';
import {runSliced, runWhole, type Steps} from './steps.js';

/** 1 MiB, for limits written as `n * MIB`. */
export const MIB = 1024 * 1024;

/**
 * The size limits of the files DaemonEye reads, by kind (docs/storage.md lists them). Each is far above what
 * DaemonEye writes or a person edits; snapshot files have their own, configurable limit
 * (`storage.max_snapshot_mb`).
 */
/**
 * The most values a named list holds (`detection.lists.<name>` and `<rules dir>/lists/<name>.txt` merged): 100,000
 * SHA-256 hashes are a 6.5 MB list file, within the list file's 8 MiB. Rules read a list per row, so a list of
 * millions would cost every rule that reads it (a million shells timed out six rules).
 */
export const MAX_LIST_ENTRIES = 100_000;

export const FILE_LIMITS = {
  configuration: {maxBytes: 16 * MIB, what: 'configuration file', code: 'CONFIG_FILE_UNREADABLE'},
  rule: {maxBytes: 16 * MIB, what: 'rule file'},
  list: {maxBytes: 8 * MIB, what: 'list file'},
  key: {maxBytes: 64 * 1024, what: 'key file'},
  signature: {maxBytes: 64 * 1024, what: 'signature file'},
  signed: {maxBytes: 1024 * MIB, what: 'file to sign or verify'},
  checkpoint: {maxBytes: 16 * MIB, what: 'checkpoint file', code: 'CHECKPOINT_INVALID'},
  proof: {maxBytes: 16 * MIB, what: 'proof file', code: 'CHECKPOINT_INVALID'},
  alerts: {maxBytes: 256 * MIB, what: 'alerts file'},
  state: {maxBytes: 256 * MIB, what: 'state file'},
  manifest: {maxBytes: 64 * MIB, what: 'manifest'},
} as const satisfies Record<string, ReadFileLimits>;

export interface ReadFileLimits {
  /** At most this many bytes; a bigger file (or one that grows past it while read) is refused. */
  readonly maxBytes: number;
  /** What the file is, in the refusal: `snapshot file`, `configuration file`, `key file`. */
  readonly what: string;
  /** The setting or flag that raises `maxBytes`, named in the refusal's hint; omitted when fixed. */
  readonly setting?: string;
  /** Error code of a refusal (default INPUT_UNREADABLE, exit 2). */
  readonly code?: ErrorCode;
}

/** The kind of a non-regular file, as the refusal names it. */
export function fileKind(stats: Stats): string {
  if (stats.isFile()) return 'regular file';
  if (stats.isDirectory()) return 'directory';
  if (stats.isFIFO()) return 'FIFO (named pipe)';
  if (stats.isCharacterDevice()) return 'character device';
  if (stats.isBlockDevice()) return 'block device';
  if (stats.isSocket()) return 'socket';
  return 'special file';
}

/** `a key file`, `an evidence bundle`. */
const withArticle = (what: string): string => `${/^[aeiou]/i.test(what) ? 'an' : 'a'} ${what}`;

/** The refusal of a file that is not a regular one (a symbolic link is judged by what it points at). */
export function notRegularFile(path: string, stats: Stats, limits: Pick<ReadFileLimits, 'what' | 'code'>): DaemonEyeError {
  const kind = fileKind(stats);
  return new DaemonEyeError(limits.code ?? 'INPUT_UNREADABLE', `is a ${kind}, not a regular file: ${withArticle(limits.what)} is never read from one`, {
    file: path,
    hint: `give the path of a regular ${limits.what}`,
  });
}

function tooLarge(path: string, bytes: number, limits: ReadFileLimits, grew = false): DaemonEyeError {
  const size = grew ? `grew past ${formatBytes(limits.maxBytes)} while being read` : `is ${formatBytes(bytes)}`;
  return new DaemonEyeError(limits.code ?? 'INPUT_UNREADABLE', `${size}, more than the ${formatBytes(limits.maxBytes)} ${withArticle(limits.what)} may have`, {
    file: path,
    hint: limits.setting === undefined ? `give a smaller ${limits.what}` : `give a smaller ${limits.what}, or raise ${limits.setting}`,
  });
}

/** The most one read of readRegularFile asks for: a step of readRegularFileSliced. */
const READ_BYTES = 8 * MIB;

/** `1.5 MiB`, `512 KiB`, `20 bytes`. */
export function formatBytes(bytes: number): string {
  if (bytes >= MIB) return `${Number((bytes / MIB).toFixed(1))} MiB`;
  if (bytes >= 1024) return `${Number((bytes / 1024).toFixed(1))} KiB`;
  return `${bytes} bytes`;
}

/**
 * Stat `path` (following symbolic links) and refuse anything but a regular file of at most
 * `limits.maxBytes`. System errors (ENOENT, EACCES, …) are thrown as Node raised them, for the caller's
 * own wording; refusals are DaemonEyeErrors.
 */
export function statRegularFile(path: string, limits: ReadFileLimits): Stats {
  const stats = statSync(path);
  if (!stats.isFile()) throw notRegularFile(path, stats, limits);
  if (stats.size > limits.maxBytes) throw tooLarge(path, stats.size, limits);
  return stats;
}

/**
 * The bytes of a regular file, at most `limits.maxBytes`. The file is judged by stat before it is opened
 * (opening a FIFO blocks, opening some devices acts), opened non-blocking and without becoming a
 * controlling terminal, and judged again by fstat on the open descriptor, which must be the same file:
 * a file swapped for a FIFO or a device between the two is refused, never read. Reading stops one byte
 * past the limit, so a file that grows while read cannot fill memory.
 *
 * Throws a DaemonEyeError (code `limits.code`, default INPUT_UNREADABLE) for a file that is not regular or
 * is too large, and the Node system error (ENOENT, EACCES, EISDIR, …) otherwise. `allocate` makes the buffer
 * a read goes into (a file read whole in one read lands in one; e.g. shared memory for a snapshot file).
 */
export function readRegularFile(path: string, limits: ReadFileLimits, allocate: (bytes: number) => Buffer = Buffer.allocUnsafe): Buffer {
  return runWhole(readRegularFileSteps(path, limits, allocate));
}

/**
 * readRegularFile, the event loop given a turn between reads (at most 8 MiB each) once a slice has run: for files
 * that may be hundreds of MB (a snapshot), so a signal is not held back by the read (src/util/interrupt.ts).
 */
export function readRegularFileSliced(path: string, limits: ReadFileLimits, allocate: (bytes: number) => Buffer = Buffer.allocUnsafe): Promise<Buffer> {
  return runSliced(readRegularFileSteps(path, limits, allocate));
}

/**
 * Open the regular file `path` read-only, as readRegularFile does before it reads (judged by stat, opened
 * non-blocking and without becoming a controlling terminal, judged again by fstat on the descriptor, which
 * must be the same file, of at most `limits.maxBytes`): its descriptor, which the caller closes, and fstat's
 * answer. Throws as readRegularFile.
 */
export function openRegularFile(path: string, limits: ReadFileLimits): {fd: number; stats: Stats} {
  const before = statRegularFile(path, limits);
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw notRegularFile(path, stats, limits);
    if (stats.ino !== before.ino || stats.dev !== before.dev) {
      throw new DaemonEyeError(limits.code ?? 'INPUT_UNREADABLE', 'was replaced by another file while being opened', {
        file: path,
        hint: 'run again once nothing is changing it',
      });
    }
    if (stats.size > limits.maxBytes) throw tooLarge(path, stats.size, limits);
    return {fd, stats};
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

function* readRegularFileSteps(path: string, limits: ReadFileLimits, allocate: (bytes: number) => Buffer): Steps<Buffer> {
  // The single executable's own files (built-in rules, their lists) are in memory, not on any disk.
  if (isEmbeddedFile(path)) return readPackageFile(path);
  const {fd, stats} = openRegularFile(path, limits);
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    // One byte more than fstat's size, so a file that grew since is noticed (and read on, up to the limit).
    let want = Math.min(limits.maxBytes + 1, stats.size + 1);
    for (;;) {
      const buffer = allocate(want);
      let filled = 0;
      while (filled < buffer.length) {
        const n = readSync(fd, buffer, filled, Math.min(READ_BYTES, buffer.length - filled), null);
        if (n === 0) break;
        filled += n;
        yield;
      }
      chunks.push(buffer.subarray(0, filled));
      total += filled;
      if (total > limits.maxBytes) throw tooLarge(path, total, limits, true);
      if (filled < buffer.length) break;
      want = Math.min(limits.maxBytes + 1 - total, MIB);
    }
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/** A regular file's text (UTF-8), at most `limits.maxBytes`; see readRegularFile. */
export function readRegularTextFile(path: string, limits: ReadFileLimits): string {
  return readRegularFile(path, limits).toString('utf8');
}

/**
 * As readRegularFile, with system errors turned into DaemonEyeErrors naming the file (fileError: a missing
 * file is INPUT_NOT_FOUND, an unreadable one INPUT_UNREADABLE, both exit 2).
 */
export function readInputFile(path: string, limits: ReadFileLimits): Buffer {
  try {
    return readRegularFile(path, limits);
  } catch (error) {
    throw fileError(error, path, 'read');
  }
}
