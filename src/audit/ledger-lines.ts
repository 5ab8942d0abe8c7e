// Streaming reads of the ledger, shared by verify, show and prove: one line at a time, so memory is
// bounded by the longest line whatever the ledger's size.
import {closeSync, createReadStream, openSync} from 'node:fs';

import {DaemonEyeError, fileError, systemErrorCode} from '../errors.js';
import {type LedgerRecord, recordShapeProblem} from './schema.js';

/** One line of the ledger as a reader sees it. */
export interface LedgerLine {
  readonly line: number;
  readonly text: string;
  /** False only for the last line when the file does not end with a newline (a torn record). */
  readonly terminated: boolean;
}

/** Stream the ledger line by line; memory is bounded by the longest line. */
export async function* readLedgerLines(path: string): AsyncGenerator<LedgerLine> {
  // A UTF-8 decoding stream keeps multi-byte characters split across chunks intact.
  const stream = createReadStream(path, {highWaterMark: 256 * 1024, encoding: 'utf8'});
  let pending = '';
  let lineNumber = 0;
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      const parts = (pending + chunk).split('\n');
      pending = parts.pop() ?? '';
      for (const text of parts) yield {line: ++lineNumber, text, terminated: true};
    }
  } catch (error) {
    throw fileError(error, path, 'read');
  }
  if (pending !== '') yield {line: lineNumber + 1, text: pending, terminated: false};
}

/** Open check used by readers: a ledger that cannot be opened is an input error (exit 2). */
export function assertLedgerReadable(path: string): void {
  try {
    closeSync(openSync(path, 'r'));
  } catch (error) {
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
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {problem: 'not valid JSON'};
  }
  const problem = recordShapeProblem(value);
  return problem === undefined ? {record: value as LedgerRecord} : {problem};
}
