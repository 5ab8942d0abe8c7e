// sql.js is WebAssembly. V8 runs wasm code from its baseline compiler (Liftoff) first and recompiles hot
// functions with TurboFan on background threads. In a run that lasts well under a second that recompiling
// costs more CPU than it saves: measured on 2 cores, a live `detect` over 366 processes took 785 ms with it
// and 666 ms without, and `detect --input` over 10,000 processes was no slower without it. A long query
// (a join over 10,000 processes running for seconds) is ≈ 40 % slower on Liftoff code, though. So only the
// commands whose work is one snapshot (`scan`, and `detect` on a live host or on one saved scan) call
// this; `query`, `export` and `detect --since` over many scans keep V8's default.
import {setFlagsFromString} from 'node:v8';

let applied = false;

/** Keep WebAssembly on Liftoff code for this process and its worker threads. Call before sql.js loads. */
export function preferBaselineWasm(): void {
  if (applied) return;
  applied = true;
  setFlagsFromString('--liftoff-only');
}
