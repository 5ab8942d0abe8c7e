// End to end, as root: processes hidden from /proc's listing are recorded (`hidden`, `hidden_evidence`) and
// the built-in pack raises them as high. A bind mount over /proc/PID (checked on every scan), and an
// LD_PRELOAD library that drops a pid from the scanner's own /proc listings (found by --hidden-check).
import {execFileSync} from 'node:child_process';
import {mkdirSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import type {Alert} from '../../src/models/alert.js';
import type {ProcessRecord} from '../../src/models/process.js';
import {childrenOf, LiveProcesses, SLEEP} from '../collect/live-processes.js';
import {isolatedEnv, parseNdjson, removeDir, ROOT, runCli, tempDir} from '../helpers/cli.js';
import {waitFor} from '../helpers/wait.js';

const dir = tempDir();
const env = isolatedEnv(dir);
const live = new LiveProcesses();
const mounted: string[] = [];
const isRoot = process.getuid?.() === 0;

let parentPid = 0;
let childPid = 0;

beforeAll(async () => {
  // A shell with one child; `; :` keeps sh from exec'ing sleep, so the sleep's ppid names the shell.
  parentPid = live.spawn('/bin/sh', ['-c', `${SLEEP} 600; :`]).pid!;
  childPid = await waitFor(() => childrenOf(parentPid)[0], "the shell's child", 5_000);
  live.track(childPid);
});

afterAll(() => {
  // Always unmount first: a mount left over /proc/PID outlives the test.
  for (const point of mounted.reverse()) {
    try {
      execFileSync('umount', [point]);
    } catch {
      // already gone with its process
    }
  }
  live.killAll();
  removeDir(dir);
});

describe.runIf(isRoot)('hidden by a bind mount over /proc/PID', () => {
  beforeAll(() => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    execFileSync('mount', ['--bind', empty, `/proc/${parentPid}`]);
    mounted.push(`/proc/${parentPid}`);
  });

  it('ps loses it; scan records pid, children and the mount with accessible false', async () => {
    expect(execFileSync('ps', ['-e', '-o', 'pid='], {encoding: 'utf8'}).split('\n').map(Number)).not.toContain(parentPid);
    const result = await runCli(['scan', '--no-hash', '--format', 'ndjson'], {env});
    expect(result.code).toBe(0);
    const records = parseNdjson<ProcessRecord>(result.stdout);
    const hidden = records.find((r) => r.pid === parentPid);
    expect(hidden).toMatchObject({accessible: false, command_line: [], executable_path: null});
    expect(hidden?.platform_data).toMatchObject({hidden: 'proc_mount'});
    const evidence = String(hidden?.platform_data?.hidden_evidence);
    expect(evidence).toContain(`/proc/${parentPid} covered by ${join(dir, 'empty')}`);
    expect(evidence).toContain(`children: ${childPid}`);
    expect(records.find((r) => r.pid === childPid)?.ppid).toBe(parentPid);
    expect(result.stderr).toContain(`pid ${parentPid} is hidden (proc_mount)`);
  });

  it('scan --pid finds it too (no "no process with pid")', async () => {
    const result = await runCli(['scan', '--no-hash', '--pid', String(parentPid), '--format', 'json'], {env});
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain('no process with pid');
    expect((JSON.parse(result.stdout) as ProcessRecord[])[0]?.platform_data?.hidden).toBe('proc_mount');
  });

  it('detect raises hidden-process at high and exits 1 with --fail-on high', async () => {
    const result = await runCli(['detect', '--rule', 'hidden-process', '--format', 'ndjson', '--fail-on', 'high'], {env});
    const alerts = parseNdjson<Alert>(result.stdout).filter((a) => a.rule_id === 'hidden-process');
    const ours = alerts.find((a) => a.affected_processes.includes(parentPid));
    expect(ours?.severity).toBe('high');
    expect(result.code).toBe(1);
  });
});

describe.runIf(isRoot)('left out of the /proc listing (readdir and scandir hooked), found by --hidden-check', () => {
  let library = '';
  let hiddenPid = 0;
  beforeAll(() => {
    library = join(dir, 'hide-pid.so');
    execFileSync('gcc', ['-shared', '-fPIC', '-o', library, join(ROOT, 'test', 'fixtures', 'hider', 'hide-pid.c'), '-ldl']);
    hiddenPid = live.spawn(SLEEP, ['600']).pid!;
  });

  it('a plain scan does not see it; --hidden-check records it whole, as unlisted', async () => {
    const hiding = {...env, LD_PRELOAD: library, HIDER_TEST_PID: String(hiddenPid)};
    expect(execFileSync('ps', ['-e', '-o', 'pid='], {encoding: 'utf8', env: hiding}).split('\n').map(Number)).not.toContain(hiddenPid);
    const plain = await runCli(['scan', '--no-hash', '--format', 'ndjson'], {env: hiding});
    expect(parseNdjson<ProcessRecord>(plain.stdout).map((r) => r.pid)).not.toContain(hiddenPid);
    const checked = await runCli(['scan', '--no-hash', '--hidden-check', '--format', 'ndjson'], {env: hiding});
    expect(checked.code).toBe(0);
    const record = parseNdjson<ProcessRecord>(checked.stdout).find((r) => r.pid === hiddenPid);
    expect(record).toMatchObject({name: 'sleep', executable_path: SLEEP, accessible: true});
    expect(record?.platform_data).toMatchObject({hidden: 'unlisted'});
    expect(String(record?.platform_data?.hidden_evidence)).toContain(`kill(${hiddenPid}, 0) succeeds`);
    // Nothing else on the host is reported unlisted (threads map to their listed process).
    expect(
      parseNdjson<ProcessRecord>(checked.stdout)
        .filter((r) => r.platform_data?.hidden === 'unlisted')
        .map((r) => r.pid),
    ).toEqual([hiddenPid]);
  });

  it('detect --hidden-check raises it at high', async () => {
    const hiding = {...env, LD_PRELOAD: library, HIDER_TEST_PID: String(hiddenPid)};
    const result = await runCli(['detect', '--hidden-check', '--rule', 'hidden-process', '--format', 'ndjson'], {env: hiding});
    const alert = parseNdjson<Alert>(result.stdout).find((a) => a.affected_processes.includes(hiddenPid));
    expect(alert).toMatchObject({rule_id: 'hidden-process', severity: 'high'});
  });
});
