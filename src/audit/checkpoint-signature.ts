// Signed checkpoints: (tree size, Merkle root, time) signed with Ed25519, stored in the ledger as a
// record and printed by `audit checkpoint` to be shipped off the host (docs/audit.md, "Checkpoints").

import {canonicalJson} from '../crypto/canonical-json.js';
import {type PrivateKey, type PublicKey, signBytes, verifyBytes} from '../crypto/keys.js';
import {DaemonEyeError, fileError} from '../errors.js';
import {type Checkpoint, checkpointShapeProblem} from './schema.js';
import {depthNote, parseJson} from '../util/json.js';
import {FILE_LIMITS, readRegularTextFile} from '../util/read-file.js';

export type {Checkpoint} from './schema.js';

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

/** Read a shipped checkpoint file (the JSON `audit checkpoint` prints). */
export function readCheckpointFile(file: string): Checkpoint {
  let text: string;
  try {
    text = readRegularTextFile(file, FILE_LIMITS.checkpoint);
  } catch (error) {
    throw fileError(error, file, 'read');
  }
  let value: unknown;
  try {
    value = parseJson(text);
  } catch (error) {
    throw new DaemonEyeError('CHECKPOINT_INVALID', `${file} is not JSON${depthNote(error)}`, {
      file,
      hint: 'give the JSON that `daemoneye audit checkpoint` printed',
    });
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
