// The in-process lane: rules run on the main thread (where a run over a snapshot file's bytes starts), in a sql.js instance of their own
// (storage/sqljs.ts newSqlJsInstance: its own WebAssembly memory, compiled once with the main thread's), instead
// of a worker thread, which is a second Node environment with its own sql.js, regular-expression engine and
// copy of the snapshot. The sandbox is the worker's: the same private, read-only rule database
// (rule-database.ts), and a rule stopped at its limit: each query runs under node:vm's `timeout`, whose
// watchdog thread stops JavaScript and WebAssembly alike (V8's TerminateExecution, as Worker.terminate()
// does). A stopped query may leave sql.js's memory in any state, so its instance is never touched again: the
// lane drops it and the next rule gets a fresh one.
import {createContext, Script} from 'node:vm';

import type {Database} from 'sql.js';

import type {SnapshotContent} from '../storage/snapshot-build.js';
import {isWasmTrap, newSqlJsInstance, type SqlJsInstance} from '../storage/sqljs.js';
import {holdYoungGeneration} from '../util/gc.js';
import {signalTurn, withSignalsAtDefault} from '../util/interrupt.js';
import {loadRegexEngine} from './regex.js';
import {openRuleDatabase, runRuleQuery} from './rule-database.js';
import type {WorkerResponse} from './worker-protocol.js';

/** The longest limit node:vm takes (ms, a 32-bit count). */
const MAX_VM_TIMEOUT_MS = 2 ** 32 - 1;

let sandbox: {context: object; script: Script; call: {run?: () => unknown}} | undefined;

/**
 * Run `work` on this thread, stopped after `limitMs` (whatever it is doing: JavaScript or WebAssembly);
 * returns its value, or `stopped`. Any error it throws is thrown.
 */
export function runWithin<T>(work: () => T, limitMs: number): T | 'stopped' {
  if (sandbox === undefined) {
    const call: {run?: () => unknown} = {};
    sandbox = {context: createContext(call), script: new Script('run()', {filename: 'daemoneye-in-process-rule'}), call};
  }
  sandbox.call.run = work;
  try {
    // A signal during the query ends the run at once, not at the watchdog's limit (src/util/interrupt.ts).
    const {context, script} = sandbox;
    return withSignalsAtDefault(() => script.runInContext(context, {timeout: Math.max(1, Math.min(MAX_VM_TIMEOUT_MS, Math.ceil(limitMs)))}) as T);
  } catch (error) {
    if ((error as {code?: unknown} | null)?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return 'stopped';
    throw error;
  } finally {
    delete sandbox.call.run;
  }
}

/** One in-process lane: what a worker slot is to the engine (load a snapshot, run a query), on this thread. */
export class InProcessSlot {
  loadedSnapshot: string | undefined;
  /** Nothing starts apart from loading: making the sql.js instance is part of the first load's time. */
  readonly readyMs: number | undefined = undefined;
  private instance: Promise<SqlJsInstance> | undefined;
  private db: Database | undefined;
  /** A query was stopped mid-run: the instance is never used again. */
  private stopped = false;

  constructor() {
    // The rules' functions make short-lived strings at a rate that grew V8's young generation by ≈ 18 MiB,
    // more than a 10,000-process snapshot's own size (util/gc.ts).
    holdYoungGeneration();
  }

  /** Open a snapshot as this lane's rule database (a build is built here; its file's bytes come back). */
  async load(snapshotId: string, content: SnapshotContent, lists: Readonly<Record<string, readonly string[]>>): Promise<WorkerResponse> {
    try {
      this.instance ??= newSqlJsInstance();
      const instance = await this.instance;
      // The first rule with a pattern does not pay for loading the engine (a worker loads it as it starts).
      loadRegexEngine();
      this.db?.close();
      this.db = undefined;
      const opened = openRuleDatabase(instance.module, content, lists, instance);
      this.db = opened.db;
      return opened.built === undefined ? {type: 'loaded', snapshotId} : {type: 'loaded', snapshotId, bytes: opened.built};
    } catch (error) {
      return {type: 'failed', taskId: null, message: error instanceof Error ? error.message : String(error)};
    }
  }

  /**
   * Run one query, stopped after `limitMs` (`stopped`: this lane is spent, the engine replaces it). The event loop
   * gets a turn first, so a signal that came since the last one (during the previous query's results, or the
   * load) is handled before this query sets the signals' listeners aside (src/util/interrupt.ts).
   */
  async run(taskId: number, sql: string, maxRows: number, limitMs: number): Promise<WorkerResponse> {
    await signalTurn();
    const db = this.db;
    if (db === undefined || this.stopped) return {type: 'failed', taskId, message: 'no snapshot loaded'};
    try {
      const result = runWithin(() => runRuleQuery(db, sql, maxRows), limitMs);
      if (result !== 'stopped') return {type: 'rows', taskId, ...result};
      this.stopped = true;
      return {type: 'stopped', taskId};
    } catch (error) {
      // A trap leaves the instance's memory in any state: the lane is spent, and the engine replaces it as
      // it does a lane that died (the rule's error is the trap's message).
      if (isWasmTrap(error)) {
        this.stopped = true;
        throw error;
      }
      return {type: 'failed', taskId, message: error instanceof Error ? error.message : String(error)};
    }
  }

  /** Drop the database and the instance (a stopped instance is not even closed: its memory is not to be trusted). */
  terminate(): Promise<void> {
    try {
      if (!this.stopped) this.db?.close();
    } catch (error) {
      // The instance is dropped either way; a trap in closing (a memory spoiled unseen) must not end the run.
      if (!isWasmTrap(error)) throw error;
    }
    this.db = undefined;
    this.instance = undefined;
    return Promise.resolve();
  }
}
