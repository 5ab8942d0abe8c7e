// Every pattern of the redaction policy runs over attacker text (argv, environment, file names). Fed the
// inputs that make a backtracking pattern quadratic (its own prefixes repeated, long runs of its characters,
// openers without closers: src/redaction/hostile.ts), each kind of redaction must cost what a few dozen linear
// scans of the same input cost. Judged as a ratio to one reference scan timed in the same run, so a slow or busy
// machine moves both alike: linear redaction measures a few hundred at most, a quadratic pattern tens of
// thousands on these 32 KiB inputs (and it grows with the input).
import {describe, expect, it} from 'vitest';

import {DEFAULT_REDACTOR} from '../../src/redaction/redact.js';
import {HOSTILE_ATOMS, hostileInput, HOSTILE_SHAPES} from '../../src/redaction/hostile.js';
import {costInReferenceScans} from '../helpers/linear-time.js';

const SIZE = 32 * 1024;
const LIMIT = 2000;
const KINDS = {
  argv: (input: string) => DEFAULT_REDACTOR.argv(['mysql', input]).join(' '),
  env: (input: string) => DEFAULT_REDACTOR.env('SUDO_COMMAND', input),
  url: (input: string) => DEFAULT_REDACTOR.url(input),
  text: (input: string) => DEFAULT_REDACTOR.text(input),
} as const;

describe('redaction runs in linear time on hostile input', () => {
  it('has hostile inputs for every shape of pattern', () => {
    expect(HOSTILE_ATOMS.length).toBeGreaterThan(50);
  });

  for (const [kind, redact] of Object.entries(KINDS)) {
    it(`${kind}: every hostile input costs less than ${LIMIT} linear scans of it`, () => {
      const slow: string[] = [];
      for (const atom of HOSTILE_ATOMS) {
        for (const shape of HOSTILE_SHAPES) {
          const input = hostileInput(atom, shape, SIZE);
          const ratio = costInReferenceScans(() => redact(input), input);
          if (ratio > LIMIT) slow.push(`${JSON.stringify(atom)} ${shape}: ${ratio.toFixed(0)} reference scans`);
        }
      }
      expect(slow).toEqual([]);
    }, 120_000);
  }
});
