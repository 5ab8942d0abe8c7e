// Computations in steps (src/util/steps.ts): sortSteps gives Array.prototype.sort's order (both stable) for any
// input and comparator, and yields while it sorts; runSliced gives the event loop turns and the same result as
// runWhole.
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';

import {TimeSlicer} from '../../src/util/interrupt.js';
import {eachSteps, mapSteps, runSliced, runWhole, sortSteps, type Steps} from '../../src/util/steps.js';

describe('sortSteps', () => {
  it('sorts as Array.prototype.sort does, ties in their input order', () => {
    fc.assert(
      fc.property(fc.array(fc.record({key: fc.integer({min: -5, max: 5}), at: fc.nat()}), {maxLength: 700}), (items) => {
        const byKey = (a: {key: number}, b: {key: number}): number => a.key - b.key;
        expect(runWhole(sortSteps(items, byKey))).toEqual([...items].sort(byKey));
      }),
      {seed: 22, numRuns: 300},
    );
    fc.assert(
      fc.property(fc.array(fc.string(), {maxLength: 300}), (items) => {
        const text = (a: string, b: string): number => a.localeCompare(b);
        expect(runWhole(sortSteps(items, text))).toEqual([...items].sort(text));
      }),
      {seed: 22, numRuns: 100},
    );
  });

  it('leaves its input as it was and yields while it compares', () => {
    const items = Array.from({length: 5_000}, (_, i) => (i * 7_919) % 5_000);
    const copy = [...items];
    const steps = sortSteps(items, (a, b) => a - b);
    let yields = 0;
    let next = steps.next();
    while (next.done !== true) {
      yields += 1;
      next = steps.next();
    }
    expect(next.value).toEqual([...items].sort((a, b) => a - b));
    expect(items).toEqual(copy);
    // About n log2 n / 256 comparisons between yields.
    expect(yields).toBeGreaterThan(100);
  });
});

describe('runSliced', () => {
  it('gives the event loop turns during a long computation and returns what runWhole returns', async () => {
    const work = function* (): Steps<number> {
      const rows = yield* mapSteps(
        Array.from({length: 200_000}, (_, i) => i),
        (i) => i * 2,
      );
      let sum = 0;
      yield* eachSteps(rows, (value) => (sum += value));
      // Spin so the slices fill: each step costs a little time.
      for (let i = 0; i < 400; i++) {
        const until = performance.now() + 0.25;
        while (performance.now() < until);
        yield;
      }
      return sum;
    };
    let turns = 0;
    const ticker = setInterval(() => (turns += 1), 0);
    const sliced = await runSliced(work(), new TimeSlicer(5));
    clearInterval(ticker);
    expect(sliced).toBe(runWhole(work()));
    // 100 ms of spinning in 5 ms slices: the timer ran in between (none would run in one stretch).
    expect(turns).toBeGreaterThan(3);
  });
});
