// How much V8 optimises in a short run. V8 runs JavaScript in its interpreter (Ignition) and baseline compiler
// (Sparkplug) first and recompiles hot functions with its optimising compiler (TurboFan) on the platform's
// background threads; it runs wasm code from its baseline compiler (Liftoff) first and recompiles hot functions
// with TurboFan on the same threads. In a run that lasts a second or two, that recompiling costs more CPU than it
// saves (docs/performance.md, "CPU by thread"):
//   - WebAssembly (sql.js): a live `detect` over 366 processes took 785 ms with tier-up and 666 ms without, and
//     `detect --input` over 10,000 processes was no slower without it. A long query (a join over 10,000
//     processes running for seconds) is ≈ 40 % slower on Liftoff code, though.
//   - JavaScript: at ≈ 1,100 processes V8's platform threads spent ≈ 500 CPU-ms of a live `detect`'s ≈ 1,600 in
//     TurboFan (the thread split of `detect timing`; it is not the garbage collector's helpers), while the main
//     thread ran no faster for it. A 16× interrupt budget lets only what stays hot that much longer be
//     optimised. Same-run interleaved A/Bs (docs/performance.md, "CPU by thread"): live detect at 1,106
//     processes 0.83× the CPU and 0.80× the wall, at the host's ≈ 100 0.82×, `scan --no-hash` 0.86×,
//     `detect --input` of 1,000 processes with the Sigma rules 0.93×, of 10,000 (rule workers) 0.95×; peak memory
//     1–4 MB lower. A 64× budget gained nothing more.
// So only the commands whose work is one snapshot (`scan`, and `detect` on a live host or on one saved scan) call
// this; `query`, `export` and `detect --since` over many scans keep V8's defaults. Set after the bundle and its
// code cache are loaded (commands/_base/bundle.ts): V8 refuses a code cache made under other flags.
import {setFlagsFromString} from 'node:v8';

/** V8's default interrupt budget (Node 20, V8 11.3): bytecode executed before a function is considered for tier-up. */
const DEFAULT_INTERRUPT_BUDGET = 66 * 1024;

/** The budget of a short run: functions must stay hot this many times longer before TurboFan compiles them. */
export const SHORT_RUN_INTERRUPT_BUDGET = 16 * DEFAULT_INTERRUPT_BUDGET;

let applied = false;

/**
 * Tune V8 for a run over one snapshot, for this process and its worker threads: wasm stays on Liftoff code and
 * JavaScript tiers up to TurboFan only after `SHORT_RUN_INTERRUPT_BUDGET`. Call before sql.js loads.
 */
export function preferShortRunCompilation(): void {
  if (applied) return;
  applied = true;
  setFlagsFromString('--liftoff-only');
  setFlagsFromString(`--interrupt-budget=${SHORT_RUN_INTERRUPT_BUDGET}`);
}
