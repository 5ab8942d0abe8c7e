// `audit show`: stream the ledger's records, filtered by time and action, without the Merkle frontier
// (which is bookkeeping for appends, not something a reader wants to see). A record is shown as its own
// members only: whatever else a line carries (members the hash does not cover) is never displayed as its.
import {assertLedgerReadable, parseLedgerLine, readLedgerLines} from './ledger-lines.js';
import {lineFormProblem, recordMembers} from './ledger-record.js';
import {isSuccessfulRun, type LedgerRecord} from './schema.js';

export type ShownRecord = Omit<LedgerRecord, 'frontier'>;

export interface ShowFilter {
  readonly since?: number;
  readonly until?: number;
  readonly action?: string;
  readonly type?: LedgerRecord['type'];
}

/**
 * Records matching the filter, each with only its own members (docs/audit.md, "Records"). A line that is not
 * a record is passed to `onBadLine` and skipped; a record whose line is not in canonical form (extra or
 * repeated members: lineFormProblem) is passed to `onNoncanonical` and shown without what the hash does not cover.
 */
export async function* readAuditRecords(
  path: string,
  filter: ShowFilter = {},
  onBadLine: (line: number, problem: string) => void = () => undefined,
  onNoncanonical: (line: number, seq: number, problem: string) => void = () => undefined,
): AsyncGenerator<ShownRecord> {
  assertLedgerReadable(path);
  for await (const {line, text, terminated} of readLedgerLines(path)) {
    const parsed = terminated ? parseLedgerLine(text) : {problem: 'torn last record (no newline)'};
    if ('problem' in parsed) {
      onBadLine(line, parsed.problem);
      continue;
    }
    const formProblem = lineFormProblem(text, parsed.record);
    if (formProblem !== undefined) onNoncanonical(line, parsed.record.seq, formProblem);
    const {frontier: _frontier, ...record} = recordMembers(parsed.record);
    if (filter.since !== undefined && record.time < filter.since) continue;
    if (filter.until !== undefined && record.time > filter.until) continue;
    if (filter.action !== undefined && record.action !== filter.action) continue;
    if (filter.type !== undefined && record.type !== filter.type) continue;
    yield record;
  }
}

/** The latest signed checkpoint record of the ledger, if any. */
export async function latestSignedCheckpoint(path: string): Promise<ShownRecord | undefined> {
  let latest: ShownRecord | undefined;
  for await (const record of readAuditRecords(path, {type: 'checkpoint'})) {
    if (((record.payload as {signature?: unknown} | null)?.signature ?? null) !== null) latest = record;
  }
  return latest;
}

/** The latest record of a completed run (isSuccessfulRun), streaming the ledger once; damaged lines are skipped. */
export async function latestSuccessfulRun(path: string): Promise<ShownRecord | undefined> {
  let latest: ShownRecord | undefined;
  for await (const record of readAuditRecords(path, {type: 'entry'})) if (isSuccessfulRun(record)) latest = record;
  return latest;
}
