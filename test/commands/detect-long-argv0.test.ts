// End to end, live: one process with a 60,000-byte argv[0] must not blind a rule for the rest of the host.
// command-line-impersonation used argv[0] as a GLOB pattern, and SQLite refuses a pattern over 50,000 bytes
// with an error, which failed the rule for every process: a real impersonator elsewhere went unreported and
// the run exited 3 (red-team trial 8, F4). The argv floor (64 KiB) keeps such an argv[0] whole.
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import type {Alert} from '../../src/models/alert.js';
import {isolatedEnv, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {SuspectProcesses} from '../helpers/suspects.js';

const dir = tempDir();
const env = isolatedEnv(dir);
const suspects = new SuspectProcesses();

let longPid = 0;
let impersonatorPid = 0;
let detect: {code: number; stdout: string; stderr: string};

beforeAll(async () => {
  longPid = await suspects.start('/usr/bin/sleep', ['600'], {argv0: 'a'.repeat(60_000)});
  // python3 posing as `cat` (what `exec -a cat python3 …` does): argv[0] names another program than the executable.
  impersonatorPid = await suspects.start('/usr/bin/python3', ['-c', 'import time; time.sleep(600)'], {argv0: 'cat'});
  detect = await runCli(['detect', '--format', 'json', '--no-audit'], {env, timeoutMs: 180_000});
}, 240_000);

afterAll(() => {
  suspects.stopAll();
  removeDir(dir);
});

describe('detect beside a process whose argv[0] is longer than a LIKE or GLOB pattern may be', () => {
  it('runs every rule and reports the impersonator (high)', () => {
    const output = JSON.parse(detect.stdout) as {alerts: Alert[]; summary: {failed?: string[]; timed_out?: string[]; not_run?: string[]}};
    expect(detect.stderr).not.toMatch(/pattern too complex/);
    expect(output.summary.failed ?? []).toEqual([]);
    const alert = output.alerts.find((a) => a.rule_id === 'command-line-impersonation' && a.affected_processes.includes(impersonatorPid));
    expect(alert?.severity).toBe('high');
    // The long argv[0] itself names no program of the list: it is no impersonation.
    expect(output.alerts.some((a) => a.rule_id === 'command-line-impersonation' && a.affected_processes.includes(longPid))).toBe(false);
    expect(detect.code, detect.stderr.slice(0, 2000)).toBe(0);
  });
});
