// The measure of the pack: attacker processes reproduced from public Linux intrusion reports
// (test/fixtures/intrusion-corpus.ts) must each be raised at the severity the report's own rules give, and the
// benign look-alikes beside them must stay below high. `daemoneye detect` runs on one snapshot of all of them.
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {snapshotFromRows} from '../../src/detection/fixture-snapshot.js';
import type {Alert} from '../../src/models/alert.js';
import {INIT, INTRUSIONS, LOOKALIKE_TABLES, LOOKALIKES} from '../fixtures/intrusion-corpus.js';
import {isolatedEnv, removeDir, runCli, tempDir} from '../helpers/cli.js';

const dir = tempDir();
afterAll(() => removeDir(dir));
const RANK: Record<string, number> = {informational: 0, low: 1, medium: 2, high: 3, critical: 4};
let alerts: Alert[] = [];

beforeAll(async () => {
  const tables: Record<string, Record<string, unknown>[]> = {};
  for (const source of [...INTRUSIONS.map((c) => c.tables ?? {}), LOOKALIKE_TABLES]) {
    for (const [table, rows] of Object.entries(source)) tables[table] = [...(tables[table] ?? []), ...rows];
  }
  const snapshot = join(dir, 'corpus.db');
  writeFileSync(snapshot, await snapshotFromRows([INIT, ...INTRUSIONS.flatMap((c) => c.processes), ...LOOKALIKES], {tables: tables as never}));
  const result = await runCli(['detect', '--input', snapshot, '--format', 'json'], {env: isolatedEnv(dir)});
  expect(result.code, result.stderr).toBe(0);
  alerts = (JSON.parse(result.stdout) as {alerts: Alert[]}).alerts;
}, 180_000);

const highest = (pid: number): number => Math.max(0, ...alerts.filter((a) => a.affected_processes.includes(pid)).map((a) => RANK[a.severity] ?? 0));

describe('the intrusion corpus', () => {
  it('has attacker processes from many reports', () => {
    expect(INTRUSIONS.length).toBeGreaterThanOrEqual(20);
    expect(INTRUSIONS.flatMap((c) => Object.keys(c.attackers)).length).toBeGreaterThanOrEqual(44);
  });

  it.each(INTRUSIONS.map((c) => [c.what, c] as const))('raises %s at the report severity', (_what, c) => {
    const missed = Object.entries(c.attackers)
      .filter(([pid, severity]) => highest(Number(pid)) < (RANK[severity] ?? 3))
      .map(([pid]) => Number(pid));
    expect(missed).toEqual([]);
  });

  it('raises no benign look-alike at high', () => {
    expect(LOOKALIKES.map((row) => row.pid as number).filter((pid) => highest(pid) >= RANK.high!)).toEqual([]);
  });
});
