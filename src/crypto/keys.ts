// Ed25519 key files (PEM PKCS#8 private, PEM SPKI public, as OpenSSL writes them) and the signature
// primitives (RFC 8032 pure Ed25519), all through node:crypto, i.e. the OpenSSL Node is built with. Ed25519 is
// deterministic, so a signature is byte-identical to `openssl pkeyutl -sign -rawin`'s. A pure-JavaScript
// implementation cost 80–150 ms of CPU to derive a public key on first use (its precomputed tables), once per
// `detect`; OpenSSL takes well under 1 ms (docs/performance.md, "The ledger's whole cost").
import {createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign as cryptoSign, verify as cryptoVerify} from 'node:crypto';
import {statSync} from 'node:fs';

import {DaemonEyeError, fileError, systemErrorCode} from '../errors.js';
import {blake3Hex} from './hash.js';
import {FILE_LIMITS, readRegularFile} from '../util/read-file.js';

export const SIGNATURE_BYTES = 64;
const RAW_KEY_BYTES = 32;

export interface PrivateKey {
  /** The 32-byte seed (RFC 8032's private key). */
  readonly secret: Uint8Array;
  /** The 32-byte public key. */
  readonly publicKey: Uint8Array;
  readonly keyId: string;
  readonly file?: string;
}

/** node:crypto key objects made from raw key bytes, once per key (a checkpoint per run, many in `audit verify`). */
const privateObjects = new WeakMap<Uint8Array, KeyObject>();
const publicObjects = new WeakMap<Uint8Array, KeyObject>();

/** PKCS#8 DER of an Ed25519 seed (RFC 8410): this fixed 16-byte prefix, then the 32-byte seed. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The node:crypto key of a 32-byte Ed25519 seed. Throws on a seed of another length. */
function privateKeyObject(secret: Uint8Array): KeyObject {
  let object = privateObjects.get(secret);
  if (object === undefined) {
    if (secret.length !== RAW_KEY_BYTES) throw new Error(`an Ed25519 private key is ${RAW_KEY_BYTES} bytes, not ${secret.length}`);
    object = createPrivateKey({key: Buffer.concat([PKCS8_ED25519_PREFIX, secret]), format: 'der', type: 'pkcs8'});
    privateObjects.set(secret, object);
  }
  return object;
}

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  let object = publicObjects.get(publicKey);
  if (object === undefined) {
    object = createPublicKey({key: {kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url')}, format: 'jwk'});
    publicObjects.set(publicKey, object);
  }
  return object;
}

export interface PublicKey {
  readonly publicKey: Uint8Array;
  readonly keyId: string;
  readonly file?: string;
}

/** A short, stable name for a public key: the first 16 bytes of BLAKE3 over its 32 raw bytes, in hex. */
export function keyIdOf(publicKey: Uint8Array): string {
  return blake3Hex(publicKey).slice(0, 32);
}

export function generateKeyPair(): {privatePem: string; publicPem: string; keyId: string} {
  const pair = generateKeyPairSync('ed25519');
  const privatePem = pair.privateKey.export({type: 'pkcs8', format: 'pem'}).toString();
  const publicPem = pair.publicKey.export({type: 'spki', format: 'pem'}).toString();
  return {privatePem, publicPem, keyId: keyIdOf(rawKeyBytes(pair.publicKey, 'x'))};
}

function readKeyFile(file: string, what: string, missing: 'KEY_UNREADABLE' | 'INPUT_NOT_FOUND'): Buffer {
  try {
    return readRegularFile(file, FILE_LIMITS.key);
  } catch (error) {
    if (error instanceof DaemonEyeError) throw error;
    const code = systemErrorCode(error);
    if (code === 'ENOENT' && missing === 'INPUT_NOT_FOUND') throw fileError(error, file, 'read');
    if (code === 'ENOENT')
      throw new DaemonEyeError('KEY_UNREADABLE', `${what} ${file} does not exist`, {file, hint: 'run `daemoneye keys generate` or fix the path'});
    throw new DaemonEyeError('KEY_UNREADABLE', `cannot read ${what} ${file}: ${code === 'EACCES' || code === 'EPERM' ? 'permission denied' : String(error)}`, {
      file,
      hint: 'run as a user that may read it, or fix its permissions',
      cause: error,
    });
  }
}

function parseKey(file: string, text: Buffer, kind: 'private' | 'public'): KeyObject {
  try {
    return kind === 'private' ? createPrivateKey({key: text, format: 'pem'}) : createPublicKey({key: text, format: 'pem'});
  } catch (error) {
    throw new DaemonEyeError('KEY_INVALID', `${file} is not a PEM ${kind === 'private' ? 'PKCS#8 private' : 'SPKI public'} key`, {
      file,
      hint:
        kind === 'private' ? 'generate one with `daemoneye keys generate` or `openssl genpkey -algorithm ed25519`' : 'export one with `openssl pkey -pubout`',
      cause: error,
    });
  }
}

/** The raw 32 bytes of a node:crypto Ed25519 key: its seed (`d`) or its public key (`x`). */
function rawKeyBytes(key: KeyObject, member: 'd' | 'x'): Uint8Array {
  const jwk = key.export({format: 'jwk'});
  return new Uint8Array(Buffer.from(String(jwk[member]), 'base64url'));
}

/** As rawKeyBytes, for a key read from `file`: KEY_INVALID naming the file when it is not Ed25519. */
function ed25519KeyBytes(key: KeyObject, file: string, member: 'd' | 'x'): Uint8Array {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new DaemonEyeError('KEY_INVALID', `${file} holds a ${key.asymmetricKeyType ?? 'unknown'} key, not Ed25519`, {
      file,
      hint: 'DaemonEye signs with Ed25519 only (`openssl genpkey -algorithm ed25519`)',
    });
  }
  return rawKeyBytes(key, member);
}

/** True when a key file can be read by group or others (a private key should be 0600). */
export function isExposed(file: string): boolean {
  try {
    return (statSync(file).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}

/**
 * Load a private key file. `missing` chooses what a missing file is: a user-named input (exit 2) or a
 * configured key that should be there (exit 3). A private key's bytes never reach an error message.
 */
export function readPrivateKey(file: string, options: {missing?: 'KEY_UNREADABLE' | 'INPUT_NOT_FOUND'} = {}): PrivateKey {
  const text = readKeyFile(file, 'private key', options.missing ?? 'KEY_UNREADABLE');
  const key = parseKey(file, text, 'private');
  const secret = ed25519KeyBytes(key, file, 'd');
  const publicKey = rawKeyBytes(createPublicKey(key), 'x');
  privateObjects.set(secret, key);
  return {secret, publicKey, keyId: keyIdOf(publicKey), file};
}

export function readPublicKey(file: string): PublicKey {
  const text = readKeyFile(file, 'public key', 'INPUT_NOT_FOUND');
  // A private key file is accepted too: its public half is what verifies.
  const key = /PRIVATE KEY/.test(text.toString('latin1')) ? createPublicKey(parseKey(file, text, 'private')) : parseKey(file, text, 'public');
  const publicKey = ed25519KeyBytes(key, file, 'x');
  publicObjects.set(publicKey, key);
  return {publicKey, keyId: keyIdOf(publicKey), file};
}

/** The 64-byte Ed25519 signature of `message` (RFC 8032, pure: the message itself is signed, not a digest). */
export function signBytes(key: PrivateKey, message: Uint8Array): Uint8Array {
  return new Uint8Array(cryptoSign(null, message, privateKeyObject(key.secret)));
}

/** False for a wrong signature, including one of the wrong length and a public key that is not 32 bytes. */
export function verifyBytes(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== RAW_KEY_BYTES) return false;
  try {
    return cryptoVerify(null, message, publicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}
