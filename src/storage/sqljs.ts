// The sql.js module, initialised once per thread. Kept apart from database.ts (which pulls in the models
// and zod) so the rule worker threads import nothing but sql.js: their start-up is on detect's critical path.
// The module is instantiated here (Emscripten's `instantiateWasm` hook), so its memory is known: the rule
// functions read their text arguments straight from it (src/detection/udfs.ts).
import {readFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {dirname, join} from 'node:path';

import type {SqlJsStatic} from 'sql.js';

import {embeddedAsset} from '../package-files.js';

/** A WebAssembly memory, as far as this module uses it (the project's TypeScript libraries do not declare WebAssembly). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

interface WasmApi {
  instantiate(bytes: Uint8Array, imports: object): Promise<{instance: {exports: Record<string, unknown>}}>;
  Memory: abstract new (...args: never[]) => WasmMemory;
}

const wasmApi = (globalThis as unknown as {WebAssembly: WasmApi}).WebAssembly;

let sqlJs: Promise<SqlJsStatic> | undefined;
let memory: WasmMemory | undefined;
let loadedModule: SqlJsStatic | undefined;

/** The sql.js module, initialised once per thread (≈ 50–75 ms: start it early, await it late), with the embedded wasm in the single executable. */
export function loadSqlJs(): Promise<SqlJsStatic> {
  if (sqlJs === undefined) {
    sqlJs = import('sql.js').then(async (module) => {
      const init = (module as unknown as {default: (config?: object) => Promise<SqlJsStatic>}).default;
      // The single executable carries the wasm as an asset; the npm install's sql.js has its file beside itself.
      const wasm = embeddedAsset('sql-wasm.wasm') ?? readFileSync(join(dirname(createRequire(import.meta.url).resolve('sql.js')), 'sql-wasm.wasm'));
      let fail: (error: unknown) => void = () => undefined;
      const failed = new Promise<never>((_resolve, reject) => {
        fail = reject;
      });
      const loaded = init({
        instantiateWasm(imports: object, receive: (instance: unknown) => void): object {
          wasmApi.instantiate(new Uint8Array(wasm), imports).then(({instance}) => {
            memory = Object.values(instance.exports).find((value): value is WasmMemory => value instanceof wasmApi.Memory);
            receive(instance);
          }, fail);
          return {};
        },
      });
      loadedModule = await Promise.race([loaded, failed]);
      return loadedModule;
    });
  }
  return sqlJs;
}

/**
 * This thread's sql.js module and its memory (the heap, which grows: take `.buffer` afresh each time), once
 * loadSqlJs has resolved; undefined before.
 */
export function loadedSqlJs(): {module: SqlJsStatic; memory: WasmMemory} | undefined {
  return loadedModule === undefined || memory === undefined ? undefined : {module: loadedModule, memory};
}
