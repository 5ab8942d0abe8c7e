// BLAKE3 (@noble/hashes) helpers for the audit ledger: digests as bytes and lower-case hex.
import {blake3} from '@noble/hashes/blake3.js';

export {HEX64, ZERO_HASH_HEX} from '../util/hex.js';

export const HASH_BYTES = 32;

const encoder = new TextEncoder();

export function blake3Bytes(...parts: (Uint8Array | string)[]): Uint8Array {
  const hasher = blake3.create();
  for (const part of parts) hasher.update(typeof part === 'string' ? encoder.encode(part) : part);
  return hasher.digest();
}

export function blake3Hex(...parts: (Uint8Array | string)[]): string {
  return toHex(blake3Bytes(...parts));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
