// detect --input over a snapshot past the size that used to start rule workers (4 MB: one per 4 MB, up to the
// CPUs): the run starts on the in-process lane and every rule runs. The escalation itself (workers added when
// a run falls behind its deadline) is tested in test/detection/engine.test.ts, where a deadline can be set
// from a measured task time instead of a machine's load.
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {SNAPSHOT_BYTES_PER_EXTRA_WORKER} from '../../src/detection/engine.js';
import {syntheticSnapshot} from '../fixtures/busy-server/synthetic.js';
import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';

const dir = tempDir();
afterAll(() => removeDir(dir));

describe('detect --input over a snapshot of several MB', () => {
  it('runs every rule, on one lane while the deadline is far: no worker started', async () => {
    const bytes = await syntheticSnapshot(3200);
    // Past one lane's worth of bytes: before, this started two workers on a 2-CPU host.
    expect(bytes.byteLength).toBeGreaterThanOrEqual(SNAPSHOT_BYTES_PER_EXTRA_WORKER);
    const file = join(dir, 'host-3200.db');
    writeFileSync(file, bytes);
    // A deadline no load makes the run fall behind: the run must not need a worker to finish.
    const result = await runCli(
      ['detect', '--input', file, '--format', 'json', '--no-audit', '--timeout', '600000', '--log-level', 'debug', '--log-format', 'json'],
      {env: isolatedEnv(dir, {DAEMONEYE_DETECTION__MAX_CONCURRENT_RULES: '2'})},
    );
    expect([0, 1], result.stderr).toContain(result.code);
    const {summary} = JSON.parse(result.stdout) as {
      summary: {rules_run: number; rules_ok: number; failed: string[]; timed_out: string[]; not_run: string[]};
    };
    expect(summary.not_run).toEqual([]);
    expect(summary.timed_out).toEqual([]);
    expect(summary.failed).toEqual([]);
    expect(summary.rules_ok).toBe(summary.rules_run);
    expect(summary.rules_run).toBeGreaterThanOrEqual(40);
    const timing = parseNdjson<{message: string} & Record<string, number>>(result.stderr).find((line) => line.message === 'detect timing');
    expect([timing?.rule_lanes, timing?.workers_started]).toEqual([1, 0]);
  }, 120_000);
});
