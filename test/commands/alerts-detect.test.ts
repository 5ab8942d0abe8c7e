// detect with alert delivery, end to end: real CLI runs, a real HTTP endpoint and file sink, dedupe
// across runs, --sink, --show-suppressed, the stdout sink's default format, spool after an outage.
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {snapshotFromRows} from '../../src/detection/fixture-snapshot.js';
import {closedPort, startHttpServer, type TestServer} from '../alerting/helpers.js';
import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {tmpExecRule, tmpProcesses} from './detection-fixtures.js';

const home = tempDir();
const env = isolatedEnv(home, {HOOK_TOKEN: 'tok-DETECT-55555'});
const snapshot = join(home, 'snapshot.db');
const rules = join(home, 'rules');
let server: TestServer;

beforeAll(async () => {
  writeFileSync(snapshot, await snapshotFromRows([...tmpProcesses(['miner', 'dropper']), {pid: 102, name: 'bash'}]));
  mkdirSync(rules);
  writeFileSync(join(rules, 'tmp-exec.yaml'), tmpExecRule('e2e-exec-from-tmp'));
  server = await startHttpServer(() => undefined);
});
afterAll(async () => {
  await server.close();
  removeDir(home);
});

function config(name: string, alerting: string): string {
  const path = join(home, `${name}.yaml`);
  writeFileSync(path, `detection:\n  builtin_rules: false\nalerting:\n  state_dir: ${join(home, `state-${name}`)}\n${alerting}`);
  return path;
}

const detect = (cfg: string, ...args: string[]) => runCli(['detect', '--config', cfg, '--input', snapshot, '--rules', rules, ...args], {env});

describe('detect with alert delivery', () => {
  it('delivers to every sink, reports deliveries in the json summary and on stderr; secrets never shown', async () => {
    const cfg = config(
      'all',
      [
        '  sinks:',
        `    - {name: hook, type: webhook, url: "${server.url}", headers: {Authorization: "Bearer \${HOOK_TOKEN}"}, hmac_secret: e2e-hmac-secret}`,
        `    - {name: archive, type: file, path: ${join(home, 'archive.ndjson')}}`,
        '',
      ].join('\n'),
    );
    const before = server.requests.length;
    const result = await detect(cfg, '--format', 'json', '--verbose');
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as {alerts: {dedupe_key: string}[]; summary: Record<string, unknown>};
    expect(out.alerts.map((a) => a.dedupe_key).sort()).toEqual(['e2e-exec-from-tmp:dropper', 'e2e-exec-from-tmp:miner']);
    expect(out.summary).toMatchObject({alert_count: 2, delivered: 4, suppressed: 0, spooled: 0, dropped: 0});
    expect(out.summary.deliveries).toMatchObject([
      {sink: 'hook', type: 'webhook', ok: true, delivered: 2, status: 200, error: null},
      {sink: 'archive', type: 'file', ok: true, delivered: 2},
    ]);
    expect(server.requests.length - before).toBe(2);
    expect(server.requests.at(-1)!.headers.authorization).toBe('Bearer tok-DETECT-55555');
    expect(parseNdjson(readFileSync(join(home, 'archive.ndjson'), 'utf8'))).toHaveLength(2);
    expect(result.stderr).toContain('sink hook (webhook): ok; 2 delivered');
    expect(result.stdout + result.stderr).not.toMatch(/tok-DETECT-55555|e2e-hmac-secret/);
  });

  it('dedupes across two runs: the second prints and sends nothing, --show-suppressed prints them marked; --fail-on still judges all', async () => {
    const cfg = config(
      'dedupe',
      ['  deduplication: {enabled: true, window_minutes: 60}', '  sinks:', `    - {name: archive, type: file, path: ${join(home, 'dedupe.ndjson')}}`, ''].join(
        '\n',
      ),
    );
    const first = await detect(cfg, '--format', 'ndjson');
    expect(first.code).toBe(0);
    expect(parseNdjson(first.stdout)).toHaveLength(2);

    const second = await detect(cfg, '--format', 'json', '--fail-on', 'high');
    expect(second.code).toBe(1);
    const out = JSON.parse(second.stdout) as {alerts: unknown[]; summary: {suppressed: number; findings: number; alert_count: number}};
    expect(out.alerts).toEqual([]);
    expect(out.summary).toMatchObject({suppressed: 2, findings: 2, alert_count: 2});
    // Said once, with the window that suppressed them.
    expect(second.stderr.split('\n').filter((line) => /suppressed/.test(line))).toEqual([
      expect.stringMatching(/2 alerts suppressed: already sent within \d+ min \(alerting\.deduplication\.window_minutes\)/),
    ]);

    const shown = await detect(cfg, '--format', 'ndjson', '--show-suppressed');
    expect(parseNdjson<{suppressed?: boolean}>(shown.stdout).map((a) => a.suppressed)).toEqual([true, true]);
    const text = await detect(cfg, '--format', 'text', '--show-suppressed');
    expect(
      text.stdout
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('  '))
        .every((l) => l.includes('[suppressed]')),
    ).toBe(true);
    expect(parseNdjson(readFileSync(join(home, 'dedupe.ndjson'), 'utf8'))).toHaveLength(2);
  });

  it('--sink picks a subset; an unknown sink is exit 2 before detection runs', async () => {
    const cfg = config(
      'subset',
      ['  sinks:', `    - {name: a, type: file, path: ${join(home, 'a.ndjson')}}`, `    - {name: b, type: file, path: ${join(home, 'b.ndjson')}}`, ''].join(
        '\n',
      ),
    );
    const result = await detect(cfg, '--sink', 'b', '--format', 'json');
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as {summary: {deliveries: {sink: string}[]}}).summary.deliveries.map((d) => d.sink)).toEqual(['b']);
    const unknown = await detect(cfg, '--sink', 'c');
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toContain('no sink named "c" is configured (configured sinks: a, b)');
  });

  it('a configured stdout sink sets the default format; alerts are printed once', async () => {
    const cfg = config('stdout', ['  sinks:', '    - {name: console, type: stdout, format: text}', ''].join('\n'));
    const result = await detect(cfg);
    expect(result.code).toBe(0);
    // Each alert once: its line, then its evidence and next step, indented.
    const lines = result.stdout.split('\n').filter((l) => l !== '' && !l.startsWith('  '));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT.* HIGH e2e-exec-from-tmp: /);
  });

  it('exit 3 and a spool when a sink is down, unless --fail-on gives 1; the next run delivers the spool first', async () => {
    const port = await closedPort();
    const cfg = config(
      'outage',
      ['  delivery_deadline_ms: 5000', '  sinks:', `    - {name: hook, type: webhook, url: "http://127.0.0.1:${port}/", retry_attempts: 0}`, ''].join('\n'),
    );
    const down = await detect(cfg, '--format', 'json');
    expect(down.code).toBe(3);
    const out = JSON.parse(down.stdout) as {alerts: unknown[]; summary: {spooled: number; deliveries: {ok: boolean; error: string}[]}};
    expect(out.alerts).toHaveLength(2);
    expect(out.summary.spooled).toBe(2);
    expect(out.summary.deliveries[0]!.error).toContain('ECONNREFUSED');
    expect(down.stderr).toContain('2 alert(s) spooled for the next run');
    const failOn = await detect(cfg, '--format', 'json', '--fail-on', 'medium');
    expect(failOn.code).toBe(1);

    const recovered = config('outage', ['  sinks:', `    - {name: hook, type: webhook, url: "${server.url}"}`, ''].join('\n'));
    const before = server.requests.length;
    const next = await detect(recovered, '--format', 'json');
    expect(next.code).toBe(0);
    const summary = (JSON.parse(next.stdout) as {summary: {spooled: number; deliveries: {redelivered: number; delivered: number}[]}}).summary;
    // 4 spooled by the two failed runs, then this run's 2.
    expect(summary.deliveries[0]).toMatchObject({redelivered: 4, delivered: 6});
    expect(summary.spooled).toBe(0);
    expect(server.requests.length - before).toBe(6);
  });

  // mkdir under /proc answers ENOENT, which sent Node's recursive mkdir into an endless synchronous loop; then the
  // delivery failed at the end of the run. Now the configuration refuses the path before anything runs (the
  // sink's own refusal, for a configuration built another way, is test/alerting/file-sink.test.ts).
  it('a file sink under /proc is an invalid configuration: exit 2, one line naming the key, nothing collected', async () => {
    const cfg = config('proc-sink', ['  sinks:', '    - {name: proc, type: file, path: /proc/daemoneye-no-such/alerts.ndjson}', ''].join('\n'));
    const result = await detect(cfg, '--format', 'json');
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringContaining('alerting.sinks.0.path: is under /proc or /sys, a kernel interface, not a place for files'),
    ]);
    expect(result.stdout).toBe('');
  });
});

describe('a UDP syslog sink', () => {
  it('on a closed loopback port fails (ICMP port unreachable): exit 3, alerts spooled, delivered once something listens', async () => {
    const {createSocket} = await import('node:dgram');
    const probe = createSocket('udp4');
    await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
    const port = probe.address().port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const cfg = config('udp-closed', `  sinks:\n    - {name: siem, type: syslog, protocol: udp, host: 127.0.0.1, port: ${port}}\n`);
    const failed = await detect(cfg);
    expect(failed.code).toBe(3);
    expect(failed.stderr).toMatch(/sink siem \(syslog\): FAILED: syslog udp:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED.*; 0 delivered, 2 pending in the spool/);
    const listener = createSocket('udp4');
    const received: string[] = [];
    listener.on('message', (data) => received.push(data.toString('utf8')));
    await new Promise<void>((resolve) => listener.bind(port, '127.0.0.1', resolve));
    try {
      const retried = await runCli(['alerts', 'deliver', '--config', cfg], {env});
      expect(retried.code, retried.stderr).toBe(0);
      expect(retried.stderr).toMatch(/2 spooled alert\(s\) delivered, 0 still pending/);
      expect(received).toHaveLength(2);
    } finally {
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    }
  });
});
