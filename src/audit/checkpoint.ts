// `audit checkpoint`: the latest signed checkpoint, to ship off the host. The tail record is read first
// (a signed run ends with one); only when it is not a checkpoint is the ledger streamed.
import type {Checkpoint} from './schema.js';
import {assertLedgerReadable, readLedgerTail} from './ledger.js';
import {frontierFromHex, rootHex} from './ledger-record.js';
import {latestSignedCheckpoint} from './show.js';

export interface CheckpointResult {
  readonly checkpoint: Checkpoint;
  /** Seq of the checkpoint record; null for the unsigned head of an unsigned ledger. */
  readonly seq: number | null;
  /** Records after it (0 when it covers the whole ledger but itself). */
  readonly records_after: number;
}

export async function latestCheckpoint(ledger: string): Promise<CheckpointResult> {
  assertLedgerReadable(ledger);
  const tail = readLedgerTail(ledger);
  const size = tail.last === undefined ? 0 : tail.last.seq + 1;
  const signedTail = tail.last?.type === 'checkpoint' && (tail.last.payload as Checkpoint).signature !== null ? tail.last : undefined;
  const record = signedTail ?? (await latestSignedCheckpoint(ledger));
  if (record !== undefined) {
    const {tree_size, root, time, key_id, signature} = record.payload as Checkpoint;
    return {checkpoint: {tree_size, root, time, key_id, signature}, seq: record.seq, records_after: size - record.seq - 1};
  }
  // No key has ever signed: the current tree head, unsigned, still lets a shipped copy catch a rollback.
  const root = rootHex(frontierFromHex(tail.last?.frontier ?? []));
  return {checkpoint: {tree_size: size, root, time: tail.last?.time ?? Date.now(), key_id: null, signature: null}, seq: null, records_after: 0};
}
