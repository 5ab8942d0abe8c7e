// The fan-out limits' arithmetic (fanout.ts), the partial reads they rely on (a file's first lines, a
// process's lowest fds), and the two passes of the live tables over a fixture /proc whose processes hold maps
// of chosen sizes: every process gets its floor, the ones holding more share what is left, none passes the
// ceiling, and each one cut short is reported with how much was read.
import {mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {FanoutBudget, fanoutShare, fanoutWarning, firstRead} from '../../src/collect/fanout.js';
import {fdCount, readFdLinks} from '../../src/collect/fds.js';
import {collectLiveTables} from '../../src/collect/live-tables.js';
import {readProcLines} from '../../src/collect/proc-read.js';
import type {ProcessRecord} from '../../src/models/process.js';
import type {FlatTableRows} from '../../src/models/tables.js';
import {removeDir, tempDir} from '../helpers/cli.js';

const dir = tempDir();
afterAll(() => removeDir(dir));

describe('fanoutShare', () => {
  const limits = {floor: 100, ceiling: 1000, budget: 3000};

  it('gives the first read up to the floor, never past the ceiling', () => {
    expect(firstRead(limits)).toBe(100);
    expect(firstRead({floor: 100, ceiling: 10, budget: 5})).toBe(10);
  });

  it('gives a waiting process its floor plus an equal share of what is left of the budget', () => {
    // 1,000 spent: 2,000 left among 4 waiting: 500 each on top of the 100 already read.
    expect(fanoutShare(limits, 1000, 4)).toBe(600);
    // The last one waiting takes what is left, up to the ceiling.
    expect(fanoutShare(limits, 2500, 1)).toBe(600);
    expect(fanoutShare(limits, 0, 1)).toBe(1000);
  });

  it('gives no more than the floor once the budget is spent (the floors alone may pass it)', () => {
    expect(fanoutShare(limits, 3000, 3)).toBe(100);
    expect(fanoutShare(limits, 50_000, 1)).toBe(100);
  });

  it('rounds a share down: the budget is never passed by rounding', () => {
    expect(fanoutShare({floor: 1, ceiling: 100, budget: 10}, 0, 3)).toBe(4);
  });

  it('bounds a scan by the budget or the floors, and lets a share left unused pass to those after', () => {
    // Ten floods of 19,000 and a proxy of 20,000 waiting after 1,000 processes' first reads.
    const budget = new FanoutBudget({floor: 1024, ceiling: 65_536, budget: 100_000});
    const waiting = [...Array.from({length: 10}, () => 19_000), 20_000];
    budget.spend(30_000 + waiting.length * budget.first);
    const read = waiting.map((holds, index) => {
      const share = budget.share(waiting.length - index);
      const taken = Math.min(holds, share);
      budget.spend(taken - budget.first);
      return taken;
    });
    expect(budget.used).toBeLessThanOrEqual(100_000);
    // Every flood gets the same share (to the rounding); the proxy after them gets no less.
    const floods = read.slice(0, 10);
    expect(Math.max(...floods) - Math.min(...floods)).toBeLessThanOrEqual(1);
    expect(read[10]).toBeGreaterThanOrEqual(Math.max(...floods));
    expect(read[10]).toBeLessThan(20_000);
    // Without the floods, the proxy is read whole.
    const alone = new FanoutBudget({floor: 1024, ceiling: 65_536, budget: 100_000});
    alone.spend(30_000 + alone.first);
    expect(alone.share(1)).toBeGreaterThanOrEqual(20_000);
  });
});

describe('fanoutWarning', () => {
  it('is one line naming each process cut short with how much was read of how much', () => {
    const line = fanoutWarning('fd', [
      {pid: 4242, read: 1024, total: 19_003},
      {pid: 4243, read: 2048, total: null},
    ]);
    expect(line).toBe(
      'collection limit: 2 processes hold more file descriptors than the scan read (pid 4242: 1,024 of 19,003; pid 4243: 2,048 of more than 2,048); process_open_files, process_open_sockets, process_fd_peers hold only their lowest fds (stdio first): raise collection.fanout.fds (budget, ceiling) to read more',
    );
  });

  it('names ten processes at most, then how many more: a flood of processes does not make a flood of text', () => {
    const cuts = Array.from({length: 5000}, (_, i) => ({pid: 1000 + i, read: 2048, total: null}));
    const line = fanoutWarning('maps', cuts);
    expect(line).not.toContain('\n');
    expect(line.match(/pid \d+/g)).toHaveLength(10);
    expect(line).toContain('pid 1009: 2,048 of more than 2,048; and 4,990 more)');
    expect(line).toContain('5,000 processes hold more memory maps');
  });
});

describe('readProcLines', () => {
  const file = join(dir, 'lines');
  writeFileSync(file, Array.from({length: 100_000}, (_, i) => `line ${i}\n`).join(''));

  it('reads the first lines only and says more were left', () => {
    const read = readProcLines(file, 3);
    expect(read).toEqual({text: 'line 0\nline 1\nline 2\n', lines: 3, more: true});
  });

  it('reads a file of exactly the limit whole, with nothing left', () => {
    expect(readProcLines(file, 100_000)).toMatchObject({lines: 100_000, more: false});
    expect(readProcLines(file, 200_000)).toMatchObject({lines: 100_000, more: false});
  });

  it('counts a last line without its newline', () => {
    const short = join(dir, 'short');
    writeFileSync(short, 'a\nb');
    expect(readProcLines(short, 10)).toEqual({text: 'a\nb', lines: 2, more: false});
    expect(readProcLines(short, 1)).toEqual({text: 'a\n', lines: 1, more: true});
  });
});

describe('readFdLinks with a limit', () => {
  it('lists the lowest fds of this process, stdio first, and says more are open', () => {
    const all = readFdLinks('/proc', process.pid);
    const some = readFdLinks('/proc', process.pid, 3);
    if (typeof all === 'string' || typeof some === 'string') throw new Error('own fds unreadable');
    expect(all.links.length).toBeGreaterThan(3);
    expect(some.links.map((l) => l.fd)).toEqual([0, 1, 2]);
    expect(some.more).toBe(true);
    expect(all.more).toBe(false);
    expect(fdCount('/proc', process.pid)).toBeGreaterThanOrEqual(all.links.length - 1);
  });
});

describe('the live tables under a maps budget', () => {
  const procRoot = join(dir, 'proc');
  /** A process holding `n` maps. */
  const processWith = (pid: number, n: number): void => {
    mkdirSync(join(procRoot, String(pid)), {recursive: true});
    const lines = Array.from(
      {length: n},
      (_, i) =>
        `${(0x10000 + i * 2).toString(16).padStart(12, '0')}000-${(0x10001 + i * 2).toString(16).padStart(12, '0')}000 ---s 00000000 00:01 ${i + 1}  /dev/zero (deleted)\n`,
    );
    writeFileSync(join(procRoot, String(pid), 'maps'), lines.join(''));
  };
  const rowsByPid = (pids: readonly number[], fanout: {floor: number; ceiling: number; budget: number}) => {
    const result = collectLiveTables({
      procRoot,
      processes: pids.map((pid) => ({pid, platform_data: {kernel_thread: false}}) as unknown as ProcessRecord),
      tables: new Set(['process_memory_map']),
      env: {names: new Set()},
      fanout: {fds: fanout, maps: fanout},
    });
    const flat = result.rows.process_memory_map as FlatTableRows;
    const width = flat.values.length / flat.rows;
    const counts = new Map<number, number>();
    for (let at = 0; at < flat.values.length; at += width) counts.set(flat.values[at] as number, (counts.get(flat.values[at] as number) ?? 0) + 1);
    return {counts, cuts: result.cuts.maps ?? []};
  };

  it('reads every process to its floor, shares the rest among the big ones, and reports each one cut', () => {
    // A flood (pid 10) before small processes, one a little past the floor (pid 25), and a big legitimate one (pid 40).
    for (const [pid, maps] of [
      [10, 5000],
      [20, 50],
      [25, 150],
      [30, 80],
      [40, 900],
    ])
      processWith(pid as number, maps as number);
    const {counts, cuts} = rowsByPid([10, 20, 25, 30, 40], {floor: 100, ceiling: 2000, budget: 1730});
    // Floors: 100 + 50 + 100 + 80 + 100 = 430; 1,300 left among the three waiting: 433 each on top of the floor.
    expect(counts.get(20)).toBe(50);
    expect(counts.get(30)).toBe(80);
    expect(counts.get(10)).toBe(533);
    // Pid 25 takes 50 of its share; the last one gets what is left (817 on top of its floor): all it holds.
    expect(counts.get(25)).toBe(150);
    expect(counts.get(40)).toBe(900);
    expect(cuts).toEqual([{pid: 10, read: 533, total: null}]);
    // With the same budget and no flood, nobody is cut.
    expect(rowsByPid([20, 25, 30, 40], {floor: 100, ceiling: 2000, budget: 1730}).cuts).toEqual([]);
  });

  it('holds the ceiling even with budget to spare, and reads all when nothing passes a limit', () => {
    expect(rowsByPid([10, 40], {floor: 100, ceiling: 700, budget: 1_000_000}).counts).toEqual(
      new Map([
        [10, 700],
        [40, 700],
      ]),
    );
    const whole = rowsByPid([10, 20, 30, 40], {floor: 1024, ceiling: 65_536, budget: 100_000});
    expect(Object.fromEntries(whole.counts)).toEqual({10: 5000, 20: 50, 30: 80, 40: 900});
    expect(whole.cuts).toEqual([]);
  });

  it('gives every process its floor when the floors alone pass the budget', () => {
    const {counts, cuts} = rowsByPid([10, 20, 30, 40], {floor: 100, ceiling: 2000, budget: 10});
    expect(counts).toEqual(
      new Map([
        [20, 50],
        [30, 80],
        [10, 100],
        [40, 100],
      ]),
    );
    expect(cuts.map((c) => [c.pid, c.read])).toEqual([
      [10, 100],
      [40, 100],
    ]);
  });
});
