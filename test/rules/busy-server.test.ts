// False-positive gate on a checked-in snapshot of a typical busy server: `daemoneye detect` with the whole
// built-in pack must raise no high or critical alert on it. The low and medium findings it does raise are
// pinned, so a rule change that adds noise shows up in review.
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {snapshotFromRows} from '../../src/detection/fixture-snapshot.js';
import type {Alert} from '../../src/models/alert.js';
import {BUSY_SERVER_FILE, BUSY_SERVER_NOW, renderBusyServer} from '../fixtures/busy-server/generate.js';
import {isolatedEnv, removeDir, runCli, tempDir} from '../helpers/cli.js';

const fixture = JSON.parse(readFileSync(BUSY_SERVER_FILE, 'utf8')) as {
  now: number;
  processes: Record<string, unknown>[];
  tables: Record<string, Record<string, unknown>[]>;
};
const dir = tempDir();
afterAll(() => removeDir(dir));

interface DetectOutput {
  readonly alerts: readonly Alert[];
  readonly summary: {readonly rules_run: number; readonly rules_ok: number; readonly failed: readonly string[]};
}

describe('busy-server fixture', () => {
  let output: DetectOutput;
  beforeAll(async () => {
    const snapshot = join(dir, 'busy-server.db');
    writeFileSync(snapshot, await snapshotFromRows(fixture.processes, {scanId: BUSY_SERVER_NOW * 1000 + 7, now: BUSY_SERVER_NOW, tables: fixture.tables}));
    const result = await runCli(['detect', '--input', snapshot, '--format', 'json'], {env: isolatedEnv(dir)});
    expect(result.stderr).not.toMatch(/"level":"(error|warn)"/);
    expect(result.code).toBe(0);
    output = JSON.parse(result.stdout) as DetectOutput;
  });

  it('is what the generator writes (regenerate with `npx tsx test/fixtures/busy-server/generate.ts`)', () => {
    expect(fixture.now).toBe(BUSY_SERVER_NOW);
    expect(readFileSync(BUSY_SERVER_FILE, 'utf8')).toBe(renderBusyServer());
    expect(fixture.processes.length).toBeGreaterThan(200);
    expect(fixture.tables.process_open_sockets?.length).toBeGreaterThan(40);
    expect(fixture.tables.process_memory_map?.length).toBeGreaterThan(500);
    expect(fixture.tables.process_libraries?.length).toBeGreaterThan(400);
  });

  it('runs every built-in rule without error', () => {
    expect(output.summary.failed).toEqual([]);
    expect(output.summary.rules_ok).toBe(output.summary.rules_run);
    expect(output.summary.rules_run).toBeGreaterThanOrEqual(18);
  });

  it('raises no high or critical alert', () => {
    expect(output.alerts.filter((alert) => alert.severity === 'high' || alert.severity === 'critical')).toEqual([]);
  });

  it('raises only the expected low and medium findings', () => {
    expect(
      output.alerts
        .map((alert) => ({rule: alert.rule_id, severity: alert.severity, pids: alert.affected_processes}))
        .sort((a, b) => a.rule.localeCompare(b.rule)),
    ).toEqual([
      // containerd upgraded on disk and not restarted yet
      {rule: 'replaced-executable', severity: 'low', pids: [900]},
      // WordPress calling ImageMagick through sh -c under php-fpm
      {rule: 'web-server-shell-spawn', severity: 'medium', pids: [99950]},
    ]);
  });
});
