// One rule worker thread: loads a snapshot once into its own sql.js database (from a file's bytes, or built
// from a live snapshot's rows: storage/snapshot-build.ts), with the named lists and our functions, and runs
// rule queries on it one at a time. The parent kills it with terminate() when a
// rule overruns; nothing here outlives the thread.
import {parentPort} from 'node:worker_threads';

import type {Database, SqlValue} from 'sql.js';

import {buildSnapshotDatabase, isSnapshotBuild, type SnapshotContent} from '../storage/snapshot-build.js';
import {loadSqlJs} from '../storage/sqljs.js';
import type {WorkerRequest, WorkerResponse} from './worker-protocol.js';
import {loadRegexEngine} from './regex.js';
import {prepareRuleDatabase} from './rule-database.js';

let db: Database | undefined;

function send(message: WorkerResponse, transfer: ArrayBuffer[] = []): void {
  parentPort?.postMessage(message, transfer);
}

function jsonSafe(value: SqlValue): string | number | null {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return value;
}

/** Load a snapshot; a build is built here and its file's bytes returned (before the lists are added). */
async function load(content: SnapshotContent, lists: Readonly<Record<string, readonly string[]>>): Promise<Uint8Array | undefined> {
  const SQL = await loadSqlJs();
  db?.close();
  db = undefined;
  // A live snapshot comes as rows and is built here, in the thread's own sql.js: the main thread never holds
  // it as a database. The exported bytes let a replacement worker (after a timeout) load it as a file
  // instead of inserting every row again.
  let built: Uint8Array | undefined;
  if (isSnapshotBuild(content)) {
    db = buildSnapshotDatabase(SQL, content);
    built = db.export();
  } else db = new SQL.Database(content);
  prepareRuleDatabase(db, lists);
  return built;
}

function run(sql: string, maxRows: number): Omit<Extract<WorkerResponse, {type: 'rows'}>, 'type' | 'taskId'> {
  if (db === undefined) throw new Error('no snapshot loaded');
  const start = performance.now();
  // prepare() compiles only the first statement: nothing after it can run.
  const statement = db.prepare(sql);
  try {
    const columns = statement.getColumnNames();
    const rows: (string | number | null)[][] = [];
    let truncated = false;
    while (statement.step()) {
      if (rows.length >= maxRows) {
        truncated = true;
        break;
      }
      rows.push(statement.get().map(jsonSafe));
    }
    return {columns, rows, truncated, elapsedMs: performance.now() - start};
  } finally {
    statement.free();
  }
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
    send({type: 'rows', taskId: message.taskId, ...run(message.sql, message.maxRows)});
  } catch (error) {
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
