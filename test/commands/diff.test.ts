// End to end: a diff between two real scans with one process started and one stopped in between; a store's
// last two scans; listening ports when both snapshots hold them; detect --baseline with the built-in rule.
import {execFileSync} from 'node:child_process';
import {copyFileSync, mkdirSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import type {DiffResult} from '../../src/diff/snapshot-diff.js';
import type {Alert} from '../../src/models/alert.js';
import {LiveProcesses, SLEEP} from '../collect/live-processes.js';
import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';

const dir = tempDir();
const env = isolatedEnv(dir);
const live = new LiveProcesses();
const store = join(dir, 'store');
const before = join(dir, 'before.db');
const after = join(dir, 'after.db');
let stopped = 0;
let started = 0;
let dropped = '';

beforeAll(async () => {
  const stopping = live.spawn(SLEEP, ['611']);
  stopped = stopping.pid!;
  expect((await runCli(['scan', '--output', before, '--store', store], {env})).code).toBe(0);
  stopping.kill('SIGKILL');
  await new Promise((resolve) => stopping.once('exit', resolve));
  // A program the first scan never saw: a copy of sleep under another name.
  mkdirSync(join(dir, 'bin'));
  dropped = join(dir, 'bin', 'implant');
  copyFileSync(SLEEP, dropped);
  started = live.spawn(dropped, ['612']).pid!;
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect((await runCli(['scan', '--output', after, '--store', store], {env})).code).toBe(0);
}, 60_000);

afterAll(() => {
  live.killAll();
  removeDir(dir);
});

describe('daemoneye diff', () => {
  it('OLD NEW: the started process added, the stopped one removed, its executable new, osquery-shaped NDJSON', async () => {
    const result = await runCli(['diff', before, after], {env});
    expect(result.code).toBe(0);
    const lines = parseNdjson<DiffResult>(result.stdout);
    const added = lines.filter((l) => l.name === 'processes' && l.action === 'added').map((l) => l.columns.pid);
    const removed = lines.filter((l) => l.name === 'processes' && l.action === 'removed').map((l) => l.columns.pid);
    expect(added).toContain(started);
    expect(removed).toContain(stopped);
    expect(added).not.toContain(stopped);
    const exe = lines.find((l) => l.name === 'new_executables' && l.columns.executable_path === dropped);
    expect(exe?.columns.executable_hash).toBe(execFileSync('sha256sum', [SLEEP], {encoding: 'utf8'}).split(' ')[0]);
    expect(exe).toMatchObject({action: 'added', host: {hostname: expect.any(String)}, scan_id: expect.any(Number)});
    expect(exe?.collection_time).toBeGreaterThan(1e12);
    expect(result.stderr).toMatch(/processes added, \d+ processes removed/);
  });

  it("--format osquery: osquery's differential envelope word for word, the columns in the field contract", async () => {
    const result = await runCli(['diff', before, after, '--format', 'osquery'], {env});
    expect(result.code, result.stderr).toBe(0);
    const lines = parseNdjson<Record<string, unknown> & {columns: Record<string, unknown>}>(result.stdout);
    const added = lines.find((l) => l.name === 'processes' && l.action === 'added' && l.columns.pid === started);
    expect(Object.keys(added ?? {})).toEqual([
      'name',
      'hostIdentifier',
      'calendarTime',
      'unixTime',
      'epoch',
      'counter',
      'numerics',
      'decorations',
      'columns',
      'action',
    ]);
    expect(added?.unixTime).toBeLessThan(1e11);
    expect(added?.calendarTime).toMatch(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} UTC$/);
    expect(added?.columns).toMatchObject({pid: started, uid: expect.any(Number), user_name: expect.any(String)});
    expect(added?.columns).not.toHaveProperty('user');
  });

  it('one store: its last two scans, same result; --fail-on-change exits 1', async () => {
    const result = await runCli(['diff', store, '--fail-on-change', '--format', 'json'], {env});
    expect(result.code).toBe(1);
    const diff = JSON.parse(result.stdout) as {results: DiffResult[]};
    expect(diff.results.some((l) => l.name === 'processes' && l.action === 'added' && l.columns.pid === started)).toBe(true);
    expect((await runCli(['diff', after, after, '--fail-on-change'], {env})).code).toBe(0);
  });

  it('listening ports are compared when both snapshots hold a listening_ports table', async () => {
    const withPorts = (file: string, port: number): string => {
      const copy = `${file}.ports.db`;
      copyFileSync(file, copy);
      execFileSync('sqlite3', [
        copy,
        `INSERT INTO listening_ports (scan_id, pid, fd, socket, port, protocol, family, address, net_ns) SELECT id, 1, 3, 99, ${port}, 6, 'AF_INET', '0.0.0.0', 1 FROM scans; UPDATE scans SET tables = '["processes","listening_ports"]';`,
      ]);
      return copy;
    };
    const result = await runCli(['diff', withPorts(before, 22), withPorts(after, 4444)], {env});
    const ports = parseNdjson<DiffResult>(result.stdout).filter((l) => l.name === 'listening_ports');
    expect(ports.map((l) => [l.action, l.columns.port])).toEqual([
      ['added', 4444],
      ['removed', 22],
    ]);
    // Scans saved with the default collection.tables hold listening_ports: they are compared too.
    const plain = await runCli(['diff', before, after], {env});
    expect(plain.stderr).not.toContain('listening ports not compared');
  });

  it('bad input: a store with one scan, or three inputs, is exit 2 with one line', async () => {
    const lonely = join(dir, 'lonely');
    expect((await runCli(['scan', '--no-hash', '--store', lonely], {env})).code).toBe(0);
    const one = await runCli(['diff', lonely], {env});
    expect(one.code).toBe(2);
    expect(one.stderr).toMatch(/holds 1 scan; a diff needs two/);
    expect((await runCli(['diff', before, after, after], {env})).code).toBe(2);
  });
});

describe('detect --baseline', () => {
  it('gives rules baseline_processes; the built-in rule flags the root program absent from the baseline', async () => {
    const result = await runCli(['detect', '--baseline', before, '--rule', 'new-root-executable-since-baseline', '--format', 'ndjson'], {env});
    const alerts = parseNdjson<Alert>(result.stdout);
    const pids = alerts.flatMap((a) => a.affected_processes);
    expect(pids).toContain(started);
    expect(alerts.find((a) => a.affected_processes.includes(started))?.severity).toBe('medium');
  });

  it('without --baseline the rule is skipped and named, not failed; asked for by name it is an input error', async () => {
    const all = await runCli(['detect', '--format', 'json'], {env, timeoutMs: 120_000});
    expect(all.code === 0 || all.code === 1, all.stderr).toBe(true);
    const summary = (JSON.parse(all.stdout) as {summary: {skipped: string[]; failed: string[]; rules: {rule_id: string; status: string}[]}}).summary;
    expect(summary.skipped).toContain('new-root-executable-since-baseline');
    expect(summary.failed).toEqual([]);
    expect(summary.rules.find((r) => r.rule_id === 'new-root-executable-since-baseline')?.status).toBe('skipped');
    expect(all.stderr).toContain('rules skipped without --baseline: new-root-executable-since-baseline');
    expect(all.stderr).not.toMatch(/warn.*new-root-executable-since-baseline/);
    const named = await runCli(['detect', '--rule', 'new-root-executable-since-baseline', '--format', 'ndjson'], {env});
    expect(named.code).toBe(2);
    expect(named.stdout).toBe('');
    expect(named.stderr).toMatch(/new-root-executable-since-baseline: asked for with --rule, but it cannot run on live: it compares with a baseline/);
  });

  it('query-style rules over baseline tables: a user rule reading baseline_processes and baseline_scans', async () => {
    const rules = join(dir, 'user-rules');
    mkdirSync(rules);
    const {writeFileSync} = await import('node:fs');
    writeFileSync(
      join(rules, 'new.yaml'),
      "id: test-new-name\nname: New name\ndescription: d\nversion: 1\nseverity: low\ncategory: execution\ntags: [attack.t1059]\nauthor: t\nenabled: true\nreferences: []\nfalse_positives: []\nsql_query: |\n  SELECT pid FROM processes WHERE name = 'implant' AND name NOT IN (SELECT name FROM baseline_processes) AND (SELECT count(*) FROM baseline_scans) = 1\ntests: []\n",
    );
    const result = await runCli(['detect', '--baseline', before, '--rules', rules, '--rule', 'test-new-name', '--format', 'ndjson'], {env});
    expect(parseNdjson<Alert>(result.stdout).flatMap((a) => a.affected_processes)).toEqual([started]);
  });
});
