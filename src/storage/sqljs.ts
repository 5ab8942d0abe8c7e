// The sql.js module, initialised once per thread. Kept apart from database.ts (which pulls in the models
// and zod) so the rule worker threads import nothing but sql.js: their start-up is on detect's critical path.
import type {SqlJsStatic} from 'sql.js';

import {embeddedAsset} from '../package-files.js';

let sqlJs: Promise<SqlJsStatic> | undefined;

/** The sql.js module, initialised once per thread (≈ 50–75 ms: start it early, await it late), with the embedded wasm in the single executable. */
export function loadSqlJs(): Promise<SqlJsStatic> {
  if (sqlJs === undefined) {
    sqlJs = import('sql.js').then(async (module) => {
      const init = (module as unknown as {default: (config?: object) => Promise<SqlJsStatic>}).default;
      // The single executable carries the wasm as an asset; the npm install's sql.js finds its file beside itself.
      const wasm = embeddedAsset('sql-wasm.wasm');
      return init(wasm === undefined ? undefined : {wasmBinary: new Uint8Array(wasm)});
    });
  }
  return sqlJs;
}
