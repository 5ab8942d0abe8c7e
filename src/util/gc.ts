// A full garbage collection on request, for the few moments a command has just let go of buffers as large
// as a snapshot (the file read, a database's file, an export) and is about to wait on rule workers: V8
// collects when the JavaScript heap needs room, and a thread that waits allocates nothing, so without this
// those buffers stay resident through the whole rule phase. Node exposes `gc()` only behind the
// `--expose-gc` flag; set at run time, the flag gives each new context a `gc` function.
import {setFlagsFromString} from 'node:v8';
import {runInNewContext} from 'node:vm';

let collect: (() => void) | null | undefined;

/**
 * Collect garbage now (a full, blocking collection: ≈ 10–40 ms on a heap of a few tens of MB). Does nothing
 * where the flag cannot be set. For rare, deliberate moments only: after dropping the last reference to
 * tens of MB of buffers, before a long wait.
 */
export function collectGarbage(): void {
  if (collect === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as unknown;
      collect = typeof gc === 'function' ? (gc as () => void) : null;
    } catch {
      collect = null;
    }
  }
  collect?.();
}

let youngGenerationHeld = false;

/**
 * Keep V8's young generation (the two semi-spaces new objects are made in) at the size it has now, for the
 * rest of the process: V8 reads `--semi-space-growth-factor` each time it would grow the space, so setting it
 * to 1 at run time stops the growth. For the rule phase on the main thread (src/detection/in-process-lane.ts),
 * whose rule functions make millions of short-lived strings: V8 answered that rate by growing the space to
 * its 16 MiB semi-spaces, which stayed resident (10,000 processes, the pack and 144 SigmaHQ rules: heap
 * 35 → 53 MiB, peak RSS 146 → 121 MB, with the same CPU time: docs/performance.md, "Memory at scale").
 * Does nothing where the flag cannot be set.
 */
export function holdYoungGeneration(): void {
  if (youngGenerationHeld) return;
  youngGenerationHeld = true;
  try {
    setFlagsFromString('--semi-space-growth-factor=1');
  } catch {
    // A V8 without the flag keeps its own growth.
  }
}
