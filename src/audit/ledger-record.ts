// One ledger line: building, hashing and checking a chained record (docs/audit.md, "Record hash").
import {canonicalJson} from '../crypto/canonical-json.js';
import {blake3Bytes, fromHex, HEX64, toHex} from '../crypto/hash.js';
import {frontierAppend, frontierLength, frontierRoot, leafHash} from '../crypto/merkle.js';
import type {AuditRecordType} from './schema.js';

/** A ledger record as stored: the hashed fields, then `entry_hash`, then the Merkle frontier. */
export interface LedgerRecord {
  readonly seq: number;
  readonly type: AuditRecordType;
  readonly time: number;
  readonly actor: string;
  readonly action: string;
  readonly payload: unknown;
  readonly prev_hash: string;
  readonly entry_hash: string;
  /** Roots of the perfect subtrees of the Merkle tree over records 0..seq, left to right (hex). */
  readonly frontier: readonly string[];
}

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
  const hashed: HashedFields = {seq, ...fields, prev_hash: previous?.entry_hash ?? '0'.repeat(64)};
  const entryHash = recordHash(hashed);
  const frontier = frontierAppend(previous?.frontier ?? [], seq, leafHash(entryHash));
  const record: LedgerRecord = {...hashed, entry_hash: toHex(entryHash), frontier: frontier.map(toHex)};
  return {record, frontier};
}

export function serialiseRecord(record: LedgerRecord): string {
  const {seq, type, time, actor, action, payload, prev_hash, entry_hash, frontier} = record;
  return `${JSON.stringify({seq, type, time, actor, action, payload, prev_hash, entry_hash, frontier})}\n`;
}

/** Why a parsed line is not a well-formed record, or undefined when its shape is right. */
export function recordShapeProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const r = value as Record<string, unknown>;
  if (!Number.isSafeInteger(r.seq) || (r.seq as number) < 0) return 'seq is not a non-negative integer';
  if (r.type !== 'entry' && r.type !== 'checkpoint') return 'type is neither "entry" nor "checkpoint"';
  if (!Number.isSafeInteger(r.time)) return 'time is not an integer (epoch ms)';
  if (typeof r.actor !== 'string') return 'actor is not a string';
  if (typeof r.action !== 'string') return 'action is not a string';
  if (!('payload' in r)) return 'payload is missing';
  if (typeof r.prev_hash !== 'string' || !HEX64.test(r.prev_hash)) return 'prev_hash is not 64 lower-case hex digits';
  if (typeof r.entry_hash !== 'string' || !HEX64.test(r.entry_hash)) return 'entry_hash is not 64 lower-case hex digits';
  // Verifiers compare each frontier hash with the recomputed one; selfCheck tests their form for appends.
  if (!Array.isArray(r.frontier) || !r.frontier.every((h) => typeof h === 'string')) return 'frontier is not a list of hashes';
  return undefined;
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
