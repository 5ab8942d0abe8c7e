// Preloaded into a CLI run (NODE_OPTIONS=--import): measures the longest gap between two turns of the main
// thread's event loop — the longest time a signal would have waited for its handler (src/util/interrupt.ts) —
// and appends it, with the run's length, as one JSON line to the file LOOP_GAP_FILE names when the process exits.
import {appendFileSync} from 'node:fs';
import {performance} from 'node:perf_hooks';
import {isMainThread} from 'node:worker_threads';

const file = process.env.LOOP_GAP_FILE;
if (isMainThread && file !== undefined) {
  let last = performance.now();
  let longest = 0;
  let longestAt = 0;
  setInterval(() => {
    const now = performance.now();
    if (now - last > longest) {
      longest = now - last;
      longestAt = last;
    }
    last = now;
  }, 5).unref();
  process.on('exit', () => {
    // The stretch the process ends in counts too (a run that ends in one long pass).
    const now = performance.now();
    if (now - last > longest) {
      longest = now - last;
      longestAt = last;
    }
    appendFileSync(file, `${JSON.stringify({longestMs: Math.round(longest), atMs: Math.round(longestAt), runMs: Math.round(now)})}\n`);
  });
}
