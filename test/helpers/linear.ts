// Linear time, judged without absolute times: the cost of a run over an input as a number of linear reference
// scans of the same input, timed in the same process (the fastest of a few runs of each). A busy or slow machine,
// and a large input's cache misses, slow both alike; a quadratic pattern costs thousands of scans of a large input.

const REFERENCE_PATTERN = /[\s=:@]/g;

/** One linear pass over the input: a lower-cased copy and a count of the characters the rules split at. */
function reference(input: string): number {
  REFERENCE_PATTERN.lastIndex = 0;
  let count = 0;
  while (REFERENCE_PATTERN.exec(input) !== null) count++;
  return input.toLowerCase().length + count;
}

function fastest(run: () => unknown, runs: number): number {
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
  return fastest(run, runs) / fastest(() => reference(input), runs);
}
