// Inclusion proofs (`audit prove` / `audit verify-proof`): one record, its audit path to the root of the
// latest signed checkpoint that covers it, and that checkpoint, checkable offline with only the public key.

import {fromHex, toHex} from '../crypto/hash.js';
import {inclusionProof, merkleRoot, rootFromInclusionProof} from '../crypto/merkle.js';
import type {PublicKey} from '../crypto/keys.js';
import {DaemonEyeError, fileError} from '../errors.js';
import {checkpointSignatureStatus, type SignatureStatus} from './checkpoint-signature.js';
import {assertLedgerReadable, parseLedgerLine, readLedgerLines} from './ledger-lines.js';
import {recordHash, recordLeaf, recordMembers} from './ledger-record.js';
import {type Checkpoint, checkpointShapeProblem, type InclusionProof, type LedgerRecord, proofShapeProblem} from './schema.js';
import {depthNote, parseJson} from '../util/json.js';
import {FILE_LIMITS, readRegularTextFile} from '../util/read-file.js';

export type {InclusionProof} from './schema.js';

/** Build the proof of record `seq`. Reads the ledger once and keeps only the 32-byte leaves. */
export async function proveInclusion(path: string, seq: number): Promise<InclusionProof> {
  assertLedgerReadable(path);
  const leaves: Uint8Array[] = [];
  let target: LedgerRecord | undefined;
  let checkpoint: Checkpoint | null = null;
  for await (const {line, text, terminated} of readLedgerLines(path)) {
    const parsed = terminated ? parseLedgerLine(text) : {problem: 'torn last record'};
    if ('problem' in parsed || parsed.record.seq !== leaves.length || toHex(recordHash(parsed.record)) !== parsed.record.entry_hash) {
      if (target !== undefined && checkpoint !== null && checkpoint.tree_size > seq) break;
      throw new DaemonEyeError('LEDGER_INVALID', `line ${line} of ${path} is damaged, so no proof can be built past it`, {
        file: path,
        hint: 'run `daemoneye audit verify` for details',
      });
    }
    const record = parsed.record;
    if (record.seq === seq) target = record;
    if (record.type === 'checkpoint' && checkpointShapeProblem(record.payload) === undefined) {
      const payload = record.payload as Checkpoint;
      if (payload.signature !== null && payload.tree_size > seq) checkpoint = payload;
    }
    leaves.push(recordLeaf(record.entry_hash));
  }
  if (target === undefined) {
    throw new DaemonEyeError('INVALID_ARGUMENT', `the ledger has no record ${seq} (it has ${leaves.length})`, {file: path, hint: 'see `daemoneye audit show`'});
  }
  const treeSize = checkpoint?.tree_size ?? leaves.length;
  const tree = leaves.slice(0, treeSize);
  const {frontier: _frontier, ...record} = recordMembers(target);
  return {
    version: 1,
    leaf_index: seq,
    tree_size: treeSize,
    record,
    leaf_hash: toHex(tree[seq] as Uint8Array),
    audit_path: inclusionProof(seq, tree).map(toHex),
    root: toHex(merkleRoot(tree)),
    checkpoint,
  };
}

export interface ProofVerification {
  readonly valid: boolean;
  readonly leaf_index: number;
  readonly tree_size: number;
  readonly root: string;
  readonly signature: SignatureStatus;
  readonly problems: readonly string[];
}

/** Check a proof offline: record hash → leaf → root via the path → checkpoint root and signature. */
export function verifyInclusionProof(proof: InclusionProof, publicKey: PublicKey | undefined): ProofVerification {
  const problems: string[] = [];
  const record = proof.record;
  const entryHash = toHex(recordHash(record));
  if (entryHash !== record.entry_hash) problems.push('the record does not hash to its entry_hash (it was edited)');
  if (record.seq !== proof.leaf_index) problems.push(`the record has seq ${record.seq} but the proof is for leaf ${proof.leaf_index}`);
  const leaf = recordLeaf(entryHash);
  if (toHex(leaf) !== proof.leaf_hash) problems.push('leaf_hash is not the leaf hash of the record');
  const root = rootFromInclusionProof(proof.leaf_index, proof.tree_size, leaf, proof.audit_path.map(fromHex));
  if (root === undefined) problems.push('the audit path has the wrong length for the leaf index and tree size');
  else if (toHex(root) !== proof.root) problems.push('the audit path does not lead to the root');
  let signature: SignatureStatus = 'unsigned';
  if (proof.checkpoint === null) {
    problems.push('the proof has no signed checkpoint: nothing vouches for its root');
  } else {
    if (proof.checkpoint.tree_size !== proof.tree_size || proof.checkpoint.root !== proof.root)
      problems.push('the checkpoint is for another tree than the proof');
    signature = checkpointSignatureStatus(proof.checkpoint, publicKey);
    if (signature === 'invalid') problems.push('the checkpoint signature is invalid');
    if (signature === 'wrong_key') problems.push(`the checkpoint was signed by key ${proof.checkpoint.key_id ?? '?'}, not by the given public key`);
    if (signature === 'unchecked') problems.push('no public key to check the checkpoint signature (give --public-key)');
  }
  return {valid: problems.length === 0, leaf_index: proof.leaf_index, tree_size: proof.tree_size, root: proof.root, signature, problems};
}

/** Read a proof file; a file that is not a proof is an input error (exit 2). */
export function readProofFile(file: string): InclusionProof {
  let value: unknown;
  try {
    value = parseJson(readRegularTextFile(file, FILE_LIMITS.proof));
  } catch (error) {
    if (error instanceof SyntaxError)
      throw new DaemonEyeError('CHECKPOINT_INVALID', `${file} is not JSON${depthNote(error)}`, {
        file,
        hint: 'give the JSON that `daemoneye audit prove` printed',
      });
    throw fileError(error, file, 'read');
  }
  const problem = proofShapeProblem(value);
  if (problem !== undefined)
    throw new DaemonEyeError('CHECKPOINT_INVALID', `${file} is not an inclusion proof: ${problem}`, {
      file,
      hint: 'give the JSON that `daemoneye audit prove` printed',
    });
  return value as InclusionProof;
}
