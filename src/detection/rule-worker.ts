// One rule worker thread: loads a snapshot once into its own sql.js database (rule-database.ts: from a file's
// bytes, or built from a live snapshot's rows) and runs rule queries on it one at a time. The parent kills it
// with terminate() when a rule overruns; nothing here outlives the thread.
import {parentPort} from 'node:worker_threads';

import type {Database} from 'sql.js';

import type {SnapshotContent} from '../storage/snapshot-build.js';
import {isWasmTrap, loadSqlJs} from '../storage/sqljs.js';
import type {WorkerRequest, WorkerResponse} from './worker-protocol.js';
import {loadRegexEngine} from './regex.js';
import {openRuleDatabase, runRuleQuery} from './rule-database.js';

let db: Database | undefined;

function send(message: WorkerResponse, transfer: ArrayBuffer[] = []): void {
  parentPort?.postMessage(message, transfer);
}

/** Load a snapshot; a build is built here and its file's bytes returned (before the lists are added). */
async function load(content: SnapshotContent, lists: Readonly<Record<string, readonly string[]>>): Promise<Uint8Array | undefined> {
  const SQL = await loadSqlJs();
  db?.close();
  db = undefined;
  // A live snapshot given as rows is built here, in the thread's own sql.js. The exported bytes let a
  // replacement worker (after a timeout) load it as a file instead of inserting every row again.
  const opened = openRuleDatabase(SQL, content, lists);
  db = opened.db;
  return opened.built;
}

parentPort?.on('message', (message: WorkerRequest) => {
  if (message.type === 'load') {
    load(message.content, message.lists).then(
      (bytes) =>
        bytes === undefined
          ? send({type: 'loaded', snapshotId: message.snapshotId})
          : send({type: 'loaded', snapshotId: message.snapshotId, bytes}, [bytes.buffer as ArrayBuffer]),
      (error: unknown) => send({type: 'failed', taskId: null, message: error instanceof Error ? error.message : String(error)}),
    );
    return;
  }
  try {
    if (db === undefined) throw new Error('no snapshot loaded');
    send({type: 'rows', taskId: message.taskId, ...runRuleQuery(db, message.sql, message.maxRows)});
  } catch (error) {
    // After a WebAssembly trap this thread's sql.js memory is not to be trusted: the thread ends (the engine
    // reports the error as the rule's and starts another worker) instead of running the next rule on it.
    if (isWasmTrap(error)) throw error;
    send({type: 'failed', taskId: message.taskId, message: error instanceof Error ? error.message : String(error)});
  }
});

// Initialise sql.js right away, so start-up overlaps whatever the parent does meanwhile; the regular-expression
// engine loads while sql.js's WebAssembly compiles, so the first rule with a pattern does not pay for it.
const sqlJs = loadSqlJs();
loadRegexEngine();
sqlJs.then(
  () => send({type: 'ready'}),
  (error: unknown) => send({type: 'failed', taskId: null, message: error instanceof Error ? error.message : String(error)}),
);
