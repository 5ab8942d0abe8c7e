// collection.argv: the head/tail cut of one argv, the bounded read that feeds it, the fair share of the scan's
// budget, the warning line, and the two reads of the walk over real processes of chosen argv lengths.
import {spawn, type ChildProcess} from 'node:child_process';
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {argvShare, argvWarning, cutArgvBytes, type ArgvLimits} from '../../src/collect/argv-limit.js';
import {readProcHeadTail} from '../../src/collect/proc-read.js';
import {collectSnapshot} from '../../src/collect/snapshot.js';
import {killGroups, removeDir, tempDir} from '../helpers/cli.js';
import {waitFor} from '../helpers/wait.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');
const texts = (args: Buffer[]): string[] => args.map((arg) => arg.toString('latin1'));

describe('cutArgvBytes', () => {
  it('keeps whole arguments when the cut falls between two, the marker where the middle was', () => {
    // argv a, bb, MIDDLE, cc, d: head "a\0bb\0", tail "cc\0d\0"
    expect(texts(cutArgvBytes(bytes('a\0bb\0'), bytes('cc\0d\0'), 20))).toEqual(['a', 'bb', '[daemoneye: 10 of 20 bytes of argv not kept]', 'cc', 'd']);
  });

  it('an argument the cut falls inside keeps its start in the head and its end in the tail', () => {
    expect(texts(cutArgvBytes(bytes('bash\0-c\0bash -i >& /dev/t'), bytes('pad\0last arg\0'), 1_000_000))).toEqual([
      'bash',
      '-c',
      'bash -i >& /dev/t',
      '[daemoneye: 999,962 of 1,000,000 bytes of argv not kept]',
      'pad',
      'last arg',
    ]);
  });

  it('a tail starting on a NUL starts between two arguments; one without a final NUL (setproctitle) keeps its text', () => {
    expect(texts(cutArgvBytes(bytes('x'), bytes('\0y z'), 100))).toEqual(['x', '[daemoneye: 95 of 100 bytes of argv not kept]', 'y z']);
  });
});

describe('readProcHeadTail', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('daemoneye-argv-');
  });
  afterAll(() => removeDir(dir));

  // Sizes around the allowance and around the reads' 64 KiB chunk.
  for (const [size, keep] of [
    [0, 100],
    [99, 100],
    [100, 100],
    [101, 100],
    [65_536, 65_536],
    [65_537, 65_536],
    [300_000, 4096],
    [1_000_003, 100_001],
    [3_000_000, 2],
  ] as const) {
    it(`a file of ${size} bytes within ${keep}: whole, or exactly its first ⌈keep/2⌉ and last ⌊keep/2⌋ bytes`, () => {
      const content = Buffer.alloc(size);
      for (let i = 0; i < size; i++) content[i] = (i * 7 + (i >> 9)) & 0xff;
      const path = join(dir, `f${size}-${keep}`);
      writeFileSync(path, content);
      const read = readProcHeadTail(path, keep);
      expect(read.total).toBe(size);
      if (size <= keep) {
        expect(read.head.equals(content)).toBe(true);
        expect(read.tail.length).toBe(0);
      } else {
        expect(read.head.equals(content.subarray(0, Math.ceil(keep / 2)))).toBe(true);
        expect(read.tail.equals(content.subarray(size - Math.floor(keep / 2)))).toBe(true);
      }
    });
  }
});

describe('argvShare and argvWarning', () => {
  const limits: ArgvLimits = {floor: 1000, ceiling: 10_000, budget: 20_000};

  it('the floor plus an equal share of what is left, never past the ceiling, never below the floor', () => {
    expect(argvShare(limits, 5000, 3)).toBe(1000 + 5000);
    expect(argvShare(limits, 0, 1)).toBe(10_000);
    expect(argvShare(limits, 25_000, 4)).toBe(1000);
    expect(argvShare({floor: 1000, ceiling: 500, budget: 0}, 0, 1)).toBe(500);
  });

  it('one line, the longest first, ten pids at most', () => {
    const cuts = Array.from({length: 12}, (_, i) => ({pid: 100 + i, read: 1000, total: 2000 + i}));
    const line = argvWarning(cuts);
    expect(line).toMatch(/^collection limit: 12 processes have a longer command line than the scan kept \(pid 111: 1,000 of 2,011 bytes; pid 110: /);
    expect(line).toMatch(/; and 2 more\); .* raise collection\.argv \(budget, ceiling\) to keep more$/);
    expect(line).not.toMatch(/pid 101:/);
  });
});

describe('the walk: every floor first, then the long argvs share the budget', () => {
  const children: ChildProcess[] = [];
  const pids: number[] = [];
  /** argv lengths in bytes of /proc/PID/cmdline, NULs included. */
  const LONG = [200_000, 300_000, 400_000];

  beforeAll(async () => {
    for (const length of [...LONG, 300]) {
      // bash -c 'sleep 300; exit' x ARG… (a last simple command would be exec'd, argv and all): the padding in args of 100,000 bytes at most (MAX_ARG_STRLEN is 128 KiB).
      const fixed = ['bash', '-c', 'sleep 300; exit', 'x'];
      let left = length - fixed.reduce((n, a) => n + a.length + 1, 0);
      const args: string[] = [];
      while (left > 0) {
        const size = Math.min(100_000, left - 1);
        args.push(String.fromCharCode(97 + (args.length % 26)).repeat(size));
        left -= size + 1;
      }
      const child = spawn('bash', [...fixed.slice(1), ...args], {detached: true, stdio: 'ignore', env: {PATH: process.env.PATH ?? '/usr/bin:/bin'}});
      children.push(child);
      pids.push(await new Promise<number>((resolve) => child.once('spawn', () => resolve(child.pid ?? 0))));
    }
    await waitFor(() => pids.every((pid, i) => readFileSync(`/proc/${pid}/cmdline`).length === [...LONG, 300][i]), 'the argvs in /proc');
  });
  afterAll(() => killGroups(children));

  it('exact bytes kept: floor for all, then equal shares in pid order, the ceiling, the budget; head and tail are the real ones', async () => {
    const limits: ArgvLimits = {floor: 1000, ceiling: 250_000, budget: 400_000};
    const snapshot = await collectSnapshot({pids, argv: limits, hash: false});
    const cuts = snapshot.stats.argv_cuts;
    // The 300-byte argv is whole and no cut; floors: 3 × 1000 + 300 spent before the second reads.
    const spentFirst = 3 * 1000 + 300;
    const first = argvShare(limits, spentFirst, 3);
    const second = argvShare(limits, spentFirst + first - 1000, 2);
    const third = argvShare(limits, spentFirst + first - 1000 + second - 1000, 1);
    expect(cuts.map((c) => [c.pid, c.read, c.total])).toEqual([
      [pids[0], first, LONG[0]],
      [pids[1], second, LONG[1]],
      [pids[2], third, LONG[2]],
    ]);
    expect(first).toBe(1000 + Math.floor((400_000 - spentFirst) / 3));
    expect(first + second + third + 300).toBeLessThanOrEqual(limits.budget);
    for (const [index, pid] of pids.slice(0, 3).entries()) {
      const record = snapshot.processes.find((p) => p.pid === pid);
      const argv = record?.command_line ?? [];
      const real = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
      const marker = argv.findIndex((arg) => arg.startsWith('[daemoneye: '));
      expect(marker, String(index)).toBeGreaterThan(0);
      const kept = cuts[index]?.read ?? 0;
      expect(argv.slice(0, marker).join('\0')).toBe(real.slice(0, Math.ceil(kept / 2)));
      expect(`${argv.slice(marker + 1).join('\0')}\0`).toBe(real.slice(real.length - Math.floor(kept / 2)));
      expect(argv[marker]).toBe(
        `[daemoneye: ${(LONG[index]! - kept).toLocaleString('en-US')} of ${LONG[index]!.toLocaleString('en-US')} bytes of argv not kept]`,
      );
    }
    expect(snapshot.processes.find((p) => p.pid === pids[3])?.command_line).toEqual(['bash', '-c', 'sleep 300; exit', 'x', expect.any(String)]);
    expect(snapshot.scan.errors.filter((e) => e.startsWith('collection limit: '))).toEqual([argvWarning(cuts)]);
  });

  it('without limits, or within them, every argv is whole and nothing is said', async () => {
    for (const options of [{}, {argv: {floor: 65_536, ceiling: 1_048_576, budget: 8_388_608}}]) {
      const snapshot = await collectSnapshot({pids, hash: false, ...options});
      expect(snapshot.stats.argv_cuts ?? []).toEqual([]);
      for (const [index, pid] of pids.entries()) {
        const argv = snapshot.processes.find((p) => p.pid === pid)?.command_line ?? [];
        expect(`${argv.join('\0')}\0`).toBe(readFileSync(`/proc/${pid}/cmdline`, 'latin1'));
        expect(argv.join('\0').length + 1).toBe([...LONG, 300][index]);
      }
      expect(snapshot.scan.errors.some((e) => e.startsWith('collection limit: '))).toBe(false);
    }
  });
});
