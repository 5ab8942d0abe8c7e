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
  return `${JSON.stringify(recordMembers(record))}\n`;
}

/** The members of a record line, in the order they are written. */
export const RECORD_MEMBERS = ['seq', 'type', 'time', 'actor', 'action', 'payload', 'prev_hash', 'entry_hash', 'frontier'] as const;

/** The members a checkpoint record's payload may have, in the order they are written (docs/audit.md, "Checkpoints"). */
export const CHECKPOINT_MEMBERS = ['tree_size', 'root', 'time', 'key_id', 'signature', 'adopted_unsigned_tail'] as const;

/** Only the record's own members, in their written order: whatever else a line carried is dropped. */
export function recordMembers(record: LedgerRecord): LedgerRecord {
  const {seq, type, time, actor, action, payload, prev_hash, entry_hash, frontier} = record;
  return {seq, type, time, actor, action, payload, prev_hash, entry_hash, frontier};
}

/**
 * Why a ledger line is not in the canonical form, or undefined when it is. The canonical form is the exact
 * line DaemonEye writes for the record it parses to (serialiseRecord): the nine members in their order and
 * no others, each member once at every depth, no whitespace, numbers and strings as `JSON.stringify` writes
 * them; a checkpoint's payload holds only CHECKPOINT_MEMBERS. Anything else is bytes the hash does not
 * cover (an extra member, the losing copy of a repeated one), which a reader could be shown as part of the
 * record. `text` is the line without its newline and `record` what `JSON.parse` made of it.
 */
export function lineFormProblem(text: string, record: LedgerRecord): string | undefined {
  const extra = Object.keys(record).filter((key) => !(RECORD_MEMBERS as readonly string[]).includes(key));
  if (extra.length > 0) return `extra member${extra.length > 1 ? 's' : ''} ${extra.map((key) => JSON.stringify(key)).join(', ')} not covered by entry_hash`;
  const repeated = repeatedMembers(text);
  if (repeated.length > 0) {
    return `member${repeated.length > 1 ? 's' : ''} ${repeated.map((key) => JSON.stringify(key)).join(', ')} given twice (readers disagree on which copy counts; the hash covers the last)`;
  }
  if (record.type === 'checkpoint' && record.payload !== null && typeof record.payload === 'object' && !Array.isArray(record.payload)) {
    const unknown = Object.keys(record.payload).filter((key) => !(CHECKPOINT_MEMBERS as readonly string[]).includes(key));
    if (unknown.length > 0)
      return `checkpoint payload member${unknown.length > 1 ? 's' : ''} ${unknown.map((key) => JSON.stringify(key)).join(', ')} not in the checkpoint format (not signed)`;
  }
  let written: string;
  try {
    written = serialiseRecord(record);
  } catch {
    return 'it cannot be written back as JSON';
  }
  if (written !== `${text}\n`)
    return 'not byte for byte the line DaemonEye writes for this record (whitespace, member order, or number or string encoding differ)';
  return undefined;
}

/**
 * Object member names that occur twice in the same object of a JSON text, as `path.name` (`JSON.parse`
 * silently keeps the last copy). Expects text `JSON.parse` accepted.
 */
export function repeatedMembers(text: string): string[] {
  type Frame = {keys: Set<string>; expectKey: boolean; key: string | null; path: string} | {array: true; path: string};
  const stack: Frame[] = [];
  const repeated: string[] = [];
  const childPath = (): string => {
    const top = stack.at(-1);
    if (top === undefined) return '';
    if ('array' in top) return `${top.path}[]`;
    return top.path === '' ? (top.key ?? '') : `${top.path}.${top.key ?? ''}`;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const top = stack.at(-1);
      if (top !== undefined && !('array' in top) && top.expectKey) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.keys.has(key)) repeated.push(top.path === '' ? key : `${top.path}.${key}`);
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = end;
    } else if (c === '{') {
      stack.push({keys: new Set(), expectKey: true, key: null, path: childPath()});
    } else if (c === '[') {
      stack.push({array: true, path: childPath()});
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      const top = stack.at(-1);
      if (top !== undefined && !('array' in top)) top.expectKey = true;
    }
  }
  return repeated;
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
