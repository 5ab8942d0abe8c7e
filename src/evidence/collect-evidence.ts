// `daemoneye collect`: copy what a responder needs about suspect processes into a case directory or a
// tar.gz, with a manifest (SHA-256 and BLAKE3 of every file, tool version, host, time, the command run)
// signed with the Ed25519 key, so the evidence can be checked later (`daemoneye verify BUNDLE`).
//
// Every byte is read through /proc/PID/…: the executable through the /proc/PID/exe magic link (the
// running image, even when deleted from disk), never through its path on disk, so no link is followed
// out of /proc. The case is built in a private staging directory next to the output and renamed into
// place only when complete: an existing output is never overwritten and a failure leaves nothing behind.
import {createHash, randomUUID} from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants,
  existsSync,
  fstatSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import {hostname as osHostname} from 'node:os';
import {basename, dirname, join, resolve} from 'node:path';

import {blake3} from '@noble/hashes/blake3.js';

import {linuxHostFacts} from '../collect/host.js';
import {parseMaps} from '../collect/maps.js';
import {socketsOfProcess} from '../collect/sockets.js';
import {type Host, hostOfScan} from '../models/host.js';
import {REDACTION_POLICY_DOC, type Redactor} from '../redaction/redact.js';
import type {PrivateKey} from '../crypto/keys.js';
import {signBytes} from '../crypto/keys.js';
import {DaemonEyeError, fileError} from '../errors.js';
import {toHex} from '../crypto/hash.js';
import {TOOL_VERSION} from '../version.js';
import {EVIDENCE_FORMAT, MANIFEST_FILE, type EvidenceManifest, type ManifestFile, SIGNATURE_FILE} from './manifest.js';
import {makeDirectory} from '../util/directory.js';
import {onInterrupt, settleRun} from '../util/interrupt.js';
import {checkOutputDirectory, refuseNewOnKernelFilesystem} from '../util/output-file.js';

export interface CollectEvidenceOptions {
  readonly pids: readonly number[];
  /** A directory (created; must not exist) or a file ending in `.tar.gz` / `.tgz` (must not exist). */
  readonly output: string;
  /** Largest file copied (an executable larger than this is listed as skipped), bytes. */
  readonly maxFileBytes: number;
  /** Largest case, bytes: files past it are listed as skipped. */
  readonly maxTotalBytes: number;
  /** Signs the manifest; absent: the bundle is unsigned and `verify` says so. */
  readonly key?: PrivateKey;
  /** The command line that asked for this collection, recorded in the manifest. */
  readonly command: readonly string[];
  /** Why these pids (`--pid`, `--alerts FILE`, `--rule ID`), recorded in the manifest. */
  readonly reason: string;
  /** Where /proc is (tests). */
  readonly procRoot?: string;
  /**
   * The redaction policy for argv and environment (the files that carry secrets by nature); null: the
   * responder chose `--no-redact`, and the manifest says so.
   */
  readonly redactor: Redactor | null;
  /** `collection.decorations`: the host object's static labels. */
  readonly decorations?: Readonly<Record<string, string>>;
  /** Files each process's alerts name (`--alerts`, `--rule`): copied too when the process maps them. */
  readonly namedFiles?: ReadonlyMap<number, ReadonlySet<string>>;
}

export interface CollectEvidenceResult {
  readonly output: string;
  readonly kind: 'directory' | 'tar.gz';
  readonly manifest: EvidenceManifest;
  /** SHA-256 of manifest.json as written (what the audit ledger records). */
  readonly manifest_sha256: string;
  readonly signed: boolean;
  readonly key_id: string | null;
  readonly bytes: number;
}

/**
 * `KEY=value` pairs of /proc/PID/environ (entries without `=` keep an empty value), each value through the
 * redaction policy as an environment value of its name; `redacted` counts the values that changed.
 */
export function redactEnvironment(text: string, redactor: Redactor | null): {environment: Record<string, string>; redacted: number} {
  const environment: Record<string, string> = {};
  let redacted = 0;
  for (const entry of text.split('\0')) {
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    const key = eq < 0 ? entry : entry.slice(0, eq);
    const value = eq < 0 ? '' : entry.slice(eq + 1);
    const shown = redactor === null ? value : redactor.env(key, value);
    if (shown !== value) redacted++;
    environment[key] = shown;
  }
  return {environment, redacted};
}

/** argv through the policy; `redacted` counts the arguments that changed. */
export function redactArguments(argv: readonly string[], redactor: Redactor | null): {argv: string[]; redacted: number} {
  if (redactor === null) return {argv: [...argv], redacted: 0};
  const out = redactor.argv(argv);
  return {argv: out, redacted: out.filter((arg, index) => arg !== argv[index]).length};
}

function isTarball(path: string): boolean {
  return path.endsWith('.tar.gz') || path.endsWith('.tgz');
}

/** Read a whole /proc file (size 0 in stat, so read until EOF), at most `limit` bytes. */
function readProcBytes(path: string, limit: number): Buffer {
  const fd = openSync(path, constants.O_RDONLY);
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(65_536);
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n <= 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > limit) throw new DaemonEyeError('IO_READ_FAILED', `${path} is larger than ${limit} bytes`, {file: path});
    }
    return Buffer.concat(chunks);
  } finally {
    closeSync(fd);
  }
}

class CaseWriter {
  readonly files: ManifestFile[] = [];
  readonly skipped: {path: string; reason: string}[] = [];
  /** Files written through the redaction policy, with the number of values it replaced in each. */
  readonly redacted: {path: string; values: number}[] = [];
  total = 0;

  constructor(
    private readonly root: string,
    readonly maxFileBytes: number,
    private readonly maxTotalBytes: number,
  ) {}

  /** Create `relative` (never through a link: O_EXCL|O_NOFOLLOW) and write `data`. */
  write(relative: string, data: Uint8Array | string): void {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (bytes.length > this.maxFileBytes || this.total + bytes.length > this.maxTotalBytes) {
      this.skipped.push({path: relative, reason: `${bytes.length} bytes: past --max-file-bytes or --max-total-bytes`});
      return;
    }
    const path = join(this.root, relative);
    makeDirectory(dirname(path), 0o700);
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    } finally {
      closeSync(fd);
    }
    this.total += bytes.length;
    this.files.push({
      path: relative,
      bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      blake3: toHex(blake3(bytes)),
    });
  }
}

/** Start ticks of a process (field 22 of /proc/PID/stat), to tell it from a later one with its pid. */
function startTicks(procRoot: string, pid: number): number | null {
  try {
    const stat = readProcBytes(`${procRoot}/${pid}/stat`, 65_536).toString('utf8');
    const field = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return field === undefined || !/^\d+$/.test(field) ? null : Number(field);
  } catch {
    return null;
  }
}

/** Package-managed library directories: a file mapped from here is the distribution's, not evidence. */
const SYSTEM_LIBRARY_DIRS = ['/usr/lib/', '/usr/lib64/', '/usr/lib32/', '/lib/', '/lib64/', '/lib32/', '/usr/libexec/'];

/** One mapped file copied into the case (`mapped.json`). */
interface MappedFileEntry {
  readonly path: string;
  readonly deleted: boolean;
  /** The mapping it was read through: `/proc/PID/map_files/START-END`. */
  readonly map_file: string;
  /** Why it was copied: `deleted`, `memfd`, `named by an alert`, or `outside the system library directories`. */
  readonly reason: string;
  /** Where it is in the case; null when it could not be copied (see `skipped`). */
  readonly copy: string | null;
}

/** Bytes of a file opened through a /proc magic link (map_files, exe), at most `max`: never resolves its path. */
function readThroughLink(path: string, max: number): Uint8Array {
  const fd = openSync(path, constants.O_RDONLY);
  try {
    const size = fstatSync(fd).size;
    if (size > max) throw new DaemonEyeError('IO_READ_FAILED', `${size} bytes, past --max-file-bytes`);
    const buffer = Buffer.allocUnsafe(size);
    let offset = 0;
    while (offset < size) {
      const n = readSync(fd, buffer, offset, size - offset, offset);
      if (n <= 0) break;
      offset += n;
    }
    return buffer.subarray(0, offset);
  } finally {
    closeSync(fd);
  }
}

/**
 * The files a process maps executable that a responder needs and may not find on disk again: deleted ones,
 * memfds, those outside the package-managed library directories, and those its alerts name. Each is read
 * through /proc/PID/map_files/START-END (the mapped file itself, deleted or not; needs root), once per path.
 */
function mappedFilesToCopy(
  mapsText: string,
  pid: number,
  named: ReadonlySet<string>,
  exeLink: string | null,
): {path: string; deleted: boolean; start: string; end: string; reason: string}[] {
  // The executable itself is already in the case as `exe`.
  const seen = new Set<string>(exeLink === null ? [] : [exeLink.replace(/ \(deleted\)$/, '')]);
  const chosen: {path: string; deleted: boolean; start: string; end: string; reason: string}[] = [];
  for (const row of parseMaps(pid, mapsText)) {
    if (row.path === null || row.pseudo || !row.permissions.includes('x')) continue;
    // parseMaps already took the kernel's ` (deleted)` off a deleted file's path.
    if (seen.has(row.path)) continue;
    seen.add(row.path);
    const reason = row.path.startsWith('/memfd:')
      ? 'memfd'
      : row.deleted
        ? 'deleted'
        : named.has(row.path)
          ? 'named by an alert'
          : SYSTEM_LIBRARY_DIRS.some((dir) => row.path?.startsWith(dir) === true)
            ? null
            : 'outside the system library directories';
    if (reason === null) continue;
    // map_files names a mapping by its addresses in plain lower-case hex.
    const hex = (address: string): string => BigInt(address).toString(16);
    chosen.push({path: row.path, deleted: row.deleted, start: hex(row.start), end: hex(row.end), reason});
  }
  return chosen;
}

/** Copy one process's evidence under `proc-PID/`; what cannot be read is listed in `skipped`, never fatal. */
function collectProcess(
  writer: CaseWriter,
  procRoot: string,
  pid: number,
  redactor: Redactor | null,
  named: ReadonlySet<string> = new Set(),
): EvidenceManifest['processes'][number] {
  const dir = `${procRoot}/${pid}`;
  const prefix = `proc-${pid}`;
  const ticksBefore = startTicks(procRoot, pid);
  const attempt = (relative: string, produce: () => Uint8Array | string): void => {
    try {
      writer.write(`${prefix}/${relative}`, produce());
    } catch (error) {
      const code = (error as {code?: string}).code;
      writer.skipped.push({path: `${prefix}/${relative}`, reason: code ?? (error as Error).message});
    }
  };
  let exeLink: string | null = null;
  try {
    exeLink = readlinkSync(`${dir}/exe`);
  } catch {
    exeLink = null;
  }
  // The image through the magic link: works for a binary deleted from disk and never resolves its path.
  attempt('exe', () => readThroughLink(`${dir}/exe`, writer.maxFileBytes));
  const redactedFile = (relative: string, values: number): void => {
    if (redactor !== null) writer.redacted.push({path: `${prefix}/${relative}`, values});
  };
  attempt('cmdline.json', () => {
    const text = readProcBytes(`${dir}/cmdline`, 4 * 1024 * 1024)
      .toString('utf8')
      .replace(/\0$/, '');
    const {argv, redacted} = redactArguments(text === '' ? [] : text.split('\0'), redactor);
    redactedFile('cmdline.json', redacted);
    return `${JSON.stringify(argv, null, 2)}\n`;
  });
  for (const file of ['status', 'stat', 'maps', 'mountinfo', 'cgroup']) attempt(file, () => readProcBytes(`${dir}/${file}`, 64 * 1024 * 1024));
  attempt('environ.json', () => {
    const {environment, redacted} = redactEnvironment(readProcBytes(`${dir}/environ`, 4 * 1024 * 1024).toString('utf8'), redactor);
    redactedFile('environ.json', redacted);
    return `${JSON.stringify(environment, null, 2)}\n`;
  });
  attempt('fds.json', () => {
    const fds: Record<string, string> = {};
    for (const fd of readdirSync(`${dir}/fd`).sort((a, b) => Number(a) - Number(b))) {
      try {
        fds[fd] = readlinkSync(`${dir}/fd/${fd}`);
      } catch {
        // closed meanwhile
      }
    }
    return `${JSON.stringify(fds, null, 2)}\n`;
  });
  // Each socket fd resolved to its connection (family, addresses, state, unix path), as process_open_sockets says.
  attempt('sockets.json', () => `${JSON.stringify(Object.fromEntries(socketsOfProcess(procRoot, pid)), null, 2)}\n`);
  // The files it maps that may be gone from disk, or that its alerts name: read through map_files.
  attempt('mapped.json', () => {
    const entries: MappedFileEntry[] = [];
    const maps = readProcBytes(`${dir}/maps`, 64 * 1024 * 1024).toString('latin1');
    mappedFilesToCopy(maps, pid, named, exeLink).forEach((file, index) => {
      const mapFile = `${file.start}-${file.end}`;
      const copy = `mapped/${index}-${basename(file.path.replace(/ \(deleted\)$/, ''))
        .replace(/[^\w.+-]/g, '_')
        .slice(0, 80)}`;
      const before = writer.files.length;
      attempt(copy, () => readThroughLink(`${dir}/map_files/${mapFile}`, writer.maxFileBytes));
      const copied = writer.files.length > before;
      entries.push({
        path: file.path,
        deleted: file.deleted,
        map_file: `/proc/${pid}/map_files/${mapFile}`,
        reason: file.reason,
        copy: copied ? `${prefix}/${copy}` : null,
      });
    });
    return `${JSON.stringify(entries, null, 2)}\n`;
  });
  const ticksAfter = startTicks(procRoot, pid);
  return {
    pid,
    start_ticks: ticksBefore,
    exe_link: exeLink,
    // The same process from the first read to the last (not exited, pid not reused meanwhile).
    consistent: ticksBefore !== null && ticksBefore === ticksAfter,
  };
}

/** The host object of the manifest: this host's facts, with /proc's boot id (procRoot may be a test's). */
function manifestHost(procRoot: string, decorations: Readonly<Record<string, string>>): Host {
  const facts = linuxHostFacts();
  return {...hostOfScan({...facts, host_id: facts.machine_id, decorations: {...decorations}}), hostname: osHostname(), boot_id: bootId(procRoot)};
}

function bootId(procRoot: string): string | null {
  try {
    return readProcBytes(`${procRoot}/sys/kernel/random/boot_id`, 4096).toString('utf8').trim();
  } catch {
    return null;
  }
}

/**
 * Collect evidence for `pids` into `output`. Refuses (INVALID_ARGUMENT, exit 2) when the output exists or
 * no pid exists; processes that exit meanwhile are recorded with what could be read.
 */
export async function collectEvidence(options: CollectEvidenceOptions): Promise<CollectEvidenceResult> {
  const procRoot = options.procRoot ?? '/proc';
  checkOutputDirectory(options.output, 'evidence output');
  const output = resolve(options.output);
  // Anything at the name (a dangling link, a device, a FIFO included) is refused: evidence goes to a new name only.
  const existing = existingKind(output);
  if (existing !== undefined) {
    throw new DaemonEyeError('INVALID_ARGUMENT', `${options.output} already exists; evidence is never written over`, {
      file: options.output,
      hint: `it is ${existing}: choose a new --output`,
    });
  }
  refuseNewOnKernelFilesystem(options.output, 'evidence output');
  const pids = [...new Set(options.pids)].sort((a, b) => a - b);
  const alive = pids.filter((pid) => existsSync(`${procRoot}/${pid}/stat`));
  if (alive.length === 0) {
    throw new DaemonEyeError('INVALID_ARGUMENT', `no process to collect: ${pids.length === 0 ? 'no pid was selected' : `pid ${pids.join(', ')} not running`}`, {
      hint: 'give --pid of a running process, --alerts FILE or --rule ID',
    });
  }
  const parent = dirname(output);
  let staging: string;
  try {
    staging = mkdtempSync(join(parent, `.tmp-${basename(output)}-`));
  } catch (error) {
    throw fileError(error, parent, 'create');
  }
  const forget = onInterrupt(() => rmSync(staging, {recursive: true, force: true}));
  try {
    const caseRoot = isTarball(output) ? join(staging, basename(output).replace(/\.(tar\.gz|tgz)$/, '')) : staging;
    if (caseRoot !== staging) mkdirSync(caseRoot, {mode: 0o700});
    const writer = new CaseWriter(caseRoot, options.maxFileBytes, options.maxTotalBytes);
    const processes = alive.map((pid) => collectProcess(writer, procRoot, pid, options.redactor, options.namedFiles?.get(pid)));
    const command = redactArguments(options.command, options.redactor);
    const manifest: EvidenceManifest = {
      format: EVIDENCE_FORMAT,
      case_id: randomUUID(),
      tool: 'daemoneye',
      tool_version: TOOL_VERSION,
      created_at: Date.now(),
      host: manifestHost(procRoot, options.decorations ?? {}),
      command: command.argv,
      reason: options.reason,
      requested_pids: pids,
      not_running: pids.filter((pid) => !alive.includes(pid)),
      processes,
      files: writer.files,
      skipped: writer.skipped,
      redaction:
        options.redactor === null
          ? {
              enabled: false,
              policy: REDACTION_POLICY_DOC,
              files: [],
              note: 'collected with redaction off (--no-redact or collection.redaction.enabled: false): argv and environments are as each process had them',
            }
          : {
              enabled: true,
              policy: REDACTION_POLICY_DOC,
              files: writer.redacted,
              note: `argv (cmdline.json), environments (environ.json) and this manifest's command (${command.redacted} value${command.redacted === 1 ? '' : 's'}) went through the policy; every other file is an exact copy`,
            },
      key_id: options.key?.keyId ?? null,
    };
    const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
    writeNew(join(caseRoot, MANIFEST_FILE), manifestBytes);
    if (options.key !== undefined) writeNew(join(caseRoot, SIGNATURE_FILE), `${Buffer.from(signBytes(options.key, manifestBytes)).toString('base64')}\n`);
    let bytes: number;
    if (isTarball(output)) {
      const {create} = await import('tar');
      const archive = join(staging, 'case.tar.gz');
      // portable: no uid/gid/user names of the collecting host in the archive headers.
      await create({gzip: true, file: archive, cwd: staging, portable: true}, [basename(caseRoot)]);
      chmodSync(archive, 0o600); // the case holds environments and argv: owner only, like snapshot files
      bytes = fstatSize(archive);
      // link() fails when the output appeared meanwhile: never replace what someone else wrote.
      linkNoReplace(archive, output);
    } else {
      bytes = writer.total + manifestBytes.length;
      renameNoReplace(staging, output);
    }
    // The bundle is the run's product: a signal handled from now on is let pass (src/util/interrupt.ts).
    settleRun();
    return {
      output,
      kind: isTarball(output) ? 'tar.gz' : 'directory',
      manifest,
      manifest_sha256: createHash('sha256').update(manifestBytes).digest('hex'),
      signed: options.key !== undefined,
      key_id: options.key?.keyId ?? null,
      bytes,
    };
  } finally {
    forget();
    rmSync(staging, {recursive: true, force: true});
  }
}

function writeNew(path: string, data: string | Uint8Array): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  } finally {
    closeSync(fd);
  }
}

function fstatSize(path: string): number {
  const fd = openSync(path, constants.O_RDONLY);
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}

function linkNoReplace(from: string, to: string): void {
  try {
    // A hard link is created only if `to` does not exist (rename would replace it).
    linkSync(from, to);
  } catch (error) {
    if ((error as {code?: string}).code === 'EEXIST') {
      throw new DaemonEyeError('INVALID_ARGUMENT', `${to} appeared while collecting; evidence is never written over`, {
        file: to,
        hint: 'choose a new --output',
      });
    }
    throw fileError(error, to, 'write');
  }
}

/** What is at `path` (without following a link), or undefined when nothing is. */
function existingKind(path: string): string | undefined {
  let stat;
  try {
    stat = lstatSync(path);
  } catch (error) {
    if ((error as {code?: string}).code === 'ENOENT') return undefined;
    throw fileError(error, path, 'write');
  }
  if (stat.isSymbolicLink()) return `a symbolic link to ${readlinkSync(path)}`;
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFile()) return 'a file';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isFIFO()) return 'a FIFO';
  return 'a socket';
}

function renameNoReplace(from: string, to: string): void {
  if (existingKind(to) !== undefined)
    throw new DaemonEyeError('INVALID_ARGUMENT', `${to} appeared while collecting; evidence is never written over`, {file: to, hint: 'choose a new --output'});
  // Renaming a directory onto an existing empty directory would replace it: checked just above; a
  // directory created in between makes rename fail with ENOTEMPTY/EEXIST only if it is not empty.
  try {
    renameSync(from, to); // the staging dir was made 0700 by mkdtemp: the case keeps that mode
  } catch (error) {
    throw fileError(error, to, 'write');
  }
  makeDirectory(from); // so the caller's cleanup of `from` has something to remove
}
