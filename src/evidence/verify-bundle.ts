// `daemoneye verify BUNDLE`: check an evidence bundle (a case directory or its tar.gz) against its signed
// manifest, naming every changed, missing or added file. A tar.gz is extracted into a private temp dir
// first (the `tar` library refuses absolute paths and `..`; links are never followed when checking).
import {createHash} from 'node:crypto';
import {lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, relative} from 'node:path';

import {blake3} from '@noble/hashes/blake3.js';

import {decodeSignature} from '../crypto/file-signature.js';
import {toHex} from '../crypto/hash.js';
import {type PublicKey, verifyBytes} from '../crypto/keys.js';
import {DaemonEyeError, fileError} from '../errors.js';
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
  readonly problems: string[];
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
  if (top.length === 1 && statSync(join(extracted, top[0] as string)).isDirectory()) return join(extracted, top[0] as string);
  return extracted;
}

/** Check a case directory. */
export function verifyCaseDirectory(root: string, key: PublicKey | undefined, label = root): BundleVerification {
  const problems: string[] = [];
  let manifestBytes: Buffer;
  try {
    manifestBytes = readFileSync(join(root, MANIFEST_FILE));
  } catch (error) {
    throw fileError(error, join(label, MANIFEST_FILE), 'read');
  }
  let manifest: EvidenceManifest;
  try {
    manifest = JSON.parse(manifestBytes.toString('utf8')) as EvidenceManifest;
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
  try {
    signatureText = readFileSync(join(root, SIGNATURE_FILE));
  } catch {
    signatureText = undefined;
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

  const listed = new Map(manifest.files.map((f) => [f.path, f]));
  const present = listEntries(root).filter((p) => p !== MANIFEST_FILE && p !== SIGNATURE_FILE);
  const changed: string[] = [];
  const missing: string[] = [];
  const added = present.filter((p) => !listed.has(p));
  for (const file of manifest.files) {
    const path = join(root, file.path);
    let stat;
    try {
      stat = lstatSync(path);
    } catch {
      missing.push(file.path);
      continue;
    }
    if (!stat.isFile()) {
      changed.push(file.path);
      continue;
    }
    const bytes = readFileSync(path);
    const same = bytes.length === file.bytes && createHash('sha256').update(bytes).digest('hex') === file.sha256 && toHex(blake3(bytes)) === file.blake3;
    if (!same) changed.push(file.path);
  }
  for (const path of changed) problems.push(`changed: ${path}`);
  for (const path of missing) problems.push(`missing: ${path}`);
  for (const path of added) problems.push(`added: ${path}`);
  return {
    bundle: label,
    valid: signature === 'valid' && changed.length + missing.length + added.length === 0,
    signature,
    key_id: key?.keyId ?? null,
    case_id: typeof manifest.case_id === 'string' ? manifest.case_id : null,
    files_checked: manifest.files.length,
    changed,
    missing,
    added,
    problems,
  };
}

/** Check a bundle: a case directory, or a `.tar.gz`/`.tgz` of one. */
export async function verifyEvidenceBundle(path: string, key: PublicKey | undefined): Promise<BundleVerification> {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (error) {
    throw fileError(error, path, 'read');
  }
  if (isDirectory) return verifyCaseDirectory(path, key);
  const scratch = mkdtempSync(join(tmpdir(), 'daemoneye-verify-'));
  try {
    const {extract} = await import('tar');
    try {
      // strict: a damaged archive is an error, not a partial extraction; preservePaths stays off.
      await extract({file: path, cwd: scratch, strict: true});
    } catch (error) {
      throw new DaemonEyeError('INPUT_CORRUPT', `${path} is not a readable tar.gz: ${(error as Error).message}`, {
        file: path,
        hint: 'give the bundle `daemoneye collect` wrote',
      });
    }
    return verifyCaseDirectory(caseRootOf(scratch), key, path);
  } finally {
    rmSync(scratch, {recursive: true, force: true});
  }
}
