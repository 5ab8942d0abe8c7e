// Computations over input of any size written once, run two ways: a generator that yields (no value) at the
// points where it may stop for a moment — after a row, after a few hundred comparisons of a sort — is driven
// either whole (runWhole: a pure function's synchronous result) or in slices (runSliced: the event loop gets a
// turn once a slice has run its time, so a signal ends the run at once: src/util/interrupt.ts). A pass over N
// rows on the main thread is written as such steps, never as one stretch; sortSteps and mapSteps are the two
// passes every computation needs.
import {TimeSlicer} from './interrupt.js';

/** A computation in steps: each `yield` is a point where it may pause; the generator's return value is the result. */
export type Steps<T> = Generator<void, T, undefined>;

/** Run `steps` to the end in one stretch (for pure callers, tests and small inputs). */
export function runWhole<T>(steps: Steps<T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done === true) return next.value;
  }
}

/** Run `steps` to the end, giving the event loop a turn whenever `slicer`'s slice (50 ms by default) is used up. */
export async function runSliced<T>(steps: Steps<T>, slicer = new TimeSlicer()): Promise<T> {
  for (;;) {
    const next = steps.next();
    if (next.done === true) return next.value;
    if (slicer.due()) await slicer.pause();
  }
}

/** Comparisons (or rows) between two yields of sortSteps/mapSteps: a clock read every row would cost more than the row. */
const STEP = 256;

/**
 * `items` sorted by `compare`, in steps: a stable bottom-up merge sort (the order Array.prototype.sort gives,
 * which is stable too, for any consistent `compare`), yielding every 256 comparisons. Returns a new array;
 * `items` is left as it was. O(n log n) comparisons, one scratch array of n.
 */
export function* sortSteps<T>(items: readonly T[], compare: (a: T, b: T) => number): Steps<T[]> {
  let from = [...items];
  const n = from.length;
  if (n < 2) return from;
  let to = new Array<T>(n);
  let count = 0;
  for (let width = 1; width < n; width *= 2) {
    for (let low = 0; low < n; low += 2 * width) {
      const middle = Math.min(low + width, n);
      const high = Math.min(low + 2 * width, n);
      let i = low;
      let j = middle;
      let k = low;
      while (i < middle && j < high) {
        // Stable: on a tie the left run's element goes first.
        to[k++] = compare(from[j] as T, from[i] as T) < 0 ? (from[j++] as T) : (from[i++] as T);
        if (++count % STEP === 0) yield;
      }
      while (i < middle) to[k++] = from[i++] as T;
      while (j < high) to[k++] = from[j++] as T;
    }
    [from, to] = [to, from];
  }
  return from;
}

/** `items.map(fn)` in steps (yielding every 256 items). */
export function* mapSteps<T, U>(items: readonly T[], fn: (item: T, index: number) => U): Steps<U[]> {
  const out = new Array<U>(items.length);
  for (let index = 0; index < items.length; index++) {
    out[index] = fn(items[index] as T, index);
    if ((index + 1) % STEP === 0) yield;
  }
  return out;
}

/** Every row of `items` visited in steps (yielding every 256 rows). */
export function* eachSteps<T>(items: Iterable<T>, fn: (item: T) => void): Steps<void> {
  let index = 0;
  for (const item of items) {
    fn(item);
    if (++index % STEP === 0) yield;
  }
}
