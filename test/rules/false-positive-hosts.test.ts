// False-positive gates beside the busy server: a container host, a CI runner, an admin's toolbox, a package
// upgrade and JIT runtimes (test/fixtures/false-positive-hosts.ts). `daemoneye detect` with the whole built-in
// pack on each must raise nothing at high or critical.
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {snapshotFromRows} from '../../src/detection/fixture-snapshot.js';
import type {Alert} from '../../src/models/alert.js';
import {FALSE_POSITIVE_HOSTS} from '../fixtures/false-positive-hosts.js';
import {isolatedEnv, removeDir, runCli, tempDir} from '../helpers/cli.js';

const dir = tempDir();
afterAll(() => removeDir(dir));

describe('benign hosts stay below high', () => {
  it.each(FALSE_POSITIVE_HOSTS.map((host, index) => [host.name, index] as const))(
    '%s',
    async (_name, index) => {
      const host = FALSE_POSITIVE_HOSTS[index]!;
      const snapshot = join(dir, `host-${index}.db`);
      writeFileSync(snapshot, await snapshotFromRows(host.processes, {tables: host.tables as never}));
      const result = await runCli(['detect', '--input', snapshot, '--format', 'json'], {env: isolatedEnv(dir)});
      expect(result.code, result.stderr).toBe(0);
      const {alerts, summary} = JSON.parse(result.stdout) as {alerts: Alert[]; summary: {failed: string[]}};
      expect(summary.failed).toEqual([]);
      const serious = alerts.filter((a) => a.severity === 'high' || a.severity === 'critical').map((a) => `${a.rule_id} ${a.affected_processes.join(',')}`);
      expect(serious).toEqual([]);
    },
    120_000,
  );
});
