// `daemoneye query` on a live snapshot reads the shared predicates' view process_traits as a rule does: a
// real shell (dash) and a real interpreter (gawk, busybox's awk when gawk is absent) are told apart from a
// plain program (sleep) by is_shell and is_interpreter, as the shipped lists shells and interpreters define them.
import {type ChildProcess, spawn} from 'node:child_process';
import {existsSync} from 'node:fs';

import {afterAll, describe, expect, it} from 'vitest';

import {isolatedEnv, killGroups, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';

const dir = tempDir('daemoneye-traits-');
const env = isolatedEnv(dir);
const children: ChildProcess[] = [];

const start = (command: string, args: string[]): Promise<number> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, {detached: true, stdio: 'ignore'});
    children.push(child);
    child.once('error', reject);
    child.once('spawn', () => resolve(child.pid as number));
  });

afterAll(() => {
  killGroups(children);
  removeDir(dir);
});

describe('query over process_traits', () => {
  it('is_shell, is_interpreter and is_user_process on live processes', async () => {
    const shell = await start('/usr/bin/dash', ['-c', 'sleep 600; true']);
    const awk = existsSync('/usr/bin/gawk') ? '/usr/bin/gawk' : '/usr/bin/awk';
    const interpreter = await start(awk, ['BEGIN { system("sleep 600") }']);
    const plain = await start('/usr/bin/sleep', ['600']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const pids = [shell, interpreter, plain].join(', ');
    const sql = `SELECT pid, is_shell, is_interpreter, is_user_process, is_kernel_thread FROM process_traits WHERE pid IN (${pids}) ORDER BY pid`;
    const result = await runCli(['query', sql, '--format', 'ndjson', '--no-audit'], {env});
    expect(result.stderr).toMatch(/^daemoneye: 3 rows in \d+ ms from live\n$/);
    expect(result.code).toBe(0);
    const rows = parseNdjson<Record<string, number>>(result.stdout);
    const byPid = new Map(rows.map((row) => [row.pid, row]));
    expect(byPid.get(shell)).toMatchObject({is_shell: 1, is_interpreter: 0, is_user_process: 1, is_kernel_thread: 0});
    expect(byPid.get(interpreter)).toMatchObject({is_shell: 0, is_interpreter: 1, is_user_process: 1});
    expect(byPid.get(plain)).toMatchObject({is_shell: 0, is_interpreter: 0, is_user_process: 1});
  });
});
