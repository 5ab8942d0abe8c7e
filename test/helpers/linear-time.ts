// Whether a function's time grows linearly with its input, on a shared, noisy machine: its time at 10× the
// input against its time at 1×, fastest of a few runs, over up to three attempts. Linear work grows ≈ 10×,
// quadratic ≈ 100×; the bound (40×) leaves room for a loaded machine and never lets a square through.
import {expect} from 'vitest';

/** Below this the time of the small input is noise: compared from here up. */
const FLOOR_MS = 5;

function fastest(run: () => void, times: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < times; i++) {
    const start = performance.now();
    run();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

/**
 * The time ratio of `work(factor × size)` to `work(size)`. `work(n)` prepares an input of size `n` and
 * returns the call to time (preparing is not timed).
 */
export function growth(work: (n: number) => () => void, size: number, factor = 10): number {
  const small = work(size);
  const big = work(size * factor);
  small();
  big();
  return fastest(big, 3) / Math.max(fastest(small, 3), FLOOR_MS);
}

/** Fails unless the work's time grows less than 4× faster than its input, in one of three attempts. */
export function expectLinearTime(work: (n: number) => () => void, size: number, factor = 10): void {
  let best = Number.POSITIVE_INFINITY;
  for (let attempt = 0; attempt < 3 && best >= factor * 4; attempt++) best = Math.min(best, growth(work, size, factor));
  expect(best).toBeLessThan(factor * 4);
}

// The other way to judge linear time without absolute times, for many inputs at one size: the cost of a run as a
// number of linear reference scans of the same input, timed in the same process. A busy machine and a large
// input's cache misses slow both alike; a quadratic pattern costs thousands of scans of a large input.

const REFERENCE_PATTERN = /[\s=:@]/g;

/** One linear pass over the input: a lower-cased copy and a count of the characters the rules split at. */
function reference(input: string): number {
  REFERENCE_PATTERN.lastIndex = 0;
  let count = 0;
  while (REFERENCE_PATTERN.exec(input) !== null) count++;
  return input.toLowerCase().length + count;
}

function fastestOf(run: () => unknown, runs: number): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    run();
    best = Math.min(best, performance.now() - start);
  }
  return Math.max(best, 0.001);
}

/** How many reference scans of `input` one `run()` costs. */
export function costInReferenceScans(run: () => unknown, input: string, runs = 2): number {
  run();
  return fastestOf(run, runs) / fastestOf(() => reference(input), runs);
}
