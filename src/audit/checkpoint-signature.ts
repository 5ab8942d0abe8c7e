// Signed checkpoints: (tree size, Merkle root, time) signed with Ed25519, stored in the ledger as a
// record and printed by `audit checkpoint` to be shipped off the host (docs/audit.md, "Checkpoints").
import {readFileSync} from 'node:fs';

import {canonicalJson} from '../crypto/canonical-json.js';
import {HEX64} from '../crypto/hash.js';
import {type PrivateKey, type PublicKey, signBytes, verifyBytes} from '../crypto/keys.js';
import {DaemonEyeError, fileError} from '../errors.js';

/** A checkpoint as stored in a checkpoint record's payload and as shipped. Unsigned ones have null key and signature. */
export interface Checkpoint {
  readonly tree_size: number;
  readonly root: string;
  readonly time: number;
  readonly key_id: string | null;
  readonly signature: string | null;
  /** Set when the ledger ended in records appended without a checkpoint before this run (a crash, or a writer without the key). */
  readonly adopted_unsigned_tail?: boolean;
}

export const CHECKPOINT_DOMAIN = 'daemoneye-checkpoint-v1\n';

/** The exact signed bytes: the domain line, then RFC 8785 JSON of {key_id, root, time, tree_size}. */
export function checkpointMessage(checkpoint: Pick<Checkpoint, 'tree_size' | 'root' | 'time' | 'key_id'>): Uint8Array {
  const {tree_size, root, time, key_id} = checkpoint;
  return new TextEncoder().encode(CHECKPOINT_DOMAIN + canonicalJson({key_id, root, time, tree_size}));
}

export function signCheckpoint(key: PrivateKey, fields: {tree_size: number; root: string; time: number}): Checkpoint {
  const unsigned = {...fields, key_id: key.keyId};
  return {...unsigned, signature: Buffer.from(signBytes(key, checkpointMessage(unsigned))).toString('base64')};
}

export type SignatureStatus = 'valid' | 'invalid' | 'wrong_key' | 'unchecked' | 'unsigned';

/** How a checkpoint's signature stands against a public key (unchecked without one). */
export function checkpointSignatureStatus(checkpoint: Checkpoint, publicKey: PublicKey | undefined): SignatureStatus {
  if (checkpoint.signature === null || checkpoint.key_id === null) return 'unsigned';
  if (publicKey === undefined) return 'unchecked';
  if (checkpoint.key_id !== publicKey.keyId) return 'wrong_key';
  const signature = Buffer.from(checkpoint.signature, 'base64');
  return verifyBytes(publicKey.publicKey, checkpointMessage(checkpoint), new Uint8Array(signature)) ? 'valid' : 'invalid';
}

/** Why a value is not a checkpoint, or undefined. */
export function checkpointShapeProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const c = value as Record<string, unknown>;
  if (!Number.isSafeInteger(c.tree_size) || (c.tree_size as number) < 0) return 'tree_size is not a non-negative integer';
  if (typeof c.root !== 'string' || !HEX64.test(c.root)) return 'root is not 64 lower-case hex digits';
  if (!Number.isSafeInteger(c.time)) return 'time is not an integer (epoch ms)';
  if (c.key_id !== null && typeof c.key_id !== 'string') return 'key_id is neither a string nor null';
  if (c.signature !== null && (typeof c.signature !== 'string' || !/^[A-Za-z0-9+/]+=*$/.test(c.signature))) return 'signature is neither base64 nor null';
  if ((c.signature === null) !== (c.key_id === null)) return 'key_id and signature must both be set or both be null';
  return undefined;
}

/** Read a shipped checkpoint file (the JSON `audit checkpoint` prints). */
export function readCheckpointFile(file: string): Checkpoint {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw fileError(error, file, 'read');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DaemonEyeError('CHECKPOINT_INVALID', `${file} is not JSON`, {file, hint: 'give the JSON that `daemoneye audit checkpoint` printed'});
  }
  const problem = checkpointShapeProblem(value);
  if (problem !== undefined)
    throw new DaemonEyeError('CHECKPOINT_INVALID', `${file} is not a checkpoint: ${problem}`, {
      file,
      hint: 'give the JSON that `daemoneye audit checkpoint` printed',
    });
  const c = value as Checkpoint;
  return {tree_size: c.tree_size, root: c.root, time: c.time, key_id: c.key_id, signature: c.signature};
}
