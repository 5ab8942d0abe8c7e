import {spawnSync} from 'node:child_process';
import {join} from 'node:path';

import {describe, expect, it} from 'vitest';

import {ROOT} from '../helpers/cli.js';

/**
 * Calls of a small hot function before TurboFan has optimised it, in a fresh Node: with the short-run tuning
 * applied first or not. V8's own status bit (16: optimised) through --allow-natives-syntax; compiles are made
 * synchronous (--no-concurrent-recompilation) so the count does not depend on a background thread's timing.
 */
function callsUntilOptimised(shortRun: boolean): number {
  const module = JSON.stringify(join(ROOT, 'dist', 'src', 'util', 'wasm-tiering.js'));
  const script = `
    const {preferShortRunCompilation} = await import(${module});
    if (${shortRun}) preferShortRunCompilation();
    function hot(a) { let s = 0; for (let i = 0; i < 50; i++) s += (a * i) % 7; return s; }
    let calls = 0;
    for (; calls < 100000 && (%GetOptimizationStatus(hot) & 16) === 0; calls++) hot(calls);
    process.stdout.write(String(calls));`;
  const result = spawnSync(process.execPath, ['--allow-natives-syntax', '--no-concurrent-recompilation', '--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  expect(result.status, result.stderr).toBe(0);
  return Number(result.stdout);
}

describe('preferShortRunCompilation', () => {
  it('a function must stay hot many times longer before TurboFan optimises it; by default it is optimised soon', () => {
    const byDefault = callsUntilOptimised(false);
    const shortRun = callsUntilOptimised(true);
    expect(byDefault).toBeGreaterThan(0);
    expect(byDefault).toBeLessThan(100_000);
    // The budget is 16× V8's default; the call count grows by about as much (not exactly: the first calls run
    // before feedback is collected).
    expect(shortRun).toBeGreaterThanOrEqual(8 * byDefault);
    expect(shortRun).toBeLessThan(100_000);
  });
});
