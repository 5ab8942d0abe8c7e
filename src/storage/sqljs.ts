// The sql.js module, initialised once per thread. Kept apart from database.ts (which pulls in the models
// and zod) so the rule worker threads import nothing but sql.js: their start-up is on detect's critical path.
// The module is instantiated here (Emscripten's `instantiateWasm` hook), so its memory is known: the rule
// functions read their text arguments straight from it (src/detection/udfs.ts). The WebAssembly is compiled
// once per thread; newSqlJsInstance makes further independent instances from it (the rules that run on the
// main thread get one of their own: src/detection/in-process-lane.ts).
import * as nodeCrypto from 'node:crypto';
import * as nodeFs from 'node:fs';
import {createRequire} from 'node:module';
import {dirname, join} from 'node:path';
import {compileFunction} from 'node:vm';

import type {SqlJsStatic} from 'sql.js';

import {embeddedAsset} from '../package-files.js';

/** A WebAssembly memory, as far as this module uses it (the project's TypeScript libraries do not declare WebAssembly). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

/** A compiled WebAssembly module (opaque here). */
type WasmModule = object;

interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  instantiate(module: WasmModule, imports: object): Promise<{exports: Record<string, unknown>}>;
  Memory: abstract new (...args: never[]) => WasmMemory;
}

const wasmApi = (globalThis as unknown as {WebAssembly: WasmApi}).WebAssembly;

/**
 * Whether `error` is a WebAssembly trap (`RuntimeError`: memory access out of bounds, unreachable, a bad table
 * index): after one, the instance's memory is not to be trusted, so it is never used again, not even to close
 * a database.
 */
export function isWasmTrap(error: unknown): boolean {
  const RuntimeError = (globalThis as unknown as {WebAssembly: {RuntimeError: abstract new (...args: never[]) => Error}}).WebAssembly.RuntimeError;
  return error instanceof RuntimeError;
}

/** One sql.js instance: its module (the `SQL` of sql.js's docs) and its WebAssembly memory. */
export interface SqlJsInstance {
  readonly module: SqlJsStatic;
  readonly memory: WasmMemory;
}

type InitSqlJs = (config?: object) => Promise<SqlJsStatic>;

let sqlJs: Promise<SqlJsStatic> | undefined;
let compiled: Promise<WasmModule> | undefined;

/** sql.js's file beside its JavaScript in the npm install (never reached in the single executable, which embeds both). */
function sqlJsFile(name: string): string {
  return join(dirname(createRequire(import.meta.url).resolve('sql.js')), name);
}

/** sql.js's WebAssembly, compiled once per thread (the single executable carries the wasm as an asset). */
function compiledWasm(): Promise<WasmModule> {
  compiled ??= wasmApi.compile(new Uint8Array(embeddedAsset('sql-wasm.wasm') ?? nodeFs.readFileSync(sqlJsFile('sql-wasm.wasm'))));
  return compiled;
}

/** Initialise one sql.js module with an instance of the compiled WebAssembly; resolves with it and its memory. */
async function instantiate(init: InitSqlJs): Promise<SqlJsInstance> {
  const wasmModule = await compiledWasm();
  let memory: WasmMemory | undefined;
  let fail: (error: unknown) => void = () => undefined;
  const failed = new Promise<never>((_resolve, reject) => {
    fail = reject;
  });
  const initialised = init({
    instantiateWasm(imports: object, receive: (instance: unknown) => void): object {
      wasmApi.instantiate(wasmModule, imports).then((instance) => {
        memory = Object.values(instance.exports).find((value): value is WasmMemory => value instanceof wasmApi.Memory);
        receive(instance);
      }, fail);
      return {};
    },
  });
  const module = await Promise.race([initialised, failed]);
  if (memory === undefined) throw new Error('sql.js exported no WebAssembly memory');
  const instance = {module, memory};
  instances.set(module.Database, instance);
  return instance;
}

/** Every instance this thread made, by its Database class (weakly: a dropped instance is freed). */
const instances = new WeakMap<object, SqlJsInstance>();

/**
 * The sql.js instance a database belongs to (loadSqlJs's or one of newSqlJsInstance's), found by its class;
 * undefined for a database of a module this file did not instantiate.
 */
export function sqlJsInstanceOf(db: object): SqlJsInstance | undefined {
  return instances.get((Object.getPrototypeOf(db) as {constructor: object}).constructor);
}

/** The sql.js module, initialised once per thread (≈ 50–75 ms: start it early, await it late), with the embedded wasm in the single executable. */
export function loadSqlJs(): Promise<SqlJsStatic> {
  sqlJs ??= import('sql.js').then(async (module) => {
    return (await instantiate((module as unknown as {default: InitSqlJs}).default)).module;
  });
  return sqlJs;
}

/**
 * Start loading sql.js without waiting for it: the WebAssembly is read and its compilation begun now (V8
 * compiles it on background threads), and the module's import queued. A live run calls this before its
 * synchronous /proc walk so the compile overlaps the walk; loadSqlJs then finds it done or under way. A
 * failure is kept for loadSqlJs to report, never thrown here.
 */
export function startLoadingSqlJs(): void {
  try {
    compiledWasm().catch(() => undefined);
  } catch {
    // The file could not be read: loadSqlJs throws the same when awaited.
  }
  loadSqlJs().catch(() => undefined);
}

/**
 * A new sql.js instance, independent of loadSqlJs's (its own JavaScript state and WebAssembly memory), from
 * the thread's compiled WebAssembly. sql.js keeps one initialised module per load of its script, so the script
 * is evaluated afresh (from the single executable's asset, or the npm install's file): a few milliseconds,
 * where a worker thread's own sql.js costs a whole Node environment. Dropping every reference frees it.
 */
export async function newSqlJsInstance(): Promise<SqlJsInstance> {
  const asset = embeddedAsset('sql-wasm.js');
  const file = asset === undefined ? sqlJsFile('sql-wasm.js') : '';
  const source = asset === undefined ? nodeFs.readFileSync(file, 'utf8') : Buffer.from(asset).toString('utf8');
  const module = {exports: {} as {default?: InitSqlJs}};
  // The script's own CommonJS wrapper; it requires only node:fs and node:crypto.
  const builtins: Record<string, unknown> = {'node:fs': nodeFs, fs: nodeFs, 'node:crypto': nodeCrypto, crypto: nodeCrypto};
  const require = (id: string): unknown => {
    if (id in builtins) return builtins[id];
    throw new Error(`sql.js asked for ${id}, which a rule instance does not give`);
  };
  compileFunction(source, ['module', 'exports', 'require', '__dirname', '__filename'], {filename: file || 'sql-wasm.js'})(
    module,
    module.exports,
    require,
    dirname(file),
    file,
  );
  const init = module.exports.default ?? (module.exports as unknown as InitSqlJs);
  return instantiate(init);
}
