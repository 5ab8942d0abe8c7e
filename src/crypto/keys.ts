// Ed25519 key files (PEM PKCS#8 private, PEM SPKI public, as OpenSSL writes them) and the signature
// primitives. @noble/ed25519 signs and verifies; node:crypto only parses and writes the PEM/DER wrapping.
import {createPrivateKey, createPublicKey, type KeyObject} from 'node:crypto';
import {statSync} from 'node:fs';

import * as ed from '@noble/ed25519';
import {sha512} from '@noble/hashes/sha2.js';

import {DaemonEyeError, fileError, systemErrorCode} from '../errors.js';
import {blake3Hex} from './hash.js';
import {FILE_LIMITS, readRegularFile} from '../util/read-file.js';

ed.hashes.sha512 = sha512;

export const SIGNATURE_BYTES = 64;

export interface PrivateKey {
  readonly secret: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly keyId: string;
  readonly file?: string;
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
  const secret = ed.utils.randomSecretKey();
  const publicKey = ed.getPublicKey(secret);
  const jwk = {kty: 'OKP', crv: 'Ed25519', d: Buffer.from(secret).toString('base64url'), x: Buffer.from(publicKey).toString('base64url')};
  const privatePem = createPrivateKey({key: jwk, format: 'jwk'}).export({type: 'pkcs8', format: 'pem'}).toString();
  const publicPem = createPublicKey({key: {kty: 'OKP', crv: 'Ed25519', x: jwk.x}, format: 'jwk'})
    .export({type: 'spki', format: 'pem'})
    .toString();
  return {privatePem, publicPem, keyId: keyIdOf(publicKey)};
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

function rawKeyBytes(key: KeyObject, file: string, member: 'd' | 'x'): Uint8Array {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new DaemonEyeError('KEY_INVALID', `${file} holds a ${key.asymmetricKeyType ?? 'unknown'} key, not Ed25519`, {
      file,
      hint: 'DaemonEye signs with Ed25519 only (`openssl genpkey -algorithm ed25519`)',
    });
  }
  const jwk = key.export({format: 'jwk'});
  return new Uint8Array(Buffer.from(String(jwk[member]), 'base64url'));
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
  const secret = rawKeyBytes(key, file, 'd');
  const publicKey = ed.getPublicKey(secret);
  return {secret, publicKey, keyId: keyIdOf(publicKey), file};
}

export function readPublicKey(file: string): PublicKey {
  const text = readKeyFile(file, 'public key', 'INPUT_NOT_FOUND');
  // A private key file is accepted too: its public half is what verifies.
  const key = /PRIVATE KEY/.test(text.toString('latin1')) ? createPublicKey(parseKey(file, text, 'private')) : parseKey(file, text, 'public');
  const publicKey = rawKeyBytes(key, file, 'x');
  return {publicKey, keyId: keyIdOf(publicKey), file};
}

export function signBytes(key: PrivateKey, message: Uint8Array): Uint8Array {
  return ed.sign(message, key.secret);
}

/** False for a wrong signature, including one of the wrong length (noble throws on those). */
export function verifyBytes(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES) return false;
  try {
    return ed.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}
