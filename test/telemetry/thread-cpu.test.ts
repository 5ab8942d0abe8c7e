import {spawnSync} from 'node:child_process';
import {readFileSync} from 'node:fs';
import {join} from 'node:path';

import {describe, expect, it} from 'vitest';

import {classifyThreads, nodeThreadLayout, parseSchedstat, parseTaskStat, type TaskStat, threadCpuOf} from '../../src/telemetry/thread-cpu.js';
import {ROOT} from '../helpers/cli.js';

/** A stat line as the kernel writes it: pid, (comm), state, then fields 4–52 with utime, stime and starttime placed. */
function statLine(tid: number, comm: string, utime: number, stime: number, start: number, state = 'S'): string {
  const rest = Array.from({length: 50}, (_, i) => String(i + 4));
  rest[14 - 4] = String(utime);
  rest[15 - 4] = String(stime);
  rest[22 - 4] = String(start);
  return `${tid} (${comm}) ${state} ${rest.join(' ')}\n`;
}

const task = (tid: number, start: number, ticks = 0, comm = 'node'): TaskStat => ({tid, comm, state: 'S', utimeTicks: ticks, stimeTicks: 0, startTicks: start});

describe('parseTaskStat', () => {
  it('reads tid, comm, state, utime, stime and start time', () => {
    expect(parseTaskStat(statLine(4242, 'node', 17, 3, 99_000, 'R'))).toEqual({
      tid: 4242,
      comm: 'node',
      state: 'R',
      utimeTicks: 17,
      stimeTicks: 3,
      startTicks: 99_000,
    });
  });

  it('a name with spaces and parentheses ends at the last ")" of the line', () => {
    for (const comm of ['a b', ') S 1 2 3 (', 'x) R 9 9 (y', '((', '))', '', ' ', 'sleep) (1']) {
      const parsed = parseTaskStat(statLine(7, comm, 5, 6, 7));
      expect(parsed, comm).toMatchObject({tid: 7, comm, state: 'S', utimeTicks: 5, stimeTicks: 6, startTicks: 7});
    }
  });

  it('a real /proc/self/stat line parses, with this process id', () => {
    expect(parseTaskStat(readFileSync('/proc/self/stat', 'latin1'))?.tid).toBe(process.pid);
  });

  it('refuses what is not a stat line', () => {
    for (const line of [
      '',
      'garbage',
      '12 node S 1 2 3',
      '(node) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20',
      '12 (node) S 1 2 3',
      statLine(0, 'node', 1, 1, 1),
      statLine(-3, 'node', 1, 1, 1),
      statLine(12, 'node', -1, 1, 1),
      statLine(12, 'node', 1.5, 1, 1),
      statLine(12, 'node', 1, 1, 1, '?'),
      statLine(12, 'node', 1, 1, 1).replace(' 13 1 1 ', ' 13 x 1 '),
      statLine(12, 'node', 1, 1, 1).replace('(node)', '(node'),
    ]) {
      expect(parseTaskStat(line), JSON.stringify(line)).toBeUndefined();
    }
  });
});

describe('nodeThreadLayout', () => {
  it("Node 20's defaults: a scheduler and 4 platform workers, the inspector, a pool of 4", () => {
    expect(nodeThreadLayout({execArgv: [], env: {}, inspector: true})).toEqual({platformThreads: 5, inspectorThreads: 1, threadpoolSize: 4});
  });

  it('--v8-pool-size from the command line over NODE_OPTIONS; 0 means the parallelism less one, at least one', () => {
    expect(nodeThreadLayout({execArgv: ['--v8-pool-size=2'], env: {NODE_OPTIONS: '--v8-pool-size=7'}}).platformThreads).toBe(3);
    expect(nodeThreadLayout({execArgv: ['--v8-pool-size', '6'], env: {}}).platformThreads).toBe(7);
    expect(nodeThreadLayout({execArgv: [], env: {NODE_OPTIONS: '--max-old-space-size=100  --v8-pool-size=7'}}).platformThreads).toBe(8);
    expect(nodeThreadLayout({execArgv: ['--v8-pool-size=0'], env: {}, parallelism: 8}).platformThreads).toBe(8);
    expect(nodeThreadLayout({execArgv: ['--v8-pool-size=0'], env: {}, parallelism: 1}).platformThreads).toBe(2);
    expect(nodeThreadLayout({execArgv: ['--v8-pool-size=x'], env: {}}).platformThreads).toBe(5);
  });

  it('UV_THREADPOOL_SIZE as libuv reads it: 1–1024, else 4', () => {
    const pool = (value: string): number => nodeThreadLayout({execArgv: [], env: {UV_THREADPOOL_SIZE: value}}).threadpoolSize;
    expect([pool('2'), pool('0'), pool('-1'), pool('x'), pool('5000'), pool('')]).toEqual([2, 4, 4, 4, 1024, 4]);
  });
});

describe('classifyThreads', () => {
  const layout = {platformThreads: 2, inspectorThreads: 1, threadpoolSize: 2};

  it('main by pid, then by start order (start time, then tid): platform, inspector, pool, later', () => {
    // Listed out of order; 500 started first in its tick, 90 (a wrapped tid) in a later tick.
    const tasks = [task(100, 10), task(90, 30), task(103, 10), task(104, 10), task(102, 10), task(101, 10), task(500, 9)];
    expect(Object.fromEntries(classifyThreads(100, tasks, layout))).toEqual({
      100: 'main',
      500: 'v8_platform',
      101: 'v8_platform',
      102: 'other',
      103: 'libuv_pool',
      104: 'libuv_pool',
      90: 'later',
    });
  });

  it("fewer threads after Node's own than the pool holds: the pool has not started, they are later threads", () => {
    const tasks = [task(100, 1), task(101, 1), task(102, 1), task(103, 1), task(104, 5)];
    expect(classifyThreads(100, tasks, layout).get(104)).toBe('later');
  });

  it('a pool named libuv-worker is taken by name, and no other thread takes its places', () => {
    const tasks = [task(100, 1), task(101, 1), task(102, 1), task(103, 1), task(104, 2, 0, 'libuv-worker'), task(105, 3), task(106, 3)];
    expect(Object.fromEntries(classifyThreads(100, tasks, layout))).toMatchObject({104: 'libuv_pool', 105: 'later', 106: 'later'});
  });
});

describe('threadCpuOf', () => {
  const layout = {platformThreads: 1, inspectorThreads: 0, threadpoolSize: 1};

  it('sums ticks by class in ms; the process total beyond the live threads is exited threads', () => {
    const cpu = threadCpuOf(100, 600, [task(100, 1, 30), task(101, 1, 12), task(102, 2, 3), task(103, 3, 5)], layout);
    expect(cpu).toEqual({
      cpu_ms: 600,
      cpu_main_ms: 300,
      cpu_v8_platform_ms: 120,
      cpu_libuv_pool_ms: 30,
      cpu_later_threads_ms: 50,
      cpu_other_ms: 0,
      cpu_exited_threads_ms: 100,
      threads: 4,
    });
  });

  it('a thread with a schedstat run time counts that (ns), not its ticks; the classes always add up to the total', () => {
    const cpu = threadCpuOf(
      100,
      40.4,
      [
        {...task(100, 1, 3), runtimeNs: 33_400_000},
        {...task(101, 1, 9), runtimeNs: 1_600_000},
      ],
      layout,
    );
    expect(cpu).toMatchObject({cpu_ms: 40, cpu_main_ms: 33, cpu_v8_platform_ms: 2, cpu_exited_threads_ms: 5});
    // A total read before the threads (smaller than their sum) is raised to it: nothing exited.
    expect(threadCpuOf(100, 10, [task(100, 1, 3)], layout)).toMatchObject({cpu_ms: 30, cpu_main_ms: 30, cpu_exited_threads_ms: 0});
  });
});

describe('parseSchedstat', () => {
  it('reads the run time (ns) of a schedstat line; undefined for anything else', () => {
    expect(parseSchedstat('123456789 2000 17\n')).toBe(123_456_789);
    for (const text of ['', 'x 1 2', '-5 1 2', '1.5 1 2', '99999999999999999999 1 2']) expect(parseSchedstat(text), text).toBeUndefined();
  });
});

describe('readThreadCpu in a real Node process', () => {
  it("puts libuv's pool work, a worker thread's and the main thread's where they ran", () => {
    // The same fixed work (≈ 170–350 CPU-ms of PBKDF2 on this machine) on each thread: CPU, not wall time, so a loaded machine
    // does not shrink it; tick accounting is 10 ms.
    const script = `
      import {pbkdf2, pbkdf2Sync} from 'node:crypto';
      import {Worker} from 'node:worker_threads';
      const {readThreadCpu} = await import(${JSON.stringify(join(ROOT, 'dist', 'src', 'telemetry', 'thread-cpu.js'))});
      const work = [200_000, 32, 'sha512'];
      await new Promise((resolve, reject) => pbkdf2('secret', 'salt', ...work, (e) => (e ? reject(e) : resolve())));
      const worker = new Worker('import {parentPort} from "node:worker_threads"; import {pbkdf2Sync} from "node:crypto"; pbkdf2Sync("secret", "salt", 200000, 32, "sha512"); parentPort.postMessage(1); setInterval(() => {}, 1000);', {eval: true});
      await new Promise((resolve) => worker.once('message', resolve));
      pbkdf2Sync('secret', 'salt', ...work);
      process.stdout.write(JSON.stringify(readThreadCpu()));
      await worker.terminate();`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {encoding: 'utf8', timeout: 60_000});
    expect(result.status, result.stderr).toBe(0);
    const cpu = JSON.parse(result.stdout) as Record<string, number>;
    // Each share is ≥ 170 CPU-ms when measured alone; under load one was counted at 95 (a CPU at another clock
    // does the fixed work in less time), so the floor only says the work was counted there at all.
    for (const key of ['cpu_libuv_pool_ms', 'cpu_later_threads_ms', 'cpu_main_ms']) expect(cpu[key], key).toBeGreaterThanOrEqual(50);
    // The pool's and the worker's work was not counted on the main thread (which did one share and its start-up).
    expect(cpu.cpu_main_ms).toBeLessThan((cpu.cpu_libuv_pool_ms ?? 0) + (cpu.cpu_later_threads_ms ?? 0));
    const classes = ['cpu_main_ms', 'cpu_v8_platform_ms', 'cpu_libuv_pool_ms', 'cpu_later_threads_ms', 'cpu_other_ms', 'cpu_exited_threads_ms'];
    expect(classes.reduce((sum, key) => sum + (cpu[key] ?? Number.NaN), 0)).toBe(cpu.cpu_ms);
    expect(cpu.threads).toBeGreaterThanOrEqual(12);
  }, 60_000);
});
