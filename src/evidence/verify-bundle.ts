// `daemoneye verify BUNDLE`: check an evidence bundle (a case directory or its tar.gz) against its signed
// manifest, naming every changed, missing or added file. A tar.gz is extracted into a private temp dir
// first (the `tar` library refuses absolute paths and `..`), within caps on its expanded size and entry
// count, so a decompression bomb stops early; files are hashed a chunk at a time. Nothing outside the bundle is ever read or
// even looked up: the manifest may be unsigned or forged, so every path it lists is checked first (relative,
// no `.`/`..` part, reached through real directories only), and files are opened without following links.
import {createHash} from 'node:crypto';
import {
  closeSync,
  constants,
  createReadStream,
  fstatSync,
  lstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
import {Transform} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {tmpdir} from 'node:os';
import {createGunzip} from 'node:zlib';
import {join, relative} from 'node:path';

import {blake3} from '@noble/hashes/blake3.js';

import {decodeSignature} from '../crypto/file-signature.js';
import {toHex} from '../crypto/hash.js';
import {type PublicKey, verifyBytes} from '../crypto/keys.js';
import {DaemonEyeError, fileError} from '../errors.js';
import {onInterrupt, TimeSlicer} from '../util/interrupt.js';
import {parseJson} from '../util/json.js';
import {FILE_LIMITS, formatBytes, MIB, notRegularFile} from '../util/read-file.js';
import {EVIDENCE_FORMAT, type EvidenceManifest, MANIFEST_FILE, SIGNATURE_FILE} from './manifest.js';

export interface BundleVerification {
  readonly bundle: string;
  /** True only when the signature is valid and every file matches: nothing changed, missing or added. */
  readonly valid: boolean;
  readonly signature: 'valid' | 'invalid' | 'absent' | 'no_public_key';
  readonly key_id: string | null;
  readonly case_id: string | null;
  readonly files_checked: number;
  /** Files whose size, SHA-256 or BLAKE3 differ from the manifest. */
  readonly changed: string[];
  readonly missing: string[];
  /** Files (or links, devices, …) in the bundle that the manifest does not list. */
  readonly added: string[];
  /** Paths the manifest lists that lead outside the bundle (absolute, `..`, through a link): never read. */
  readonly refused: string[];
  readonly problems: string[];
}

/**
 * Why a path listed in a manifest cannot name a file inside the bundle, or undefined: it must be relative,
 * `/`-separated, without empty, `.` or `..` parts or NUL bytes (what `collect` writes).
 */
export function manifestPathProblem(path: unknown): string | undefined {
  if (typeof path !== 'string' || path === '') return 'not a path';
  if (path.startsWith('/')) return 'an absolute path';
  if (path.includes('\0')) return 'a path with a NUL byte';
  const parts = path.split('/');
  if (parts.includes('..')) return 'a path with a ".." part';
  if (parts.some((part) => part === '' || part === '.')) return 'not a plain relative path (empty or "." part)';
  return undefined;
}

/**
 * Open `root/relative` for reading only if every directory on the way is a real directory inside the bundle
 * (not a link) and the file itself is a regular file (O_NOFOLLOW). Returns the fd, or why not.
 */
function openInside(root: string, relative: string): {fd: number} | {missing: true} | {problem: string} {
  const parts = relative.split('/');
  let current = root;
  for (const [index, part] of parts.slice(0, -1).entries()) {
    current = join(current, part);
    let stat;
    try {
      stat = lstatSync(current);
    } catch {
      return {missing: true};
    }
    if (stat.isSymbolicLink()) return {problem: `reached through the link ${parts.slice(0, index + 1).join('/')}`};
    if (!stat.isDirectory()) return {missing: true};
  }
  const path = join(root, relative);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return {problem: 'a link, not a file'};
    if (code === 'ENOENT' || code === 'ENOTDIR') return {missing: true};
    return {problem: `cannot be read (${code ?? String(error)})`};
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    return {problem: 'not a regular file'};
  }
  return {fd};
}

/** The whole content of an open regular file, at most `maxBytes` (a bigger one is refused), then closed. */
function readFd(fd: number, maxBytes: number, what: string, path: string): Buffer {
  try {
    const size = fstatSync(fd).size;
    if (size > maxBytes) {
      throw new DaemonEyeError('INPUT_CORRUPT', `${path}: its ${what} is ${formatBytes(size)}, more than ${formatBytes(maxBytes)}`, {
        file: path,
        hint: 'a bundle written by `daemoneye collect` has a small one; this one was altered',
      });
    }
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Size, SHA-256 and BLAKE3 of an open file, read a chunk at a time (memory stays bounded whatever its size), then
 * closed; the event loop gets a turn between chunks once a slice has run (a signal ends the run: src/util/interrupt.ts).
 */
async function digestFd(fd: number, slicer: TimeSlicer): Promise<{bytes: number; sha256: string; blake3: string}> {
  const sha = createHash('sha256');
  const b3 = blake3.create();
  const chunk = Buffer.allocUnsafe(1024 * 1024);
  let bytes = 0;
  try {
    for (let n = readSync(fd, chunk, 0, chunk.length, null); n > 0; n = readSync(fd, chunk, 0, chunk.length, null)) {
      const part = chunk.subarray(0, n);
      sha.update(part);
      b3.update(part);
      bytes += n;
      await slicer.tick();
    }
  } finally {
    closeSync(fd);
  }
  return {bytes, sha256: sha.digest('hex'), blake3: toHex(b3.digest())};
}

/** Every entry under `root` that is not a directory, relative, `/`-separated (links are listed, not followed). */
function listEntries(root: string, dir = root): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listEntries(root, path));
    else out.push(relative(root, path).split('\\').join('/'));
  }
  return out.sort();
}

/** The case root inside an extracted archive: the single top-level directory holding manifest.json. */
function caseRootOf(extracted: string): string {
  const top = readdirSync(extracted);
  if (top.includes(MANIFEST_FILE)) return extracted;
  // lstat: a top-level link to a directory elsewhere is not the case root.
  if (top.length === 1 && lstatSync(join(extracted, top[0] as string)).isDirectory()) return join(extracted, top[0] as string);
  return extracted;
}

/** Check a case directory. */
export async function verifyCaseDirectory(root: string, key: PublicKey | undefined, label = root): Promise<BundleVerification> {
  const problems: string[] = [];
  let manifestBytes: Buffer;
  const opened = openInside(root, MANIFEST_FILE);
  if ('problem' in opened) {
    throw new DaemonEyeError('INPUT_CORRUPT', `${join(label, MANIFEST_FILE)} is ${opened.problem}`, {
      file: label,
      hint: 'a bundle written by `daemoneye collect` holds a regular manifest.json; this one was altered',
    });
  }
  if ('missing' in opened) throw fileError(Object.assign(new Error('ENOENT'), {code: 'ENOENT'}), join(label, MANIFEST_FILE), 'read');
  try {
    manifestBytes = readFd(opened.fd, FILE_LIMITS.manifest.maxBytes, MANIFEST_FILE, label);
  } catch (error) {
    throw fileError(error, join(label, MANIFEST_FILE), 'read');
  }
  let manifest: EvidenceManifest;
  try {
    manifest = parseJson(manifestBytes.toString('utf8')) as EvidenceManifest;
  } catch (error) {
    throw new DaemonEyeError('INPUT_CORRUPT', `${join(label, MANIFEST_FILE)} is not JSON: ${(error as Error).message}`, {
      file: label,
      hint: 'this is not an evidence bundle, or its manifest was damaged',
    });
  }
  if (manifest.format !== EVIDENCE_FORMAT || !Array.isArray(manifest.files)) {
    throw new DaemonEyeError('INPUT_CORRUPT', `${join(label, MANIFEST_FILE)} is not a ${EVIDENCE_FORMAT} manifest`, {
      file: label,
      hint: 'give a bundle written by `daemoneye collect`',
    });
  }

  let signature: BundleVerification['signature'] = 'absent';
  let signatureText: Buffer | undefined;
  const signatureFile = openInside(root, SIGNATURE_FILE);
  if ('fd' in signatureFile) {
    try {
      signatureText = readFd(signatureFile.fd, FILE_LIMITS.signature.maxBytes, SIGNATURE_FILE, label);
    } catch {
      signatureText = undefined;
    }
  } else if ('problem' in signatureFile) {
    problems.push(`${SIGNATURE_FILE} is ${signatureFile.problem}: not read`);
  }
  if (signatureText !== undefined) {
    if (key === undefined) signature = 'no_public_key';
    else {
      const decoded = decodeSignature(signatureText);
      signature = decoded !== undefined && verifyBytes(key.publicKey, manifestBytes, decoded) ? 'valid' : 'invalid';
    }
  }
  if (signature === 'absent') problems.push(`${SIGNATURE_FILE} is missing: the manifest is not signed`);
  if (signature === 'invalid') problems.push(`${SIGNATURE_FILE} does not verify ${MANIFEST_FILE} with key ${key?.keyId ?? '?'}`);
  if (signature === 'no_public_key') problems.push('no public key to check the signature with (give --public-key)');

  // Every listed path is judged before any file is opened: an unsigned or forged manifest must not make
  // verify read (or reveal the existence of) anything outside the bundle.
  const refused: string[] = [];
  const safe = manifest.files.filter((file) => {
    const problem = manifestPathProblem((file as {path?: unknown} | null)?.path);
    if (problem === undefined) return true;
    const shown = typeof file?.path === 'string' ? file.path : JSON.stringify(file?.path ?? null);
    refused.push(shown);
    problems.push(`refused: ${shown} is ${problem}, outside the bundle: not read`);
    return false;
  });
  const listed = new Map(safe.map((f) => [f.path, f]));
  const present = listEntries(root).filter((p) => p !== MANIFEST_FILE && p !== SIGNATURE_FILE);
  const changed: string[] = [];
  const missing: string[] = [];
  const added = present.filter((p) => !listed.has(p));
  const slicer = new TimeSlicer();
  for (const file of safe) {
    await slicer.tick();
    const opened = openInside(root, file.path);
    if ('missing' in opened) {
      missing.push(file.path);
      continue;
    }
    if ('problem' in opened) {
      refused.push(file.path);
      problems.push(`refused: ${file.path} is ${opened.problem}: not read`);
      continue;
    }
    const digest = await digestFd(opened.fd, slicer);
    const same = digest.bytes === file.bytes && digest.sha256 === file.sha256 && digest.blake3 === file.blake3;
    if (!same) changed.push(file.path);
  }
  for (const path of changed) problems.push(`changed: ${path}`);
  for (const path of missing) problems.push(`missing: ${path}`);
  for (const path of added) problems.push(`added: ${path}`);
  return {
    bundle: label,
    valid: signature === 'valid' && changed.length + missing.length + added.length + refused.length === 0,
    signature,
    key_id: key?.keyId ?? null,
    case_id: typeof manifest.case_id === 'string' ? manifest.case_id : null,
    files_checked: manifest.files.length,
    changed,
    missing,
    added,
    refused,
    problems,
  };
}

/** Caps on a bundle archive: a gzip bomb stops at them, and the partial extraction is removed. */
export interface BundleLimits {
  /** Bytes the archive may expand to (tar headers included). */
  readonly maxBytes: number;
  /** Entries (files, directories, links) it may hold. */
  readonly maxEntries: number;
}

/** `collect`'s largest case (--max-total-bytes, 2 GiB) and room for its manifest; far more entries than a case has. */
export const DEFAULT_BUNDLE_LIMITS: BundleLimits = {maxBytes: 2 * 1024 * MIB + 64 * MIB, maxEntries: 100_000};

/** Data allowed after a tar archive's end marker: GNU tar pads to a 10 KiB record; collect writes less. */
const MAX_TRAILING_BYTES = 1024 * 1024;

/**
 * Extract a tar.gz into `dir`, refusing (INPUT_CORRUPT, naming the archive and the flag that raises the
 * cap) as soon as it expands past `limits.maxBytes` or holds more than `limits.maxEntries` entries. Only a
 * regular file is read. The archive is read twice: first its headers only (nothing written), so an archive
 * over a limit is refused before a single entry is extracted — 150,000 empty entries took 31 s and 553 MB
 * extracted one by one before the count refused them — then, within the limits, extracted.
 */
export async function extractBounded(path: string, dir: string, limits: BundleLimits): Promise<void> {
  await readTarBounded(path, limits, undefined);
  await readTarBounded(path, limits, dir);
}

/** One bounded pass over a tar.gz: its headers listed (`dir` undefined) or its entries extracted into `dir`. */
async function readTarBounded(path: string, limits: BundleLimits, dir: string | undefined): Promise<void> {
  const {t, x} = await import('tar');
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  const stats = fstatSync(fd);
  if (!stats.isFile()) {
    closeSync(fd);
    throw notRegularFile(path, stats, {what: 'evidence bundle'});
  }
  let expanded = 0;
  let entries = 0;
  let declared = 0;
  let over: DaemonEyeError | undefined;
  const refuse = (problem: string, flag?: string): DaemonEyeError =>
    new DaemonEyeError('INPUT_CORRUPT', `${path} ${problem}: not an evidence bundle collect wrote, or a decompression bomb`, {
      file: path,
      hint: flag === undefined ? 'give the bundle `daemoneye collect` wrote' : `raise ${flag} if it really is one`,
    });
  // Bytes after the archive's end marker: the tar parser would keep appending them to one buffer
  // (quadratic time: 16 MiB of zeros took 27 s), so they are dropped; more than a tar's last record of
  // padding is not what collect writes.
  let ended = false;
  let trailing = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      expanded += chunk.length;
      if (ended) trailing += chunk.length;
      if (expanded > limits.maxBytes) over ??= refuse(`expands past ${formatBytes(limits.maxBytes)}`, '--max-bytes');
      else if (trailing > MAX_TRAILING_BYTES) over ??= refuse(`has more than ${formatBytes(MAX_TRAILING_BYTES)} after the end of its archive`);
      if (over !== undefined) done(over);
      else done(null, ended ? undefined : chunk);
    },
  });
  // Each entry's header says its size: a bomb is refused before its data is read on (or written out).
  const filter = (_path: string, entry: unknown): boolean => {
    const size = (entry as {size?: unknown}).size;
    declared += typeof size === 'number' ? size : 0;
    if (++entries > limits.maxEntries) over ??= refuse(`holds more than ${limits.maxEntries} entries`, '--max-entries');
    else if (declared > limits.maxBytes) over ??= refuse(`expands past ${formatBytes(limits.maxBytes)}`, '--max-bytes');
    if (over === undefined) return true;
    counter.destroy(over);
    return false;
  };
  // strict: a damaged archive is an error, not a partial extraction; preservePaths stays off.
  const parser = dir === undefined ? t({strict: true, filter}) : x({cwd: dir, strict: true, filter});
  parser.on('eof', () => {
    ended = true;
  });
  try {
    await pipeline(createReadStream('', {fd}), createGunzip(), counter, parser as unknown as NodeJS.WritableStream);
  } catch (error) {
    if (over !== undefined) throw over;
    throw error;
  }
  if (over !== undefined) throw over;
}

/** Check a bundle: a case directory, or a `.tar.gz`/`.tgz` of one (extracted within `limits`). */
export async function verifyEvidenceBundle(
  path: string,
  key: PublicKey | undefined,
  limits: BundleLimits = DEFAULT_BUNDLE_LIMITS,
): Promise<BundleVerification> {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (error) {
    throw fileError(error, path, 'read');
  }
  if (isDirectory) return verifyCaseDirectory(path, key);
  const scratch = mkdtempSync(join(tmpdir(), 'daemoneye-verify-'));
  const forget = onInterrupt(() => rmSync(scratch, {recursive: true, force: true}));
  try {
    try {
      await extractBounded(path, scratch, limits);
    } catch (error) {
      if (error instanceof DaemonEyeError) throw error;
      throw new DaemonEyeError('INPUT_CORRUPT', `${path} is not a readable tar.gz: ${(error as Error).message}`, {
        file: path,
        hint: 'give the bundle `daemoneye collect` wrote',
      });
    }
    return await verifyCaseDirectory(caseRootOf(scratch), key, path);
  } finally {
    forget();
    rmSync(scratch, {recursive: true, force: true});
  }
}
