// One ledger line: building, hashing and checking a chained record (docs/audit.md, "Record hash").
import {canonicalJson} from '../crypto/canonical-json.js';
import {blake3Bytes, fromHex, HEX64, toHex, ZERO_HASH_HEX} from '../crypto/hash.js';
import {frontierAppend, frontierLength, frontierRoot, leafHash} from '../crypto/merkle.js';
import {type LedgerRecord} from './schema.js';

export type {LedgerRecord} from './schema.js';

export type HashedFields = Pick<LedgerRecord, 'seq' | 'type' | 'time' | 'actor' | 'action' | 'payload' | 'prev_hash'>;

/** The exact bytes `entry_hash` is BLAKE3 of: RFC 8785 JSON of the seven hashed fields. */
export function recordHashInput(fields: HashedFields): string {
  const {seq, type, time, actor, action, payload, prev_hash} = fields;
  // The seven members in their JCS (sorted) order, written directly: the same bytes as
  // canonicalJson({...}) (a test checks it) without sorting keys for every record of a long ledger.
  return `{"action":${canonicalJson(action)},"actor":${canonicalJson(actor)},"payload":${canonicalJson(payload)},"prev_hash":${canonicalJson(prev_hash)},"seq":${canonicalJson(seq)},"time":${canonicalJson(time)},"type":${canonicalJson(type)}}`;
}

export function recordHash(fields: HashedFields): Uint8Array {
  return blake3Bytes(recordHashInput(fields));
}

/** Merkle leaf of a record: H(0x00 || the 32 bytes of its entry_hash). */
export function recordLeaf(entryHashHex: string): Uint8Array {
  return leafHash(fromHex(entryHashHex));
}

/** Build the record that follows `previous` (undefined for the first one). */
export function buildRecord(
  previous: {seq: number; entry_hash: string; frontier: readonly Uint8Array[]} | undefined,
  fields: Pick<LedgerRecord, 'type' | 'time' | 'actor' | 'action' | 'payload'>,
): {record: LedgerRecord; frontier: Uint8Array[]} {
  const seq = previous === undefined ? 0 : previous.seq + 1;
  const hashed: HashedFields = {seq, ...fields, prev_hash: previous?.entry_hash ?? ZERO_HASH_HEX};
  const entryHash = recordHash(hashed);
  const frontier = frontierAppend(previous?.frontier ?? [], seq, leafHash(entryHash));
  const record: LedgerRecord = {...hashed, entry_hash: toHex(entryHash), frontier: frontier.map(toHex)};
  return {record, frontier};
}

export function serialiseRecord(record: LedgerRecord): string {
  const {seq, type, time, actor, action, payload, prev_hash, entry_hash, frontier} = record;
  return `${JSON.stringify({seq, type, time, actor, action, payload, prev_hash, entry_hash, frontier})}\n`;
}

/** Check a lone record on its own (its hash and frontier shape): what an append trusts of the tail. */
export function selfCheck(record: LedgerRecord): string | undefined {
  if (toHex(recordHash(record)) !== record.entry_hash) return 'entry_hash does not match the record content';
  if (record.frontier.length !== frontierLength(record.seq + 1)) return 'frontier has the wrong length for its seq';
  if (!record.frontier.every((hash) => HEX64.test(hash))) return 'frontier is not a list of 64-hex-digit hashes';
  return undefined;
}

export function frontierFromHex(frontier: readonly string[]): Uint8Array[] {
  return frontier.map(fromHex);
}

export function rootHex(frontier: readonly Uint8Array[]): string {
  return toHex(frontierRoot(frontier));
}
