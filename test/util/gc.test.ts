import {spawnSync} from 'node:child_process';
import {join} from 'node:path';

import {describe, expect, it} from 'vitest';

import {ROOT} from '../helpers/cli.js';

/**
 * The young generation's size (MiB, V8's new space) after a burst of short-lived strings, as the rule
 * functions make them, in a fresh Node: with holdYoungGeneration() called first or not.
 */
function newSpaceAfterBurst(held: boolean): number {
  const module = JSON.stringify(join(ROOT, 'dist', 'src', 'util', 'gc.js'));
  const script = `
    const {getHeapSpaceStatistics} = await import('node:v8');
    const {holdYoungGeneration} = await import(${module});
    if (${held}) holdYoungGeneration();
    const keep = [];
    for (let i = 0; i < 3000000; i++) {
      const text = 'process-' + i + '-' + 'x'.repeat(i % 64);
      if (i % 1000 === 0) keep.push(text);
    }
    const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    process.stdout.write(String(space.space_size / 1048576));`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {encoding: 'utf8'});
  expect(result.status, result.stderr).toBe(0);
  return Number(result.stdout);
}

describe('holdYoungGeneration', () => {
  it('keeps the young generation at its size through a burst of allocations that grows it by default', () => {
    const byDefault = newSpaceAfterBurst(false);
    const held = newSpaceAfterBurst(true);
    // V8 grows the space under this rate of allocation (to two 16 MiB semi-spaces on 64-bit: 32 MiB measured)…
    expect(byDefault).toBeGreaterThanOrEqual(4 * held);
    // …and held, it stays at its starting size (two 1 MiB semi-spaces on 64-bit: 2 MiB measured).
    expect(held).toBeLessThanOrEqual(2);
  });
});
