// Streaming reads of the ledger, shared by verify, show and prove: one line at a time, so memory is
// bounded by the longest line whatever the ledger's size.
import {closeSync, constants, createReadStream, openSync} from 'node:fs';

import {DaemonEyeError, fileError, systemErrorCode} from '../errors.js';
import {depthNote, parseJson} from '../util/json.js';
import {statRegularFile} from '../util/read-file.js';
import {type LedgerRecord, recordShapeProblem} from './schema.js';

/** One line of the ledger as a reader sees it. */
export interface LedgerLine {
  readonly line: number;
  readonly text: string;
  /** False only for the last line when the file does not end with a newline (a torn record). */
  readonly terminated: boolean;
}

/**
 * The longest line a reader keeps: far above any record DaemonEye writes (a few KB). A longer line is
 * passed on cut to this length, which parseLedgerLine reports as not a record, so a ledger from a hostile
 * host cannot fill memory with one endless line.
 */
export const MAX_LEDGER_LINE = 16 * 1024 * 1024;

/** Stream the ledger line by line; memory is bounded by MAX_LEDGER_LINE. Only a regular file is read. */
export async function* readLedgerLines(path: string): AsyncGenerator<LedgerLine> {
  assertLedgerReadable(path);
  // A UTF-8 decoding stream keeps multi-byte characters split across chunks intact.
  const stream = createReadStream(path, {highWaterMark: 256 * 1024, encoding: 'utf8'});
  let pending = '';
  let lineNumber = 0;
  let skipping = false;
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      const parts = (pending + chunk).split('\n');
      pending = parts.pop() ?? '';
      for (const text of parts) {
        if (skipping) skipping = false;
        else yield {line: ++lineNumber, text: text.slice(0, MAX_LEDGER_LINE), terminated: true};
      }
      if (pending.length > MAX_LEDGER_LINE && !skipping) {
        // The rest of this line is dropped until its newline: the cut text stands for it.
        yield {line: ++lineNumber, text: pending.slice(0, MAX_LEDGER_LINE), terminated: true};
        skipping = true;
      }
      if (skipping) pending = '';
    }
  } catch (error) {
    throw fileError(error, path, 'read');
  }
  if (pending !== '' && !skipping) yield {line: lineNumber + 1, text: pending, terminated: false};
}

/** Open check used by readers: a ledger that cannot be opened, or is not a regular file, is an input error (exit 2). */
export function assertLedgerReadable(path: string): void {
  try {
    // Judged before it is opened: opening a FIFO would wait for a writer forever.
    statRegularFile(path, {maxBytes: Number.MAX_SAFE_INTEGER, what: 'audit ledger'});
    closeSync(openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY));
  } catch (error) {
    if (error instanceof DaemonEyeError) throw error;
    const problem = fileError(error, path, 'read');
    throw new DaemonEyeError(problem.code, `audit ledger ${problem.message.replace(/^cannot read /, 'cannot be read: ')}`, {
      file: path,
      hint: systemErrorCode(error) === 'ENOENT' ? 'nothing has been audited yet, or set --ledger / audit.ledger_path' : (problem.hint ?? 'check the path'),
      cause: error,
    });
  }
}

/** Parse one streamed line into a record, or say what is wrong with it. */
export function parseLedgerLine(text: string): {record: LedgerRecord} | {problem: string} {
  if (text.length >= MAX_LEDGER_LINE) return {problem: `longer than ${MAX_LEDGER_LINE / (1024 * 1024)} MiB: not a record`};
  let value: unknown;
  try {
    value = parseJson(text);
  } catch (error) {
    return {problem: `not valid JSON${depthNote(error)}`};
  }
  const problem = recordShapeProblem(value);
  return problem === undefined ? {record: value as LedgerRecord} : {problem};
}
