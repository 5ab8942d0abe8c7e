// End to end: processes whose environment is a megabyte long beside processes with a preloaded library, with
// collection.environ lowered in the run's configuration so that a few processes of 1 MB stand for hundreds of
// 2 MB. Every environ is read within the limits and each cut is said (stderr, summary.collection_limits,
// processes.environ_cut and the built-in oversized-environment rule); a preload within what is read is still
// found, the one the dynamic loader honours when LD_PRELOAD is set twice included.
import {execFileSync} from 'node:child_process';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import type {Alert} from '../../src/models/alert.js';
import {isolatedEnv, removeDir, ROOT, runCli, tempDir} from '../helpers/cli.js';
import {SuspectProcesses} from '../helpers/suspects.js';

const dir = tempDir();
const env = isolatedEnv(dir);
const suspects = new SuspectProcesses();
const config = join(dir, 'environ.yaml');
// Limits far below the defaults: 4 processes of 1 MB are cut as hundreds of 2 MB would be by the defaults.
const LIMITS = {floor: 4096, ceiling: 65_536, budget: 150_000};
const PATH = 'PATH=/usr/bin:/bin';
const library = join(dir, 'libdaemoneye-test-preload.so');
const execveEnv = join(dir, 'execve-env');

/** `count` entries of 120,000 bytes (`PADn=xxx…`): 1 MB for 8 of them, each under the kernel's 128 KiB per entry. */
const padding = (count: number): string[] => Array.from({length: count}, (_, i) => `PAD${i}=${'x'.repeat(120_000 - 6)}`);

/** A `sleep 300` whose environment is exactly `entries`, in order (duplicates kept), started through execve-env. */
const sleepWith = (entries: readonly string[]): Promise<number> => suspects.start(execveEnv, ['/bin/sleep', '300', '--', ...entries], {env: {}});

const paddedPids: number[] = [];
let preloadPid = 0;
let twicePid = 0;
let hiddenPreloadPid = 0;
let historyPid = 0;
let detect: {code: number; stdout: string; stderr: string};

beforeAll(async () => {
  writeFileSync(config, `collection:\n  environ:\n    floor: ${LIMITS.floor}\n    ceiling: ${LIMITS.ceiling}\n    budget: ${LIMITS.budget}\n`);
  execFileSync('gcc', ['-shared', '-fPIC', '-o', library, join(ROOT, 'test', 'fixtures', 'environ', 'preload.c')]);
  execFileSync('gcc', ['-o', execveEnv, join(ROOT, 'test', 'fixtures', 'environ', 'execve-env.c')]);
  for (let i = 0; i < 4; i++) paddedPids.push(await sleepWith([PATH, ...padding(8)]));
  // A library from a temp directory preloaded, in a short environment: read whole, the rule fires.
  preloadPid = await sleepWith([PATH, `LD_PRELOAD=${library}`]);
  // Set twice: getenv sees the empty first value, glibc's ld.so loads the last (checked on glibc 2.36).
  twicePid = await sleepWith([PATH, 'LD_PRELOAD=', `LD_PRELOAD=${library}`]);
  // The preload after 1 MB of padding: past what the lowered limits read, so not seen; the cut is said instead.
  hiddenPreloadPid = await sleepWith([PATH, ...padding(8), `LD_PRELOAD=${library}`]);
  // bash and dash take the last HISTFILE; getenv the first.
  historyPid = await sleepWith([PATH, 'HISTFILE=/root/.bash_history', 'HISTFILE=/dev/null']);
  detect = await runCli(['detect', '--format', 'json', '--config', config], {env, timeoutMs: 300_000});
}, 400_000);

afterAll(() => {
  suspects.stopAll();
  removeDir(dir);
});

interface Output {
  alerts: Alert[];
  summary: {rules_run: number; rules_ok: number; failed: string[]; timed_out: string[]; not_run: string[]};
}

const alertOf = (ruleId: string): Alert | undefined => (JSON.parse(detect.stdout) as Output).alerts.find((alert) => alert.rule_id === ruleId);

describe('detect beside processes with megabytes of environment, collection.environ lowered', () => {
  it('ld-preload-injection finds the preloaded library, and the one ld.so loads when LD_PRELOAD is set twice; every rule run', () => {
    expect(detect.code, detect.stderr).toBe(0);
    const {summary} = JSON.parse(detect.stdout) as Output;
    expect({failed: summary.failed, timed_out: summary.timed_out, not_run: summary.not_run}).toEqual({failed: [], timed_out: [], not_run: []});
    const preload = alertOf('ld-preload-injection');
    expect(preload?.severity).toBe('high');
    expect(preload?.affected_processes).toEqual(expect.arrayContaining([preloadPid, twicePid]));
    const rows = (preload?.alert_data as {processes: {pid: number; ld_preload: string}[]}).processes;
    expect(rows.find((row) => row.pid === twicePid)?.ld_preload).toBe(`:${library}`);
    // Past what was read: not seen by the rule (oversized-environment names it below).
    expect(preload?.affected_processes).not.toContain(hiddenPreloadPid);
  });

  it('history-disabled sees the last HISTFILE of an environment that sets it twice', () => {
    expect(alertOf('history-disabled')?.affected_processes).toContain(historyPid);
  });

  it('the built-in oversized-environment rule names every process cut, and no other of ours', () => {
    const oversized = alertOf('oversized-environment');
    expect(oversized?.severity).toBe('medium');
    expect(oversized?.affected_processes).toEqual(expect.arrayContaining([...paddedPids, hiddenPreloadPid]));
    for (const pid of [preloadPid, twicePid, historyPid]) expect(oversized?.affected_processes).not.toContain(pid);
  });

  it('names every process cut on stderr, one collection-limit line, and in summary.collection_limits within the limits', () => {
    const lines = detect.stderr.split('\n').filter((line) => line.includes('a longer environment than the scan read'));
    expect(lines).toHaveLength(1);
    for (const pid of [...paddedPids, hiddenPreloadPid]) expect(lines[0]).toMatch(new RegExp(`pid ${pid}: [\\d,]+ of 96\\d,\\d\\d\\d bytes`));
    expect(lines[0]).toMatch(/raise collection\.environ/);
    const limits = (JSON.parse(detect.stdout) as {summary: {collection_limits: {source: string; pid: number; read: number; total: number | null}[]}}).summary
      .collection_limits;
    const ours = limits.filter((limit) => limit.source === 'environ' && [...paddedPids, hiddenPreloadPid].includes(limit.pid));
    expect(ours).toHaveLength(5);
    for (const limit of ours) {
      expect(limit.read).toBeGreaterThanOrEqual(LIMITS.floor);
      expect(limit.read).toBeLessThanOrEqual(LIMITS.ceiling);
      expect(limit.total).toBeGreaterThan(960_000);
    }
    // Every environ read in the walk to its floor; what the long ones read past it comes out of the budget.
    const all = limits.filter((limit) => limit.source === 'environ');
    expect(all.reduce((sum, limit) => sum + limit.read - LIMITS.floor, 0)).toBeLessThanOrEqual(LIMITS.budget);
  });

  it('a query sees the cut on the process (environ_cut, environ_bytes) and only whole values in process_envs', async () => {
    const pids = [...paddedPids, hiddenPreloadPid, preloadPid, historyPid].join(', ');
    const sql = `select p.pid, p.environ_cut as cut, p.environ_bytes as bytes, (select group_concat(e.value, ' ') from process_envs e where e.pid = p.pid and e.scan_id = p.scan_id and e.key = 'HISTFILE') as histfile from processes p where p.pid in (${pids}) order by p.pid`;
    const result = await runCli(['query', '--config', config, '--format', 'json', sql], {env, timeoutMs: 120_000});
    expect(result.code, result.stderr).toBe(0);
    const rows = JSON.parse(result.stdout) as {pid: number; cut: number; bytes: number; histfile: string | null}[];
    const byPid = new Map(rows.map((row) => [row.pid, row]));
    for (const pid of [...paddedPids, hiddenPreloadPid]) {
      expect(byPid.get(pid)?.cut).toBe(1);
      expect(byPid.get(pid)?.bytes).toBeGreaterThan(960_000);
    }
    expect(byPid.get(preloadPid)).toMatchObject({cut: 0, bytes: PATH.length + 1 + `LD_PRELOAD=${library}`.length + 1});
    expect(byPid.get(historyPid)?.histfile).toBe('/root/.bash_history /dev/null');
    expect(result.stderr).toMatch(/collection limit: \d+ process(es)? ha(s|ve) a longer environment/);
  });
});
