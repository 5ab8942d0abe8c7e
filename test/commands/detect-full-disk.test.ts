// No alert is lost to a full or read-only state directory: with the state directory (dedupe state, spools,
// ledger, caches) on a full 64 KiB or 1 MB tmpfs, or a read-only one, `detect` (saved input and live) still
// prints every alert and delivers it to every sink that can take it (a file sink on another disk, a
// webhook), says the state was not written and exits 3; what a down sink could not take is counted as lost,
// never hidden. Needs root (mount); each tmpfs is made in a scratch directory and unmounted after.
import {execFileSync, spawn} from 'node:child_process';
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {snapshotFromRows} from '../../src/detection/fixture-snapshot.js';
import {closedPort, startHttpServer, type TestServer} from '../alerting/helpers.js';
import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {tmpExecRule, tmpProcesses} from './detection-fixtures.js';

const root = process.getuid?.() === 0;
const home = tempDir();
const env = isolatedEnv(home);
const rules = join(home, 'rules');
// The three processes of the saved input that the rule flags.
const KNOWN = ['miner', 'dropper', 'stager'];
const snapshot = join(home, 'snapshot.db');
const mounts: string[] = [];
let server: TestServer;

/** A tmpfs of `size` at a new directory `name` under home, filled to the last byte when `fill`. */
function tmpfs(name: string, size: string, fill: boolean): string {
  const dir = join(home, name);
  mkdirSync(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
  mounts.push(dir);
  mkdirSync(join(dir, 'state'), {mode: 0o700});
  if (fill) {
    // dd stops at ENOSPC (exit 1): the filesystem is then full.
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${join(dir, 'filler')}`, 'bs=4096'], {stdio: 'ignore'});
    } catch {
      // full
    }
    expect(() => writeFileSync(join(dir, 'probe'), 'x'.repeat(4096))).toThrow(/ENOSPC/);
  }
  return dir;
}

beforeAll(async () => {
  mkdirSync(rules);
  writeFileSync(join(rules, 'tmp-exec.yaml'), tmpExecRule('disk-exec-from-tmp'));
  writeFileSync(snapshot, await snapshotFromRows([...tmpProcesses(KNOWN), {pid: 103, name: 'bash', executable_path: '/usr/bin/bash'}]));
  server = await startHttpServer(() => undefined);
});
afterAll(async () => {
  await server.close();
  for (const dir of mounts.reverse()) execFileSync('umount', ['-l', dir]);
  removeDir(home);
});

/** A configuration whose whole state (app and alerting, so ledger, caches, dedupe and spools) is `state`. */
async function configFile(name: string, state: string, extraRules = ''): Promise<{path: string; archive: string}> {
  const archive = join(home, `${name}-archive.ndjson`);
  const down = await closedPort();
  const path = join(home, `${name}.yaml`);
  writeFileSync(
    path,
    [
      'app:',
      `  state_dir: ${state}`,
      'detection:',
      '  builtin_rules: false',
      extraRules,
      'alerting:',
      '  delivery_deadline_ms: 5000',
      '  deduplication: {enabled: true, window_minutes: 60, key_fields: [rule_id, process_name]}',
      '  sinks:',
      `    - {name: hook, type: webhook, url: "${server.url}", retry_attempts: 0}`,
      `    - {name: archive, type: file, path: ${archive}}`,
      `    - {name: down, type: webhook, url: "http://127.0.0.1:${down}/hook", retry_attempts: 0}`,
      '',
    ].join('\n'),
  );
  return {path, archive};
}

interface Summary {
  delivered: number;
  spooled: number;
  lost: number;
  state_errors: string[];
  deliveries: {sink: string; ok: boolean; delivered: number; pending: number; lost: number}[];
}

/** detect --input on the snapshot: every alert printed, at the webhook and in the file sink; the down sink's counted as lost. */
async function expectEveryAlertOut(config: {path: string; archive: string}, because: RegExp): Promise<Summary> {
  const before = server.requests.length;
  const result = await runCli(['detect', '--config', config.path, '--input', snapshot, '--rules', rules, '--format', 'json'], {env});
  expect(result.stderr).toMatch(because);
  expect(result.stderr).toMatch(/state was not written/);
  expect(result.code).toBe(3);
  const out = JSON.parse(result.stdout) as {alerts: {id: string; dedupe_key: string}[]; summary: Summary};
  const ids = out.alerts.map((a) => a.id).sort();
  expect(out.alerts.map((a) => a.dedupe_key).sort()).toEqual(['disk-exec-from-tmp:dropper', 'disk-exec-from-tmp:miner', 'disk-exec-from-tmp:stager']);
  expect(
    server.requests
      .slice(before)
      .map((r) => (JSON.parse(r.body) as {id: string}).id)
      .sort(),
  ).toEqual(ids);
  expect(
    parseNdjson<{id: string}>(readFileSync(config.archive, 'utf8'))
      .map((a) => a.id)
      .sort(),
  ).toEqual(ids);
  expect(out.summary.deliveries.find((d) => d.sink === 'hook')).toMatchObject({ok: true, delivered: 3});
  expect(out.summary.deliveries.find((d) => d.sink === 'archive')).toMatchObject({ok: true, delivered: 3});
  expect(out.summary.state_errors.length).toBeGreaterThan(0);
  return out.summary;
}

describe.skipIf(!root)('detect with the state directory on a full or read-only filesystem', () => {
  it('a full 64 KiB tmpfs: every alert printed and delivered where it can be; the down sink’s 3 are said lost; exit 3', async () => {
    const dir = tmpfs('full-64k', '64k', true);
    const summary = await expectEveryAlertOut(await configFile('full-64k', join(dir, 'state')), /no space left on device/);
    expect(summary.deliveries.find((d) => d.sink === 'down')).toMatchObject({ok: false, delivered: 0, pending: 0, lost: 3});
    expect(summary.lost).toBe(3);
  });

  it('a full 1 MB tmpfs: the same', async () => {
    const dir = tmpfs('full-1m', '1m', true);
    const summary = await expectEveryAlertOut(await configFile('full-1m', join(dir, 'state')), /no space left on device/);
    expect(summary.lost).toBe(3);
  });

  it('a read-only state directory: the same; the spool of an earlier run is kept, read, never lost', async () => {
    const dir = tmpfs('read-only', '1m', false);
    const config = await configFile('read-only', join(dir, 'state'));
    // A first run while writable: the down sink's alerts are spooled.
    const first = await runCli(['detect', '--config', config.path, '--input', snapshot, '--rules', rules, '--format', 'json', '--no-audit'], {env});
    expect(first.code).toBe(3);
    expect((JSON.parse(first.stdout) as {summary: Summary}).summary.deliveries.find((d) => d.sink === 'down')).toMatchObject({pending: 3, lost: 0});
    execFileSync('mount', ['-o', 'remount,ro', dir]);
    // Deduplication still reads its state: the three alerts of the first run are suppressed; a new process
    // is a new alert, printed and delivered.
    const second = join(home, 'snapshot-2.db');
    writeFileSync(second, await snapshotFromRows([...tmpProcesses(KNOWN), ...tmpProcesses(['implant'], 104)]));
    const before = server.requests.length;
    const result = await runCli(['detect', '--config', config.path, '--input', second, '--rules', rules, '--format', 'json', '--show-suppressed'], {env});
    expect(result.stderr).toMatch(/read-only file system/);
    expect(result.stderr).toMatch(/state was not written/);
    expect(result.code).toBe(3);
    const out = JSON.parse(result.stdout) as {alerts: {id: string; dedupe_key: string; suppressed?: boolean}[]; summary: Summary};
    expect(out.alerts.filter((a) => a.suppressed === true)).toHaveLength(3);
    const fresh = out.alerts.filter((a) => a.suppressed !== true);
    expect(fresh.map((a) => a.dedupe_key)).toEqual(['disk-exec-from-tmp:implant']);
    expect(server.requests.slice(before).map((r) => (JSON.parse(r.body) as {id: string}).id)).toEqual([fresh[0]!.id]);
    expect(parseNdjson<{id: string}>(readFileSync(config.archive, 'utf8')).map((a) => a.id)).toContain(fresh[0]!.id);
    // The earlier spool is still there for when the disk is writable again; the new alert could not join it.
    expect(out.summary.deliveries.find((d) => d.sink === 'down')).toMatchObject({pending: 3, lost: 1});
    // alerts deliver must rewrite the spool: on a read-only disk it says so in one line (exit 3), touching nothing.
    const deliver = await runCli(['alerts', 'deliver', '--config', config.path, '--format', 'json'], {env});
    expect(deliver.code).toBe(3);
    expect(deliver.stderr.trim().split('\n')).toHaveLength(1);
    expect(deliver.stderr).toMatch(/read-only file system/);
  });

  it('live detect on a full 64 KiB tmpfs: the alert on a process it sees is printed and delivered; exit 3', async () => {
    const dir = tmpfs('live-64k', '64k', true);
    const marker = `hostsafe-full-disk-marker-${process.pid}`;
    const rule = [
      'id: live-marker',
      'name: The marker process',
      'description: The process this test started',
      'version: 1',
      'severity: high',
      'sql_query: |',
      `  SELECT pid, name FROM processes WHERE command_line LIKE '%${marker}%'`,
      '',
    ].join('\n');
    const liveRules = join(home, 'live-rules');
    mkdirSync(liveRules);
    writeFileSync(join(liveRules, 'marker.yaml'), rule);
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => undefined, 300_000)', marker], {stdio: 'ignore'});
    try {
      const config = await configFile('live-64k', join(dir, 'state'));
      const before = server.requests.length;
      const result = await runCli(['detect', '--config', config.path, '--rules', liveRules, '--format', 'json'], {env, timeoutMs: 120_000});
      expect(result.stderr).toMatch(/no space left on device/);
      expect(result.stderr).toMatch(/state was not written/);
      expect(result.code).toBe(3);
      const out = JSON.parse(result.stdout) as {alerts: {affected_processes: number[]}[]};
      expect(out.alerts.map((a) => a.affected_processes)).toEqual([[child.pid]]);
      expect(server.requests.length - before).toBe(1);
      expect(parseNdjson(readFileSync(config.archive, 'utf8'))).toHaveLength(1);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
