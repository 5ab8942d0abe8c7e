// Detached Ed25519 signatures of whole files (`sign` / `verify`): raw 64 bytes as OpenSSL's
// `pkeyutl -sign -rawin` writes them, or base64 ("armored"). Signature files are written atomically (a
// device or FIFO named as the output is written through, never replaced: src/util/output-file.ts).
import {DaemonEyeError} from '../errors.js';
import {settleRun} from '../util/interrupt.js';
import {writeOutputFile} from '../util/output-file.js';
import {type PrivateKey, type PublicKey, SIGNATURE_BYTES, signBytes, verifyBytes} from './keys.js';
import {FILE_LIMITS, readInputFile, type ReadFileLimits} from '../util/read-file.js';

/** A file to sign or verify, or a signature file: a regular file of bounded size (no FIFO, no device). */
function readInput(file: string, limits: ReadFileLimits = FILE_LIMITS.signed): Buffer {
  return readInputFile(file, limits);
}

export interface SignResult {
  readonly file: string;
  readonly signature_file: string;
  readonly armor: boolean;
  readonly bytes: number;
  readonly key_id: string;
}

/**
 * Sign `file` (read whole, bounded: FILE_LIMITS.signed) with `key` and write the detached signature to `output`
 * (default `<file>.sig`): 64 raw bytes, or base64 and a newline with `armor`. The written signature is the run's
 * product: its publish settles the run (settleRun, src/util/interrupt.ts). Throws the read's DaemonEyeError and
 * OUTPUT_REFUSED or IO errors of the write.
 */
export function signFile(file: string, key: PrivateKey, options: {output?: string; armor?: boolean; note?: (message: string) => void} = {}): SignResult {
  const data = readInput(file);
  const signature = Buffer.from(signBytes(key, data));
  const output = options.output ?? `${file}.sig`;
  writeOutputFile(output, options.armor === true ? `${signature.toString('base64')}\n` : signature, {
    mode: 0o644,
    what: 'signature output',
    // Base64 holds nothing a terminal acts on; the raw 64 bytes are binary.
    content: options.armor === true ? {type: 'text', escape: (text) => text} : {type: 'binary', name: 'a raw Ed25519 signature'},
    ...(options.note === undefined ? {} : {note: options.note}),
  });
  settleRun();
  return {file, signature_file: output, armor: options.armor === true, bytes: data.length, key_id: key.keyId};
}

/** Raw 64 bytes, or base64 text of them; anything else is a malformed signature (undefined). */
export function decodeSignature(content: Buffer): Uint8Array | undefined {
  if (content.length === SIGNATURE_BYTES) return new Uint8Array(content);
  const text = content.toString('latin1').trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const decoded = Buffer.from(text, 'base64');
  return decoded.length === SIGNATURE_BYTES ? new Uint8Array(decoded) : undefined;
}

export interface VerifyResult {
  readonly file: string;
  readonly signature_file: string;
  readonly valid: boolean;
  readonly key_id: string;
  readonly reason?: string;
}

export function verifyFileSignature(file: string, signatureFile: string, key: PublicKey): VerifyResult {
  const data = readInput(file);
  const signature = decodeSignature(readInput(signatureFile, FILE_LIMITS.signature));
  const base = {file, signature_file: signatureFile, key_id: key.keyId};
  if (signature === undefined) return {...base, valid: false, reason: `${signatureFile} is not a 64-byte Ed25519 signature (raw or base64)`};
  const valid = verifyBytes(key.publicKey, data, signature);
  return valid ? {...base, valid} : {...base, valid, reason: 'the signature does not match this file and key'};
}

export function assertNotSameFile(a: string, b: string): void {
  if (a === b) throw new DaemonEyeError('INVALID_ARGUMENT', `the signature would overwrite the file it signs (${a})`, {hint: 'choose another --output'});
}
