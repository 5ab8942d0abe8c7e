// AuditLedger: the append-only JSON Lines ledger (docs/audit.md). Appends read only the
// last line (it carries the Merkle frontier), hold the ledger lock, write each record with one write()
// and fsync it. Readers stream the file, so verifying 100,000 records takes bounded memory.
import {closeSync, constants, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync} from 'node:fs';

import {blake3Hex} from '../crypto/hash.js';
import {DaemonEyeError, fileError, systemErrorCode} from '../errors.js';
import {writeFileAtomic} from '../util/atomic-write.js';
import {withLock} from '../util/lock.js';
import {parseJson} from '../util/json.js';
import {ensureStateDirectory, openStateFile} from '../util/state-file.js';
import {dirname} from 'node:path';
import {toPlainJson} from '../crypto/canonical-json.js';
import type {PrivateKey, PublicKey} from '../crypto/keys.js';
import {type Checkpoint, signCheckpoint} from './checkpoint-signature.js';
import {buildRecord, frontierFromHex, rootHex, selfCheck, serialiseRecord} from './ledger-record.js';
import {type AuditEntry, auditPayloadProblem, type LedgerRecord, recordShapeProblem} from './schema.js';
import type {LedgerVerification, VerifyOptions} from './verify.js';

export type {LedgerRecord} from './schema.js';
export {assertLedgerReadable, type LedgerLine, parseLedgerLine, readLedgerLines} from './ledger-lines.js';

/** What an append needs to know about the end of the file. */
export interface LedgerTail {
  /** The last complete record, undefined for an empty ledger. */
  readonly last: LedgerRecord | undefined;
  /** Byte offset just after the last complete line. */
  readonly completeEnd: number;
  /** Bytes after the last newline: a record torn by a crash mid-append. */
  readonly tornBytes: number;
}

export interface NewRecord {
  readonly type: LedgerRecord['type'];
  readonly actor: string;
  readonly action: string;
  readonly payload: unknown;
  readonly time?: number;
}

const NEWLINE = 0x0a;

/**
 * Read the last complete line (and any torn bytes after it) from the end of the file, never the whole file.
 * `forAppend`: the ledger this run writes, so it is opened as state (never through a link, owned by this
 * user, one name only: src/util/state-file.ts); otherwise any ledger a reader names.
 */
export function readLedgerTail(path: string, options: {forAppend?: boolean} = {}): LedgerTail {
  let fd: number;
  try {
    if (options.forAppend === true) {
      const opened = openStateFile(path, constants.O_RDONLY, LEDGER_STATE);
      if (opened === undefined) return {last: undefined, completeEnd: 0, tornBytes: 0};
      fd = opened;
    } else {
      fd = openSync(path, 'r');
    }
  } catch (error) {
    if (systemErrorCode(error) === 'ENOENT') return {last: undefined, completeEnd: 0, tornBytes: 0};
    throw ledgerWriteError(error, path, 'read');
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return {last: undefined, completeEnd: 0, tornBytes: 0};
    for (let window = 64 * 1024; ; window *= 2) {
      const start = Math.max(0, size - window);
      const buffer = Buffer.alloc(size - start);
      let read = 0;
      while (read < buffer.length) {
        const n = readSync(fd, buffer, read, buffer.length - read, start + read);
        if (n === 0) break;
        read += n;
      }
      const lastNewline = buffer.lastIndexOf(NEWLINE);
      if (lastNewline === -1 && start > 0) continue;
      if (lastNewline === -1) return {last: undefined, completeEnd: 0, tornBytes: size};
      const completeEnd = start + lastNewline + 1;
      const previousNewline = lastNewline === 0 ? -1 : buffer.lastIndexOf(NEWLINE, lastNewline - 1);
      if (previousNewline === -1 && start > 0) continue;
      const line = buffer.subarray(previousNewline + 1, lastNewline).toString('utf8');
      const lineNumber = previousNewline === -1 && start === 0 ? 1 : undefined;
      return {last: parseTailRecord(line, path, lineNumber), completeEnd, tornBytes: size - completeEnd};
    }
  } finally {
    closeSync(fd);
  }
}

function parseTailRecord(line: string, path: string, lineNumber: number | undefined): LedgerRecord {
  let value: unknown;
  let problem: string | undefined;
  try {
    value = parseJson(line);
    problem = recordShapeProblem(value) ?? selfCheck(value as LedgerRecord);
  } catch {
    problem = 'it is not valid JSON';
  }
  if (problem !== undefined) {
    throw new DaemonEyeError(
      'LEDGER_TAIL_CORRUPT',
      `the last record of ${path}${lineNumber === undefined ? '' : ` (line ${lineNumber})`} is damaged: ${problem}`,
      {
        file: path,
        hint: 'nothing was appended; run `daemoneye audit verify` to find the damage, then restore the ledger from a copy',
      },
    );
  }
  return value as LedgerRecord;
}

/** The ledger is state: appended in place, so never a link, this user's, one name only. */
const LEDGER_STATE = {what: 'audit ledger', singleLink: true, mode: 0o600} as const;

function ledgerWriteError(error: unknown, path: string, action: 'read' | 'write'): DaemonEyeError {
  if (error instanceof DaemonEyeError && error.code !== 'INPUT_NOT_FOUND' && error.code !== 'INPUT_UNREADABLE') return error;
  const problem = fileError(error, path, action === 'read' ? 'write' : action);
  return new DaemonEyeError('LEDGER_WRITE_FAILED', `audit ledger: ${problem.message}`, {
    file: path,
    hint: problem.hint ?? 'fix the path or permissions, set audit.ledger_path, or run with --no-audit',
    cause: error,
  });
}

function writeWhole(fd: number, data: Buffer): void {
  // One write() per record; the loop only continues after a short write, which local files do not do.
  let offset = 0;
  while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset);
}

export interface AppendContext {
  readonly tail: LedgerRecord | undefined;
  /** Set when a torn last line was moved aside before this append. */
  readonly quarantined?: {file: string; bytes: number; blake3: string};
}

/**
 * Append records under the ledger lock. `build` sees the current tail and returns the records to add;
 * a later record may depend on an earlier one of the same call (it is handed back through `append`).
 */
export async function appendToLedger<T>(path: string, build: (context: AppendContext, append: (record: NewRecord) => LedgerRecord) => T): Promise<T> {
  // Its directory is state too: created 0700, this user's, not writable by others (who could swap the file).
  try {
    ensureStateDirectory(dirname(path), 'its directory');
  } catch (error) {
    const problem = ledgerWriteError(error, dirname(path), 'write');
    throw new DaemonEyeError(problem.code === 'STATE_UNSAFE' ? 'STATE_UNSAFE' : 'LEDGER_WRITE_FAILED', `audit ledger ${path}: ${problem.message}`, {
      file: path,
      ...(problem.hint === undefined ? {} : {hint: problem.hint}),
      cause: error,
    });
  }
  return withLock(path, () => {
    const tail = readLedgerTail(path, {forAppend: true});
    let fd: number;
    try {
      fd = openStateFile(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, LEDGER_STATE) as number;
    } catch (error) {
      throw ledgerWriteError(error, path, 'write');
    }
    try {
      let quarantined: AppendContext['quarantined'];
      if (tail.tornBytes > 0) quarantined = quarantineTornTail(path, fd, tail);
      let previous =
        tail.last === undefined ? undefined : {seq: tail.last.seq, entry_hash: tail.last.entry_hash, frontier: frontierFromHex(tail.last.frontier)};
      const append = (fields: NewRecord): LedgerRecord => {
        const {record, frontier} = buildRecord(previous, {...fields, time: fields.time ?? Date.now()});
        try {
          writeWhole(fd, Buffer.from(serialiseRecord(record), 'utf8'));
          fsyncSync(fd);
        } catch (error) {
          throw ledgerWriteError(error, path, 'write');
        }
        previous = {seq: record.seq, entry_hash: record.entry_hash, frontier};
        return record;
      };
      return build({tail: tail.last, ...(quarantined === undefined ? {} : {quarantined})}, append);
    } finally {
      closeSync(fd);
    }
  });
}

/**
 * A crash mid-append leaves bytes without a newline. They are copied to `<ledger>.torn-<time>` (nothing is
 * lost) and cut off, so the next record links to the last complete one; the caller records the move.
 */
function quarantineTornTail(path: string, fd: number, tail: LedgerTail): {file: string; bytes: number; blake3: string} {
  const bytes = Buffer.alloc(tail.tornBytes);
  let read = 0;
  // The append descriptor is write-only: read the torn bytes through a second, checked one.
  const readFd = openStateFile(path, constants.O_RDONLY, LEDGER_STATE) as number;
  try {
    while (read < bytes.length) {
      const n = readSync(readFd, bytes, read, bytes.length - read, tail.completeEnd + read);
      if (n === 0) break;
      read += n;
    }
  } finally {
    closeSync(readFd);
  }
  const file = `${path}.torn-${Date.now()}-${process.pid}`;
  try {
    writeFileAtomic(file, bytes, {mode: 0o600});
    ftruncateSync(fd, tail.completeEnd);
    fsyncSync(fd);
  } catch (error) {
    throw ledgerWriteError(error, path, 'write');
  }
  return {file, bytes: bytes.length, blake3: blake3Hex(bytes)};
}

/** The reference API's AuditLedger (docs/api.md): append entries (with a signed checkpoint when a key is given) and verify the chain. */
export class AuditLedger {
  constructor(
    readonly path: string,
    private readonly options: {signingKey?: PrivateKey; publicKey?: PublicKey} = {},
  ) {}

  /**
   * Append one entry, then, with a signing key, a checkpoint over the whole ledger; both under one lock
   * hold. A torn last line is moved aside first and its move recorded (`ledger_torn_record_quarantined`).
   */
  async appendEntry(entry: AuditEntry, warn: (message: string) => void = () => undefined): Promise<{entry: LedgerRecord; checkpoint: LedgerRecord | null}> {
    const key = this.options.signingKey;
    const payload = toPlainJson(entry.payload);
    // A payload that does not fit its action's schema is a bug in the caller: refuse it rather than write a
    // record that readers (health, audit show filters) would misread.
    const problem = auditPayloadProblem(entry.action, payload);
    if (problem !== undefined) {
      throw new DaemonEyeError('INTERNAL', `the ${entry.action} audit payload does not match its schema: ${problem}`, {file: this.path});
    }
    return appendToLedger(this.path, (context, append) => {
      if (context.quarantined !== undefined) {
        warn(`the ledger ended in a torn record (a crash mid-append); its ${context.quarantined.bytes} bytes were moved to ${context.quarantined.file}`);
        append({type: 'entry', actor: entry.actor, action: 'ledger_torn_record_quarantined', payload: context.quarantined});
      }
      const adoptedUnsignedTail = key !== undefined && context.tail !== undefined && context.tail.type !== 'checkpoint';
      const written = append({type: 'entry', actor: entry.actor, action: entry.action, payload});
      if (key === undefined) return {entry: written, checkpoint: null};
      const checkpoint: Checkpoint = {
        ...signCheckpoint(key, {tree_size: written.seq + 1, root: rootHex(frontierFromHex(written.frontier)), time: Date.now()}),
        ...(adoptedUnsignedTail ? {adopted_unsigned_tail: true} : {}),
      };
      return {entry: written, checkpoint: append({type: 'checkpoint', actor: entry.actor, action: 'checkpoint', payload: checkpoint, time: checkpoint.time})};
    });
  }

  /** Verify every record, the Merkle tree and the latest checkpoint signature (see verifyLedger). */
  async verifyChain(options: Omit<VerifyOptions, 'publicKey'> = {}): Promise<LedgerVerification> {
    // The verifier is imported only by a run that verifies (an append never does).
    const {verifyLedger} = await import('./verify.js');
    return verifyLedger(this.path, {...options, ...(this.options.publicKey === undefined ? {} : {publicKey: this.options.publicKey})});
  }
}
