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
