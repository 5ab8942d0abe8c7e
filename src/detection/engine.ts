// DetectionEngine: runs validated rule SQL in lanes: the in-process lane (in-process-lane.ts: the main thread,
// in a sql.js instance of its own) for a snapshot's bytes, and worker threads. Memory first: a run over bytes
// starts on the in-process lane alone and adds worker lanes only when it falls behind its deadline (runTasks,
// "Lanes"). Each lane loads the snapshot once and runs many rules; a rule past its timeout is stopped (a
// worker with terminate(), the in-process lane by node:vm's watchdog) and its lane replaced, and the whole run
// has a deadline. No rule can starve the others: every rule first gets a fair share of the deadline, and only
// the rules that overran it get the rest of their own timeout afterwards.
import {cpus} from 'node:os';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';
import {Worker} from 'node:worker_threads';

import {embeddedAsset, PACKAGE_ROOT} from '../package-files.js';
import {collectGarbage} from '../util/gc.js';
import {MAX_TIMER_MS} from '../util/time.js';
import type {FilePages} from '../storage/file-pages.js';
import {inSharedMemory, isShared} from '../storage/shared-bytes.js';
import type {SnapshotBuild, SnapshotContent} from '../storage/snapshot-build.js';
import {InProcessSlot} from './in-process-lane.js';
import type {WorkerRequest, WorkerResponse} from './worker-protocol.js';
import {mapSteps, runSliced} from '../util/steps.js';

/**
 * A snapshot as the workers receive it: a snapshot file's bytes, an open snapshot file's pages (each lane
 * reads them from disk: storage/file-pages.ts), or a live snapshot's rows that each worker builds its
 * database from (storage/snapshot-build.ts), plus the named lists (`list_<name>` tables).
 */
export type SnapshotPayload = {
  /** Identifies the snapshot so a worker loads each one once. */
  readonly id: string;
  readonly lists: Readonly<Record<string, readonly string[]>>;
} & ({readonly bytes: Uint8Array} | {readonly pages: FilePages} | {readonly build: SnapshotBuild});

/** The size of a payload's snapshot file, bytes; undefined for rows to build from. */
function fileSize(snapshot: SnapshotPayload): number | undefined {
  if ('bytes' in snapshot) return snapshot.bytes.byteLength;
  if ('pages' in snapshot) return snapshot.pages.size;
  return undefined;
}

export interface QueryTask {
  /** Caller's key (a rule id, or rule id + test case). */
  readonly key: string;
  readonly sql: string;
  readonly timeoutMs: number;
  readonly snapshot: SnapshotPayload;
}

export type TaskStatus = 'ok' | 'error' | 'timeout' | 'not_run';

export interface TaskOutcome {
  readonly key: string;
  readonly status: TaskStatus;
  readonly columns: readonly string[];
  readonly rows: readonly Record<string, string | number | null>[];
  /** True when the result was cut at `maxRows`. */
  readonly truncated: boolean;
  /** Query time inside the worker (ok) or wall time until it was stopped (timeout). */
  readonly elapsedMs: number;
  readonly error?: string;
}

export interface EngineOptions {
  /** Worker threads (default: the number of CPUs). */
  readonly workers?: number | null;
  /** Rows kept per query; more are dropped and the outcome says `truncated`. */
  readonly maxRows?: number;
  /**
   * Snapshot files below this many bytes run in the in-process lane when one lane serves the run (default:
   * any size — one lane on a worker would cost a Node environment and its start for nothing); 0: always
   * workers.
   */
  readonly inProcessBelowBytes?: number;
}

export const DEFAULT_MAX_ROWS = 10_000;

/**
 * Snapshot bytes that justify one more worker thread. Starting a worker costs ≈ 100 ms of CPU, which the
 * sub-millisecond queries of a small snapshot never win back. Measured on 2 cores with the built-in rules:
 * 366 processes (0.6 MB): one worker 521 ms, two 555 ms; 10,000 processes (11 MB): two 1.15 s, one 1.43 s.
 */
export const SNAPSHOT_BYTES_PER_EXTRA_WORKER = 4 * 1024 * 1024;

/** Workers worth running for a snapshot of this size: one, plus one per SNAPSHOT_BYTES_PER_EXTRA_WORKER. */
export function workersForSnapshot(bytes: number): number {
  return 1 + Math.floor(bytes / SNAPSHOT_BYTES_PER_EXTRA_WORKER);
}

/**
 * A rule worker thread. The single executable runs its embedded, bundled worker (asset `rule-worker.js`) from
 * memory; the npm install the compiled file in dist/ (from TypeScript sources, in tests, the built copy).
 */
function startWorker(): Worker {
  const bundled = embeddedAsset('rule-worker.js');
  if (bundled !== undefined) return new Worker(Buffer.from(bundled).toString('utf8'), {eval: true});
  if (import.meta.url.endsWith('.ts')) return new Worker(pathToFileURL(join(PACKAGE_ROOT, 'dist', 'src', 'detection', 'rule-worker.js')));
  return new Worker(new URL('./rule-worker.js', import.meta.url));
}

class Deadline extends Error {}

/** A lane's runner: a worker thread, or the in-process lane. */
interface RuleSlot {
  loadedSnapshot: string | undefined;
  /** Milliseconds from start to ready (a worker: sql.js and the regex engine loaded); undefined until then or when nothing starts. */
  readonly readyMs: number | undefined;
  load(snapshotId: string, content: SnapshotContent, lists: Readonly<Record<string, readonly string[]>>): Promise<WorkerResponse>;
  /** Run a query; `limitMs` is enforced by the in-process lane itself (a worker is stopped by the engine's timer). */
  run(taskId: number, sql: string, maxRows: number, limitMs: number): Promise<WorkerResponse> | WorkerResponse;
  terminate(): Promise<void>;
}

/** One worker thread and the promise of its next message. */
class WorkerSlot implements RuleSlot {
  readonly worker: Worker;
  loadedSnapshot: string | undefined;
  private waiting: {resolve: (m: WorkerResponse) => void; reject: (e: Error) => void} | undefined;
  private readonly ready: Promise<void>;
  private failure: Error | undefined;
  /** Milliseconds from start to ready (sql.js and the regex engine loaded); undefined until then. */
  readyMs: number | undefined;

  constructor() {
    const started = performance.now();
    this.worker = startWorker();
    this.worker.unref();
    let resolveReady: () => void = () => undefined;
    let rejectReady: (e: Error) => void = () => undefined;
    this.ready = new Promise<void>((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    // A rejected ready promise must not become an unhandled rejection when nobody awaits it.
    this.ready.catch(() => undefined);
    this.worker.on('message', (message: WorkerResponse) => {
      if (message.type === 'ready') {
        this.readyMs = performance.now() - started;
        resolveReady();
        return;
      }
      if (message.type === 'failed' && message.taskId === null && this.waiting === undefined) {
        rejectReady(new Error(message.message));
        return;
      }
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.resolve(message);
    });
    const fail = (error: Error): void => {
      this.failure = error;
      rejectReady(error);
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.reject(error);
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`rule worker exited (${code})`)));
  }

  load(snapshotId: string, content: SnapshotContent, lists: Readonly<Record<string, readonly string[]>>): Promise<WorkerResponse> {
    return this.request({type: 'load', snapshotId, content, lists});
  }

  run(taskId: number, sql: string, maxRows: number): Promise<WorkerResponse> {
    return this.request({type: 'run', taskId, sql, maxRows});
  }

  private async request(message: WorkerRequest): Promise<WorkerResponse> {
    await this.ready;
    if (this.failure !== undefined) throw this.failure;
    return new Promise<WorkerResponse>((resolve, reject) => {
      this.waiting = {resolve, reject};
      this.worker.postMessage(message);
    });
  }

  async terminate(): Promise<void> {
    this.worker.removeAllListeners('exit');
    this.worker.on('exit', () => undefined);
    await this.worker.terminate();
  }
}

/** Runs queries in sandbox workers: per-query timeout, run deadline, rows capped. */
export class DetectionEngine {
  readonly workerCount: number;
  readonly maxRows: number;
  readonly inProcessBelowBytes: number;
  private slots: (WorkerSlot | undefined)[] = [];
  /** The in-process lane, when a run uses it (replaced after a query it stopped). */
  private inProcess: InProcessSlot | undefined;
  /** In-process lanes made in this engine's life (a fresh sql.js instance each; reported by the tests). */
  inProcessLanes = 0;
  private nextTaskId = 0;
  /** Workers started, replaced after a timeout, in this engine's life (reported by the benchmark). */
  workersStarted = 0;
  /** The most lanes (the in-process lane counted) that ran at once in this engine's life. */
  peakLanes = 0;
  /** Each time a run added worker lanes because it fell behind: when (ms into that run) and the lanes then running. */
  readonly escalations: {readonly atMs: number; readonly lanes: number}[] = [];
  /** The file bytes a worker exported after building the latest SnapshotBuild: what later workers load instead. */
  private built: {readonly id: string; readonly bytes: Uint8Array} | undefined;
  /** The latest snapshot's bytes copied into shared memory for the workers, when the caller's were not there. */
  private shared: {readonly id: string; readonly bytes: Uint8Array} | undefined;
  /** Per snapshot id, the longest a worker took to start and load it: what replacing a stopped worker costs. */
  private readonly restartMs = new Map<string, number>();

  constructor(options: EngineOptions = {}) {
    this.workerCount = Math.max(1, options.workers ?? cpus().length);
    this.maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
    this.inProcessBelowBytes = options.inProcessBelowBytes ?? Number.POSITIVE_INFINITY;
  }

  /**
   * Start workers now (sql.js initialises in each), so their start-up overlaps collection: `count` of them
   * (at most `workerCount`; default all). Workers already running are kept.
   */
  start(count = this.workerCount): this {
    while (this.slots.length < Math.min(count, this.workerCount)) this.slots.push(this.spawn());
    return this;
  }

  private slot(index: number, inProcess: boolean): RuleSlot {
    if (inProcess) {
      if (this.inProcess === undefined) {
        // A lane dropped after a stopped query leaves its sql.js instance (its memory and a page cache as large
        // as the snapshot) for the garbage collector: collected before the new instance builds its own, so
        // the two are never resident together (the run that dropped it has returned by now).
        if (this.inProcessLanes > 0) collectGarbage();
        this.inProcess = new InProcessSlot();
        this.inProcessLanes++;
      }
      return this.inProcess;
    }
    let slot = this.slots[index];
    if (slot === undefined) {
      slot = this.spawn();
      this.slots[index] = slot;
    }
    return slot;
  }

  private spawn(): WorkerSlot {
    this.workersStarted++;
    return new WorkerSlot();
  }

  /**
   * Run every task; outcomes come back in task order. `deadlineMs` bounds the whole run; `workers` caps
   * the lanes used (at most `workerCount`, and never more than there are tasks: a worker is a Node
   * environment with its own sql.js, too dear to start for nothing; default all).
   *
   * Lanes, memory first (docs/rules-sql.md, "At run time"; docs/performance.md, "Memory at scale"): when
   * every task's snapshot is a file, its bytes or its pages (below `inProcessBelowBytes`) and no worker was started ahead
   * (`start()`), the run starts with ONE lane, the in-process lane, which costs no Node environment and no
   * second copy of anything. After each task that finishes on its first turn it projects the work left:
   * the mean time of the tasks finished so far (ms of lane time, loading excluded) times the tasks still
   * waiting for a first turn, plus what each task queued for a second turn already ran (it needs at least
   * that again); and adds worker lanes, up to the cap, when that work spread over the lanes running
   * would pass ESCALATION_SHARE of what is left of the deadline (`lanesNeeded`; once a sample has run:
   * PROJECTION_SAMPLE_TASKS tasks, or PROJECTION_SAMPLE_SHARE of the deadline). Never without a deadline:
   * nothing is then behind. The in-process lane keeps running beside the workers (they read the bytes in
   * shared memory, copied there at the first worker's load when they were not), so the cap is the lanes at
   * once, the main thread counted. A worker lane loads its snapshot before it takes a task, so no task
   * waits on a worker's start. While an in-process query runs the main thread is busy: a worker's
   * finished task and its timer are seen only between in-process queries (each at most its share).
   * Workers a caller started ahead, or a run whose tasks are not all bytes, use every lane from the start.
   *
   * Scheduling, so that no task can starve another (docs/rules-sql.md, "At run time"): when there are more
   * tasks than lanes and a deadline, every task first runs with a budget of its fair share of what is
   * left of the deadline (`firstPassBudget` over the lanes running, worked out when its query is sent, so the share grows as quick
   * tasks finish, and never below what replacing a lane costs where the share allows), at most its own
   * timeout. A task that overruns that share is stopped (its lane replaced) and queued again; the queued tasks get their whole timeout once every task has had its
   * first turn, within what is left of the deadline. So a slow or hostile task costs the others at most its
   * share, and each task that does not finish is reported: `timeout` when it ran (stopped by its own
   * timeout, or by the deadline while running or waiting for its second turn), `not_run` when the deadline
   * passed before it started.
   */
  async runTasks(tasks: readonly QueryTask[], options: {deadlineMs?: number; workers?: number} = {}): Promise<TaskOutcome[]> {
    const maxLanes = Math.max(1, Math.min(this.workerCount, options.workers ?? this.workerCount, tasks.length));
    const bytesOnly = tasks.every((task) => (fileSize(task.snapshot) ?? Number.POSITIVE_INFINITY) < this.inProcessBelowBytes);
    const inProcess = bytesOnly && (maxLanes === 1 || !this.slots.some((slot) => slot !== undefined));
    const escalates = inProcess && maxLanes > 1 && options.deadlineMs !== undefined;
    if (!inProcess) this.start(maxLanes);
    /** Lanes running (the in-process lane counted); grows up to maxLanes when the run falls behind. */
    let lanes = inProcess ? 1 : maxLanes;
    this.peakLanes = Math.max(this.peakLanes, lanes);
    const deadlineAt = options.deadlineMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + options.deadlineMs;
    const outcomes: (TaskOutcome | undefined)[] = tasks.map(() => undefined);
    const startedAt = performance.now();
    let deadlineHit = false;
    let deadlineTimer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      if (options.deadlineMs !== undefined) {
        deadlineTimer = setTimeout(() => {
          deadlineHit = true;
          reject(new Deadline());
        }, timerDelay(options.deadlineMs));
      }
    });
    // Lanes waiting for work (another lane's task may still overrun and be queued again) wake on every change.
    const waiting: (() => void)[] = [];
    const wakeAll = (): void => {
      for (const wake of waiting.splice(0)) wake();
    };
    deadline.catch(wakeAll);
    // Group tasks of the same snapshot so a worker loads each snapshot as rarely as possible.
    const firstPass = tasks
      .map((_task, index) => index)
      .sort((a, b) => (tasks[a] as QueryTask).snapshot.id.localeCompare((tasks[b] as QueryTask).snapshot.id) || a - b);
    /** Tasks that overran their first-pass share, with the time they ran: their second turn. */
    const secondPass: {index: number; ranMs: number}[] = [];
    /** Tasks finished on their first turn and the lane time they took (ms, loading excluded): the escalation's projection. */
    const finished = {count: 0, ms: 0};
    let running = 0;
    const laneRuns: Promise<void>[] = [];
    const lane = async (laneIndex: number): Promise<void> => {
      const onMainThread = inProcess && laneIndex === 0;
      const slotIndex = inProcess ? laneIndex - 1 : laneIndex;
      if (!onMainThread && escalates) {
        // A worker added mid-run loads the next task's snapshot before it takes a task: the in-process lane
        // keeps running tasks meanwhile.
        const next = tasks[firstPass[0] ?? secondPass[0]?.index ?? -1];
        if (next !== undefined) await Promise.race([this.loadInto(this.slot(slotIndex, false), next, false), deadline]).catch(() => undefined);
      }
      while (!deadlineHit) {
        const first = firstPass.shift();
        const second = first === undefined ? secondPass.shift() : undefined;
        if (first === undefined && second === undefined) {
          // A lane with nothing to do waits while another lane's task may still overrun and be queued again.
          if (running === 0) break;
          await new Promise<void>((resolve) => waiting.push(resolve));
          continue;
        }
        const index = (first ?? second?.index) as number;
        const task = tasks[index] as QueryTask;
        // Worked out when the query is sent (after the lane loaded the snapshot): the tasks then waiting
        // share what is left of the deadline over the lanes then running.
        const budgetOf = (): number => {
          if (first === undefined) return task.timeoutMs;
          const left = options.deadlineMs === undefined ? undefined : options.deadlineMs - (performance.now() - startedAt);
          return Math.min(task.timeoutMs, firstPassBudget(firstPass.length + 1, lanes, left, this.restartMs.get(task.snapshot.id) ?? 0));
        };
        running++;
        const from = performance.now();
        const loading = {ms: 0};
        let result: TaskOutcome | {overranMs: number};
        try {
          result = await this.runOne({slotIndex, inProcess: onMainThread, deadlineAt, loading}, task, budgetOf, deadline, first !== undefined);
        } finally {
          running--;
        }
        if ('overranMs' in result) secondPass.push({index, ranMs: result.overranMs});
        else {
          outcomes[index] = second === undefined ? result : withFirstTurn(result, second.ranMs);
          if (first !== undefined) {
            finished.count++;
            finished.ms += Math.max(0, performance.now() - from - loading.ms);
          }
        }
        if (escalates && lanes < maxLanes && !deadlineHit) {
          const wanted = lanesNeeded({
            finished: finished.count,
            finishedMs: finished.ms,
            waiting: firstPass.length,
            overranMs: secondPass.reduce((sum, queued) => sum + queued.ranMs, 0),
            lanes,
            maxLanes: Math.min(maxLanes, lanes + firstPass.length + secondPass.length),
            leftMs: deadlineAt - performance.now(),
            deadlineMs: options.deadlineMs ?? Number.POSITIVE_INFINITY,
          });
          while (lanes < wanted) {
            lanes++;
            this.escalations.push({atMs: Math.round(performance.now() - startedAt), lanes});
            laneRuns.push(lane(laneRuns.length));
          }
          this.peakLanes = Math.max(this.peakLanes, lanes);
        }
        wakeAll();
      }
      wakeAll();
    };
    for (let index = 0; index < lanes; index++) laneRuns.push(lane(index));
    try {
      // Lanes added while the run goes on join the list: wait until no more were added.
      for (let awaited = 0; awaited < laneRuns.length;) {
        const count = laneRuns.length;
        await Promise.all(laneRuns);
        awaited = count;
      }
    } finally {
      if (deadlineTimer !== undefined) clearTimeout(deadlineTimer);
    }
    for (const {index, ranMs} of secondPass) {
      const task = tasks[index] as QueryTask;
      outcomes[index] = outcome(
        task,
        'timeout',
        ranMs,
        `stopped after ${ranMs} ms so that every other rule ran first; the run deadline passed before its second turn (its timeout is ${task.timeoutMs} ms)`,
      );
    }
    return tasks.map(
      (task, index) =>
        outcomes[index] ?? {key: task.key, status: 'not_run', columns: [], rows: [], truncated: false, elapsedMs: 0, error: 'the run deadline passed first'},
    );
  }

  /**
   * Load `task`'s snapshot into `slot` unless it holds it already: undefined when loaded, else the lane's
   * `failed` answer. Records what a restart of a lane costs for that snapshot (its start and this load) and
   * the bytes a worker built from rows.
   */
  private async loadInto(slot: RuleSlot, task: QueryTask, inProcess: boolean): Promise<WorkerResponse | undefined> {
    if (slot.loadedSnapshot === task.snapshot.id) return undefined;
    const loadStart = performance.now();
    const loaded = await slot.load(task.snapshot.id, this.contentOf(task.snapshot, inProcess), task.snapshot.lists);
    if (loaded.type === 'failed') return loaded;
    if (loaded.type === 'loaded' && loaded.bytes !== undefined) this.built = {id: task.snapshot.id, bytes: loaded.bytes};
    slot.loadedSnapshot = task.snapshot.id;
    const restart = (slot.readyMs ?? 0) + (performance.now() - loadStart);
    this.restartMs.set(task.snapshot.id, Math.max(restart, this.restartMs.get(task.snapshot.id) ?? 0));
    return undefined;
  }

  /**
   * Run one task on a slot's worker within `budgetOf()` ms (worked out and timed from when its query is
   * sent); the time spent loading its snapshot into the lane first is put in `lane.loading.ms`. `share`: a first turn, so a budget below the task's timeout is a first-pass share, and overrunning
   * it returns `overranMs` (the worker replaced) rather than a timeout. The in-process lane blocks this thread
   * while a query runs, so no timer fires meanwhile: it is given the budget, or what is left before
   * `deadlineAt` when that is shorter, and stops the query itself.
   */
  private async runOne(
    lane: {slotIndex: number; inProcess: boolean; deadlineAt: number; loading: {ms: number}},
    task: QueryTask,
    budgetOf: () => number,
    deadline: Promise<never>,
    share: boolean,
  ): Promise<TaskOutcome | {overranMs: number}> {
    const {slotIndex, inProcess, deadlineAt} = lane;
    const slot = this.slot(slotIndex, inProcess);
    let timer: NodeJS.Timeout | undefined;
    let start = performance.now();
    let started = false;
    let budgetMs = task.timeoutMs;
    // The rule's clock starts when its query is sent: worker start-up and snapshot loading are not its time.
    let armTimer: () => void = () => undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      armTimer = (): void => {
        start = performance.now();
        started = true;
        budgetMs = budgetOf();
        timer = setTimeout(() => resolve('timeout'), timerDelay(budgetMs));
      };
    });
    let byDeadline = false;
    const work = (async (): Promise<WorkerResponse> => {
      const loadStart = performance.now();
      const failed = await this.loadInto(slot, task, inProcess);
      lane.loading.ms = performance.now() - loadStart;
      if (failed !== undefined) return failed;
      const left = deadlineAt - performance.now();
      // The in-process lane may have kept the deadline's timer from firing: past it, nothing more starts.
      if (left <= 0) throw new Deadline();
      armTimer();
      byDeadline = left < budgetMs;
      return slot.run(this.nextTaskId++, task.sql, this.maxRows, Math.min(budgetMs, left));
    })();
    work.catch(() => undefined);
    try {
      const result = await Promise.race([work, timeout, deadline]);
      if (result !== 'timeout' && result.type === 'stopped' && byDeadline) throw new Deadline();
      if (result === 'timeout' || result.type === 'stopped') {
        await this.replace(slotIndex, true, inProcess);
        if (share && budgetMs < task.timeoutMs) return {overranMs: budgetMs};
        return outcome(task, 'timeout', performance.now() - start, `killed after ${task.timeoutMs} ms (rule timeout)`);
      }
      if (result.type === 'rows') {
        // A query's rows (up to maxRows, of any size) made records in slices: a signal is not held back (src/util/steps.ts).
        const rows = await runSliced(mapSteps(result.rows, (values) => Object.fromEntries(result.columns.map((column, i) => [column, values[i] ?? null]))));
        return {key: task.key, status: 'ok', columns: result.columns, rows, truncated: result.truncated, elapsedMs: result.elapsedMs};
      }
      if (result.type === 'failed') return outcome(task, 'error', performance.now() - start, result.message);
      return outcome(task, 'error', performance.now() - start, `unexpected worker message ${result.type}`);
    } catch (error) {
      if (error instanceof Deadline) {
        await this.replace(slotIndex, false, inProcess);
        const ran = performance.now() - start;
        return started
          ? outcome(task, 'timeout', ran, `stopped by the run deadline after ${Math.round(ran)} ms (its timeout is ${task.timeoutMs} ms)`)
          : outcome(task, 'not_run', 0, 'the run deadline passed first');
      }
      // The worker died (out of memory, crash): report it and carry on with a fresh one.
      await this.replace(slotIndex, true, inProcess);
      return outcome(task, 'error', performance.now() - start, error instanceof Error ? error.message : String(error));
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  /**
   * What a lane loads for a payload: its file's pages (every lane reads the one open file), its bytes, or
   * those a worker built from its rows, or the rows to build from. Bytes go to a worker in shared memory
   * (storage/shared-bytes.ts), copied there once per snapshot when the caller's are not, so every worker reads
   * one copy instead of a clone of its own.
   */
  private contentOf(snapshot: SnapshotPayload, inProcess: boolean): SnapshotContent {
    if ('pages' in snapshot) return snapshot.pages;
    const bytes = 'bytes' in snapshot ? snapshot.bytes : this.built?.id === snapshot.id ? this.built.bytes : undefined;
    if (bytes === undefined) return (snapshot as {build: SnapshotBuild}).build;
    if (inProcess || isShared(bytes)) return bytes;
    if (this.shared?.id !== snapshot.id) this.shared = {id: snapshot.id, bytes: inSharedMemory(bytes)};
    return this.shared.bytes;
  }

  /** Kill a slot's worker; its replacement starts now (a timeout mid-run) or when next needed (deadline). */
  private async replace(slotIndex: number, startNow = true, inProcess = false): Promise<void> {
    if (inProcess) {
      // The in-process lane is dropped with its sql.js instance; the next task makes a new one.
      const spent = this.inProcess;
      this.inProcess = undefined;
      await spent?.terminate();
      return;
    }
    const old = this.slots[slotIndex];
    this.slots[slotIndex] = startNow ? this.spawn() : undefined;
    await old?.terminate();
  }

  /** Stop every worker. */
  async close(): Promise<void> {
    const slots = this.slots;
    this.slots = [];
    this.built = undefined;
    this.shared = undefined;
    this.restartMs.clear();
    await this.replace(0, false, true);
    await Promise.all(slots.map((slot) => slot?.terminate()));
  }
}

/** `ms` as a timer delay: at most MAX_TIMER_MS (≈ 24.8 days, which no run reaches; a longer delay would silently become 1 ms), never below 0. */
export function timerDelay(ms: number): number {
  return Math.max(0, Math.min(ms, MAX_TIMER_MS));
}

/** A task's first-pass budget never goes below this: a share shorter than a worker's restart saves nothing. */
export const MIN_FIRST_PASS_MS = 1000;

/**
 * Stopping a task wastes what it ran plus a restart (a new worker, sql.js, the snapshot loaded again and its
 * page cache cold), and the task runs again from the start later: so a share is at least this many restarts,
 * where the deadline allows it. On a loaded machine a restart is slow, and so is every rule: with a fixed
 * 1 s share, 10,000 live processes under load had rule after rule stopped, each restart making the next
 * rules slower, until the deadline cut nine of them.
 */
export const RESTARTS_PER_SHARE = 3;

/**
 * The first-pass budget of a task sent when `tasks` tasks (itself included) still wait for a first turn on
 * `lanes` workers and `leftMs` of the deadline remain: half of what is left shared out (the other half is
 * kept for second turns), raised towards RESTARTS_PER_SHARE × `restartMs` (what replacing a worker costs:
 * its start and its snapshot's load, measured) but never past the whole of its share; at least
 * MIN_FIRST_PASS_MS. Unbounded (each task runs to its own timeout at once) without a deadline, or when
 * every task has a worker of its own.
 */
export function firstPassBudget(tasks: number, lanes: number, leftMs: number | undefined, restartMs = 0): number {
  if (leftMs === undefined || tasks <= lanes) return Number.POSITIVE_INFINITY;
  const whole = (Math.max(0, leftMs) * lanes) / tasks;
  return Math.max(MIN_FIRST_PASS_MS, Math.floor(Math.max(whole / 2, Math.min(RESTARTS_PER_SHARE * restartMs, whole))));
}

/**
 * The share of what is left of the deadline that the work projected for the lanes running may take before
 * worker lanes are added. Not all of it: the projection is a mean of the tasks run so far, and a task may
 * yet overrun its share and need a second turn. Not half, as the first-pass shares keep for second turns: the
 * first tasks' mean is no unbiased sample (the built-in pack comes before the SigmaHQ rules and costs more
 * per rule: over 30,000 processes the first 20 tasks' mean was 91 ms against 64 ms over all 193), and with
 * a half a run one lane finished in 16.6 s of its 60 s deadline (load average 9) started two workers.
 */
export const ESCALATION_SHARE = 0.75;

/**
 * A projection needs a sample: it is made once this many tasks finished, or once the finished tasks took
 * PROJECTION_SAMPLE_SHARE of the deadline, whichever comes first. A first task that warms the page cache
 * (30,000 processes: 359 ms against a mean of 60–90 ms, measured) must not add a lane by itself; a set of
 * truly slow tasks is still seen after a few of them (at 1 s each, three of a 60 s deadline).
 */
export const PROJECTION_SAMPLE_TASKS = 8;
export const PROJECTION_SAMPLE_SHARE = 0.05;

/** What a run knows when it decides whether to add lanes (lanesNeeded). */
export interface LaneProgress {
  /** Tasks finished on their first turn so far. */
  readonly finished: number;
  /** The lane time they took, ms (query, rows made into records; loading the snapshot excluded). */
  readonly finishedMs: number;
  /** Tasks still waiting for a first turn. */
  readonly waiting: number;
  /** The sum of what each task queued for a second turn ran in its first, ms (each needs at least that again). */
  readonly overranMs: number;
  /** Lanes running now (the in-process lane counted). */
  readonly lanes: number;
  /** Lanes the run may have: the cap (max_concurrent_rules, CPUs, the snapshot's size, memory, tasks left). */
  readonly maxLanes: number;
  /** What is left of the deadline, ms. */
  readonly leftMs: number;
  /** The whole deadline, ms. */
  readonly deadlineMs: number;
}

/**
 * The lanes a run needs now: the lanes running, or more (at most `maxLanes`) when the work left — the mean
 * of the finished tasks times the tasks waiting, plus what the queued tasks already ran — spread over the
 * lanes running would take more than ESCALATION_SHARE of `leftMs`; then as many lanes as bring it under
 * that share, the cap permitting. Nothing is projected before the sample is taken (PROJECTION_SAMPLE_TASKS
 * tasks finished, or PROJECTION_SAMPLE_SHARE of `deadlineMs` spent on finished tasks).
 */
export function lanesNeeded(progress: LaneProgress): number {
  const {finished, finishedMs, waiting, overranMs, lanes, maxLanes, leftMs, deadlineMs} = progress;
  if (finished === 0 || lanes >= maxLanes || leftMs <= 0) return lanes;
  if (finished < PROJECTION_SAMPLE_TASKS && finishedMs < PROJECTION_SAMPLE_SHARE * deadlineMs) return lanes;
  const workMs = (finishedMs / finished) * waiting + overranMs;
  const allowedMs = ESCALATION_SHARE * leftMs;
  if (workMs <= allowedMs * lanes) return lanes;
  return Math.min(maxLanes, Math.ceil(workMs / allowedMs));
}

/** A second-turn outcome that says the task also ran its first-pass share (the time counts both). */
function withFirstTurn(result: TaskOutcome, firstMs: number): TaskOutcome {
  if (result.status === 'ok') return result;
  return {...result, elapsedMs: result.elapsedMs + firstMs};
}

function outcome(task: QueryTask, status: TaskStatus, elapsedMs: number, error: string): TaskOutcome {
  return {key: task.key, status, columns: [], rows: [], truncated: false, elapsedMs, error};
}
