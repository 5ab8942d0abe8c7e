// `audit verify`: stream the ledger once, recompute every hash, link, sequence number and the Merkle
// frontier, check each checkpoint record against the tree, the latest signature, and shipped checkpoints.
import {toHex, ZERO_HASH_HEX} from '../crypto/hash.js';
import {frontierAppend} from '../crypto/merkle.js';
import type {PublicKey} from '../crypto/keys.js';
import {checkpointSignatureStatus, type SignatureStatus} from './checkpoint-signature.js';
import {type Checkpoint, checkpointShapeProblem} from './schema.js';
import {assertLedgerReadable, parseLedgerLine, readLedgerLines} from './ledger-lines.js';
import {lineFormProblem, recordHash, recordLeaf, rootHex} from './ledger-record.js';

export interface LedgerProblem {
  readonly seq: number | null;
  readonly line: number;
  readonly problem: string;
}

export interface ShippedCheckpoint {
  readonly file: string;
  readonly checkpoint: Checkpoint;
}

export interface ShippedCheckpointResult {
  readonly file: string;
  readonly tree_size: number;
  readonly root: string;
  readonly status: 'extends' | 'truncated' | 'root_mismatch' | 'bad_signature' | 'not_reached';
  readonly signature: SignatureStatus;
}

export interface LedgerVerification {
  readonly valid: boolean;
  readonly ledger: string;
  /** Records read (entries and checkpoints) up to the first problem. */
  readonly records: number;
  readonly entries: number;
  readonly checkpoints: number;
  readonly head_hash: string | null;
  readonly root: string;
  readonly latest_checkpoint: (Checkpoint & {seq: number; line: number; signature_status: SignatureStatus}) | null;
  /** Records after the latest signed checkpoint (or all, when none is signed). */
  readonly unsigned_tail: {from_seq: number; count: number} | null;
  readonly torn_tail: {line: number; bytes: number} | null;
  /**
   * Records whose line is not the canonical form DaemonEye writes (an extra member, a repeated one, other
   * whitespace or encoding): the first of them and how many. `--strict` fails on the first; otherwise each
   * is a warning, since what the hash covers is intact.
   */
  readonly noncanonical: {count: number; first: LedgerProblem} | null;
  readonly first_problem: LedgerProblem | null;
  readonly shipped: readonly ShippedCheckpointResult[];
  readonly warnings: readonly string[];
  readonly strict: boolean;
}

export interface VerifyOptions {
  readonly publicKey?: PublicKey;
  readonly shipped?: readonly ShippedCheckpoint[];
  readonly strict?: boolean;
}

export async function verifyLedger(path: string, options: VerifyOptions = {}): Promise<LedgerVerification> {
  assertLedgerReadable(path);
  const strict = options.strict === true;
  const warnings: string[] = [];
  let noncanonicalCount = 0;
  let firstNoncanonical: LedgerProblem | undefined;
  let firstProblem: LedgerProblem | null = null;
  let frontier: Uint8Array[] = [];
  // The same frontier in hex, updated incrementally: only its last element is new after an append.
  let frontierHex: string[] = [];
  // Frontier just before the latest signed checkpoint: its root is checked once, at the end, rather than
  // folding the whole frontier at every checkpoint (that fold was half the hashing of a verify).
  let latestFrontier: Uint8Array[] = [];
  let count = 0;
  let entries = 0;
  let checkpoints = 0;
  let prevHash = ZERO_HASH_HEX;
  let latest: LedgerVerification['latest_checkpoint'] = null;
  let tornTail: LedgerVerification['torn_tail'] = null;
  const shipped = [...(options.shipped ?? [])];
  const shippedRoots = new Map<number, string>();
  const rootAfter = (size: number): void => {
    if (shipped.some((s) => s.checkpoint.tree_size === size)) shippedRoots.set(size, rootHex(frontier));
  };
  rootAfter(0);

  for await (const {line, text, terminated} of readLedgerLines(path)) {
    const fail = (seq: number | null, problem: string): void => {
      firstProblem = {seq, line, problem};
    };
    if (!terminated) {
      tornTail = {line, bytes: Buffer.byteLength(text)};
      fail(count, `torn last record: ${Buffer.byteLength(text)} bytes without a newline (a crash mid-append); the next append moves them to <ledger>.torn-*`);
      break;
    }
    const parsed = parseLedgerLine(text);
    if ('problem' in parsed) {
      fail(count, `line is not a ledger record: ${parsed.problem}`);
      break;
    }
    const record = parsed.record;
    if (record.seq !== count) {
      const why =
        record.seq > count ? `record(s) ${count}${record.seq - 1 > count ? `..${record.seq - 1}` : ''} missing` : 'a record is duplicated or out of order';
      fail(record.seq, `seq ${record.seq} where ${count} was expected: ${why}`);
      break;
    }
    const formProblem = lineFormProblem(text, record);
    if (formProblem !== undefined) {
      const problem = {seq: record.seq, line, problem: `not in canonical form: ${formProblem}`};
      noncanonicalCount++;
      firstNoncanonical ??= problem;
    }
    let entryHash: string;
    try {
      entryHash = toHex(recordHash(record));
    } catch (error) {
      fail(record.seq, `the record cannot be hashed: ${(error as Error).message}`);
      break;
    }
    if (entryHash !== record.entry_hash) {
      fail(record.seq, 'entry_hash does not match the record content (the record was edited)');
      break;
    }
    if (record.prev_hash !== prevHash) {
      fail(record.seq, 'prev_hash does not match the previous record: the chain is broken here');
      break;
    }
    if (record.type === 'checkpoint') {
      const shapeProblem = checkpointShapeProblem(record.payload);
      const checkpoint = record.payload as Checkpoint;
      if (shapeProblem !== undefined) {
        fail(record.seq, `checkpoint payload is malformed: ${shapeProblem}`);
        break;
      }
      if (checkpoint.tree_size !== record.seq) {
        fail(record.seq, `checkpoint does not match the ledger: it claims ${checkpoint.tree_size} records before it`);
        break;
      }
      checkpoints++;
      if (checkpoint.signature !== null) {
        latest = {...checkpoint, seq: record.seq, line, signature_status: 'unchecked'};
        latestFrontier = frontier;
      }
      if (checkpoint.adopted_unsigned_tail === true) {
        warnings.push(`checkpoint ${record.seq} signed over records that had been appended without a checkpoint (a crash, or a writer without the key)`);
      }
    } else {
      entries++;
    }
    frontier = frontierAppend(frontier, count, recordLeaf(entryHash));
    frontierHex = [...frontierHex.slice(0, frontier.length - 1), toHex(frontier[frontier.length - 1] as Uint8Array)];
    if (record.frontier.length !== frontierHex.length || record.frontier.some((hash, index) => hash !== frontierHex[index])) {
      fail(record.seq, 'stored Merkle frontier does not match the recomputed tree');
      break;
    }
    prevHash = entryHash;
    count++;
    rootAfter(count);
  }

  const problems: LedgerProblem[] = [];
  const intact = firstProblem === null;
  // What the hash covers is checked to the end either way; with --strict a line in another form fails too.
  if (strict && firstNoncanonical !== undefined) problems.push(firstNoncanonical);
  // The signature of the latest checkpoint: it commits to every record before it.
  if (latest !== null && intact && latest.root !== rootHex(latestFrontier)) {
    problems.push({
      seq: latest.seq,
      line: latest.line,
      problem: `checkpoint ${latest.seq} does not match the ledger: its root is not the root of the ${latest.tree_size} records before it`,
    });
  } else if (latest !== null) {
    const status = checkpointSignatureStatus(latest, options.publicKey);
    latest = {...latest, signature_status: status};
    if (status === 'invalid' || status === 'wrong_key') {
      problems.push({
        seq: latest.seq,
        line: latest.line,
        problem:
          status === 'wrong_key'
            ? `checkpoint ${latest.seq} was signed by key ${latest.key_id ?? '?'}, not by the given public key ${options.publicKey?.keyId ?? ''}: history was rewritten and re-signed, or the wrong key was given`
            : `checkpoint ${latest.seq} has an invalid signature: the checkpoint or the records before it were changed`,
      });
    } else if (status === 'unchecked') {
      warnings.push('the latest checkpoint signature was not checked: no public key (give --public-key or set crypto.public_key_path)');
    }
  }
  const signedThrough = latest === null ? 0 : latest.seq + 1;
  const unsignedTail = count > signedThrough ? {from_seq: signedThrough, count: count - signedThrough} : null;
  if (latest === null && count > 0) warnings.push('no signed checkpoint: the ledger is unsigned (create a key with `daemoneye keys generate`)');
  else if (unsignedTail !== null)
    warnings.push(`unsigned tail: ${unsignedTail.count} record(s) from seq ${unsignedTail.from_seq} are after the latest signed checkpoint`);

  const shippedResults: ShippedCheckpointResult[] = shipped.map(({file, checkpoint}) => {
    const signature = checkpointSignatureStatus(checkpoint, options.publicKey);
    const base = {file, tree_size: checkpoint.tree_size, root: checkpoint.root, signature};
    if (signature === 'invalid' || signature === 'wrong_key') return {...base, status: 'bad_signature' as const};
    const root = shippedRoots.get(checkpoint.tree_size);
    if (root === undefined) return {...base, status: intact && count < checkpoint.tree_size ? ('truncated' as const) : ('not_reached' as const)};
    return {...base, status: root === checkpoint.root ? ('extends' as const) : ('root_mismatch' as const)};
  });
  for (const result of shippedResults) {
    if (result.signature === 'unchecked') warnings.push(`${result.file}: signature not checked (no public key)`);
    const message: Partial<Record<ShippedCheckpointResult['status'], string>> = {
      truncated: `the ledger has ${count} records but ${result.file} covers ${result.tree_size}: records from seq ${count} were cut off (truncated or rolled back)`,
      root_mismatch: `the first ${result.tree_size} records do not match ${result.file}: history at or before seq ${result.tree_size - 1} was rewritten`,
      bad_signature: `${result.file}: checkpoint signature is ${result.signature === 'wrong_key' ? 'by another key' : 'invalid'}`,
    };
    const text = message[result.status];
    if (text !== undefined) problems.push({seq: result.status === 'truncated' ? count : Math.max(0, result.tree_size - 1), line: 0, problem: text});
  }

  const noncanonical = firstNoncanonical === undefined ? null : {count: noncanonicalCount, first: firstNoncanonical};
  if (noncanonical !== null && !strict) {
    const {count, first} = noncanonical;
    warnings.push(
      `${count} record(s) not in canonical form, first seq ${first.seq ?? '?'} (line ${first.line}): ${first.problem.replace(/^not in canonical form: /, '')}; what the hash covers is intact, --strict fails on this`,
    );
  }
  const allProblems = firstProblem === null ? problems : [firstProblem as LedgerProblem, ...problems];
  const strictFailure =
    strict && (unsignedTail !== null || latest?.signature_status === 'unchecked' || shippedResults.some((r) => r.signature === 'unchecked'));
  return {
    valid: allProblems.length === 0 && !strictFailure,
    ledger: path,
    records: count,
    entries,
    checkpoints,
    head_hash: count === 0 ? null : prevHash,
    root: rootHex(frontier),
    latest_checkpoint: latest,
    unsigned_tail: unsignedTail,
    torn_tail: tornTail,
    noncanonical,
    first_problem: allProblems[0] ?? null,
    shipped: shippedResults,
    warnings,
    strict,
  };
}
