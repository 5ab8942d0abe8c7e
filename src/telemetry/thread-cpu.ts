// Where this process's CPU went, by thread, for the phase timings of `detect --log-level debug`
// (docs/performance.md, "CPU by thread"). A run's CPU (user + system, every thread) is well above the wall time of
// its one JavaScript thread: V8's platform threads collect garbage and compile beside it, libuv's pool does
// asynchronous file system and crypto work, a rule worker is a thread of its own. Linux keeps each thread's CPU
// in /proc/self/task/<tid>/stat (ticks) and schedstat (ns); Node 20 names none of its threads (every `comm` is the executable's), so a
// thread's class comes from the order Node starts them in (src/node.cc, src/node_platform.cc, libuv's
// threadpool.c):
//   1. the main thread (its tid is the pid);
//   2. the V8 platform: one delayed-task scheduler, then `--v8-pool-size` workers (default 4; 0 or less means
//      the machine's parallelism less one, at least one). Garbage collection helpers, concurrent marking,
//      background compilation (JavaScript tier-up and WebAssembly) run here;
//   3. the inspector's I/O thread (a build with the inspector: Node's own), idle unless a debugger attaches;
//   4. libuv's thread pool, all at once on its first use: UV_THREADPOOL_SIZE threads (default 4, 1–1024);
//   5. anything later: worker threads (the rule workers) and any other thread a library starts.
// A newer Node or libuv that names its threads (libuv ≥ 1.50 calls its pool's `libuv-worker`) is recognised by
// name first. The garbage collector's main-thread pauses come from perf_hooks' `gc` entries.
import {readdirSync, readFileSync} from 'node:fs';
import {availableParallelism} from 'node:os';
import {type PerformanceEntry, constants as perfConstants, PerformanceObserver} from 'node:perf_hooks';

import {parseStat} from '../collect/parsers.js';

/** Linux's USER_HZ: the unit of utime and stime in /proc (100 on every architecture Node supports). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** The fields of one /proc/<pid>/task/<tid>/stat line this module reads (proc(5)). */
export interface TaskStat {
  /** Field 1: the thread id. */
  readonly tid: number;
  /** Field 2: the thread's name, without the parentheses (it may itself hold spaces and parentheses). */
  readonly comm: string;
  /** Field 3: the state letter (R, S, D, Z, …). */
  readonly state: string;
  /** Fields 14 and 15: CPU in user and kernel mode, clock ticks. */
  readonly utimeTicks: number;
  readonly stimeTicks: number;
  /** Field 22: when the thread started, clock ticks after boot. */
  readonly startTicks: number;
  /** Its time on a CPU from /proc/<pid>/task/<tid>/schedstat, ns, when read (more precise than the ticks). */
  readonly runtimeNs?: number;
}

/**
 * Parse one stat line of /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat (proc(5)). The name in field 2 is
 * whatever the thread set (up to 15 bytes, any of them a space or a parenthesis), so it ends at the LAST `)` of
 * the line; the fields after it are numbers and a state letter. Returns undefined for a line that is not one.
 */
export function parseTaskStat(line: string): TaskStat | undefined {
  // The split itself is the process table's (parseStat); a thread's line must also carry a positive id, a state
  // letter and whole, non-negative tick counts.
  const stat = parseStat(line.trimEnd());
  if (stat === null || !Number.isSafeInteger(stat.pid) || stat.pid <= 0 || !/^[A-Za-z]$/.test(stat.state)) return undefined;
  const {utimeTicks, stimeTicks, startTicks} = stat;
  if (![utimeTicks, stimeTicks, startTicks].every((n) => Number.isSafeInteger(n) && n >= 0)) return undefined;
  return {tid: stat.pid, comm: stat.comm, state: stat.state, utimeTicks, stimeTicks, startTicks};
}

/** What a thread does, by the order Node started it in (see the header). */
export type ThreadClass = 'main' | 'v8_platform' | 'libuv_pool' | 'later' | 'other';

/** Node's threads before any of the program's: how many of each (see the header). */
export interface NodeThreadLayout {
  /** The V8 platform's threads: the delayed-task scheduler and the workers. */
  readonly platformThreads: number;
  /** The inspector's I/O thread: 1 in a build with the inspector, else 0. */
  readonly inspectorThreads: number;
  /** libuv's thread pool once started. */
  readonly threadpoolSize: number;
}

/** The value of the last `--v8-pool-size` (`=N` or ` N`) in `args`, else undefined. */
function poolSizeOption(args: readonly string[]): number | undefined {
  let value: number | undefined;
  args.forEach((arg, index) => {
    if (arg.startsWith('--v8-pool-size=')) value = Number(arg.slice('--v8-pool-size='.length));
    else if (arg === '--v8-pool-size') value = Number(args[index + 1]);
  });
  return value === undefined || !Number.isFinite(value) ? undefined : Math.trunc(value);
}

/**
 * This process's layout: `--v8-pool-size` from NODE_OPTIONS then the command line (Node's order: the command
 * line wins), UV_THREADPOOL_SIZE from the environment (libuv reads it when the pool starts; clamped to 1–1024).
 */
export function nodeThreadLayout(
  options: {execArgv?: readonly string[]; env?: NodeJS.ProcessEnv; parallelism?: number; inspector?: boolean} = {},
): NodeThreadLayout {
  const env = options.env ?? process.env;
  const fromOptions = poolSizeOption((env.NODE_OPTIONS ?? '').split(/\s+/).filter((arg) => arg !== ''));
  const requested = poolSizeOption(options.execArgv ?? process.execArgv) ?? fromOptions ?? 4;
  const workers = requested > 0 ? requested : Math.max(1, (options.parallelism ?? availableParallelism()) - 1);
  const uv = Number.parseInt(env.UV_THREADPOOL_SIZE ?? '', 10);
  return {
    platformThreads: 1 + workers,
    inspectorThreads: (options.inspector ?? process.features.inspector) ? 1 : 0,
    threadpoolSize: Number.isFinite(uv) && uv > 0 ? Math.min(uv, 1024) : 4,
  };
}

const classesHavePool = (classes: ReadonlyMap<number, ThreadClass>): boolean => [...classes.values()].includes('libuv_pool');

/**
 * Each thread's class: the one whose tid is `pid` is the main thread; a thread named `libuv-worker` is libuv's
 * pool; the others, in the order they started (start time, then tid), take the layout's places (platform,
 * inspector, pool), and those after them are `later`. Fewer threads after Node's own than the pool's size means
 * the pool has not started (libuv starts all of it at once): they are all `later`.
 */
export function classifyThreads(pid: number, tasks: readonly TaskStat[], layout: NodeThreadLayout): Map<number, ThreadClass> {
  const classes = new Map<number, ThreadClass>();
  const ordered = tasks
    .filter((task) => {
      if (task.tid === pid) classes.set(task.tid, 'main');
      else if (task.comm === 'libuv-worker') classes.set(task.tid, 'libuv_pool');
      else return true;
      return false;
    })
    .sort((a, b) => a.startTicks - b.startTicks || a.tid - b.tid);
  const afterNode = layout.platformThreads + layout.inspectorThreads;
  // libuv starts its whole pool at once: fewer threads than that after Node's own means it has not started.
  const poolStarted = !classesHavePool(classes) && ordered.length - afterNode >= layout.threadpoolSize;
  ordered.forEach((task, index) => {
    const kind: ThreadClass =
      index < layout.platformThreads
        ? 'v8_platform'
        : index < afterNode
          ? 'other'
          : poolStarted && index < afterNode + layout.threadpoolSize
            ? 'libuv_pool'
            : 'later';
    classes.set(task.tid, kind);
  });
  return classes;
}

/** CPU by thread class, ms (user + system), and the whole process's. */
export interface ThreadCpu {
  /** The whole process, every thread that ever ran (getrusage). */
  readonly cpu_ms: number;
  readonly cpu_main_ms: number;
  /** V8's platform threads: garbage collection helpers, concurrent marking, background compilation. */
  readonly cpu_v8_platform_ms: number;
  /** libuv's thread pool: asynchronous fs, crypto, zlib, dns.lookup. */
  readonly cpu_libuv_pool_ms: number;
  /** Threads started after Node's own: worker threads (rule workers), a library's threads. */
  readonly cpu_later_threads_ms: number;
  /** The inspector's thread and any thread not accounted for by the layout. */
  readonly cpu_other_ms: number;
  /**
   * Threads that ended before the reading (a finished worker; node:vm's watchdog, one thread per timed script run):
   * the process's total less the live threads'. Where the kernel keeps no schedstat, each live thread's figure is
   * rounded down to a 10 ms tick, and that rounding counts here too.
   */
  readonly cpu_exited_threads_ms: number;
  /** Live threads at the reading. */
  readonly threads: number;
}

const ticksToMs = (ticks: number): number => (ticks * 1000) / CLOCK_TICKS_PER_SECOND;

/** A thread's CPU, ms: its scheduler run time when known (ns precision), else its stat ticks. */
const taskCpuMs = (task: TaskStat): number => (task.runtimeNs === undefined ? ticksToMs(task.utimeTicks + task.stimeTicks) : task.runtimeNs / 1e6);

/**
 * Sum `tasks` by class; `processMs` is the whole process's CPU (which also holds exited threads). Each figure is
 * rounded to the ms. Pure: the readings are given.
 */
export function threadCpuOf(pid: number, processMs: number, tasks: readonly TaskStat[], layout: NodeThreadLayout): ThreadCpu {
  const classes = classifyThreads(pid, tasks, layout);
  const sums: Record<ThreadClass, number> = {main: 0, v8_platform: 0, libuv_pool: 0, later: 0, other: 0};
  for (const task of tasks) sums[classes.get(task.tid) ?? 'other'] += taskCpuMs(task);
  const rounded = {
    cpu_main_ms: Math.round(sums.main),
    cpu_v8_platform_ms: Math.round(sums.v8_platform),
    cpu_libuv_pool_ms: Math.round(sums.libuv_pool),
    cpu_later_threads_ms: Math.round(sums.later),
    cpu_other_ms: Math.round(sums.other),
  };
  const live = Object.values(rounded).reduce((sum, ms) => sum + ms, 0);
  const total = Math.max(Math.round(processMs), live);
  return {cpu_ms: total, ...rounded, cpu_exited_threads_ms: total - live, threads: tasks.length};
}

/** The first field of /proc/<pid>/task/<tid>/schedstat: the thread's time on a CPU, ns (undefined without it). */
export function parseSchedstat(text: string): number | undefined {
  const runtime = Number(text.split(' ', 1)[0]);
  return Number.isSafeInteger(runtime) && runtime >= 0 && /^\d+ /.test(text) ? runtime : undefined;
}

/**
 * This process's CPU by thread class, now (Linux; undefined where /proc/self/task cannot be read). Each thread's
 * CPU is its scheduler run time (schedstat, ns) where the kernel keeps it, else its stat ticks (10 ms, rounded
 * down per thread); the process's is getrusage's (process.cpuUsage, every thread that ever ran). A thread that
 * ends between the listing and its reading is left out (its CPU then counts as exited).
 */
export function readThreadCpu(): ThreadCpu | undefined {
  const tasks: TaskStat[] = [];
  const usage = process.cpuUsage();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        const task = parseTaskStat(readFileSync(`/proc/self/task/${tid}/stat`, 'latin1'));
        if (task === undefined) continue;
        let runtimeNs: number | undefined;
        try {
          runtimeNs = parseSchedstat(readFileSync(`/proc/self/task/${tid}/schedstat`, 'latin1'));
        } catch {
          // a kernel without schedstat: the stat ticks
        }
        tasks.push(runtimeNs === undefined ? task : {...task, runtimeNs});
      } catch {
        // ended meanwhile
      }
    }
  } catch {
    return undefined;
  }
  if (tasks.length === 0) return undefined;
  return threadCpuOf(process.pid, (usage.user + usage.system) / 1000, tasks, nodeThreadLayout());
}

/** Garbage collections seen on the main thread: how many of each kind, and their pauses' total, ms. */
export interface GcTotals {
  readonly gc_count: number;
  readonly gc_ms: number;
  readonly gc_scavenges: number;
  readonly gc_mark_compacts: number;
}

/**
 * Start counting this thread's garbage collections (perf_hooks `gc` entries: one per collection, its duration
 * the main thread's pause; the work of helper threads and of concurrent marking is not in it). Returns the
 * reading function, which also stops the count. Collections before the call are not seen.
 */
export function countGarbageCollections(): () => GcTotals {
  const totals = {gc_count: 0, gc_ms: 0, gc_scavenges: 0, gc_mark_compacts: 0};
  const add = (entries: readonly PerformanceEntry[]): void => {
    for (const entry of entries) {
      totals.gc_count++;
      totals.gc_ms += entry.duration;
      const kind = (entry as {detail?: {kind?: number} | null}).detail?.kind;
      if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) totals.gc_scavenges++;
      else if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) totals.gc_mark_compacts++;
    }
  };
  const observer = new PerformanceObserver((list) => add(list.getEntries()));
  observer.observe({entryTypes: ['gc']});
  return () => {
    add(observer.takeRecords());
    observer.disconnect();
    return {...totals, gc_ms: Math.round(totals.gc_ms)};
  };
}
