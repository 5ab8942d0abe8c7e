import {execFileSync} from 'node:child_process';
import {generateKeyPairSync} from 'node:crypto';
import {chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {createServer as createHttpServer, type Server as HttpServer} from 'node:http';
import {createServer as createTcpServer, type AddressInfo, type Server} from 'node:net';
import {dirname, join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {snapshotFromRows} from '../../src/detection/fixture-snapshot.js';
import {buildRecord, serialiseRecord} from '../../src/audit/ledger-record.js';
import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';

interface Report {
  status: string;
  components: Record<string, {component: string; status: string; reason: string; details: Record<string, unknown>}>;
}

const root = tempDir();
afterAll(() => removeDir(root));
chmodSync(root, 0o755);
const NOBODY = 65534;

/** A real ledger (the audit module's own record builder) whose detect entries carry the given times. */
function writeLedger(path: string, times: readonly number[]): string[] {
  let previous: {seq: number; entry_hash: string; frontier: Uint8Array[]} | undefined;
  const lines = times.map((time) => {
    const {record, frontier} = buildRecord(previous, {type: 'entry', time, actor: 'daemoneye detect', action: 'detection', payload: {exit_code: 0, alerts: 0}});
    previous = {seq: record.seq, entry_hash: record.entry_hash, frontier};
    return serialiseRecord(record).trimEnd();
  });
  writeFileSync(path, lines.map((line) => `${line}\n`).join(''));
  return lines;
}

const RULE = `id: test-rule
name: Test rule
description: A rule for the health test
version: 1
severity: high
category: execution
tags: [attack.t1059]
author: tests
enabled: true
sql_query: SELECT pid FROM processes WHERE name = 'nc'
`;

/** A complete, healthy set-up in its own directory; returns the config file and the env. */
function setUp(name: string, extraYaml = ''): {dir: string; config: string; env: NodeJS.ProcessEnv; ledger: string} {
  const dir = join(root, name);
  mkdirSync(join(dir, 'state', 'store'), {recursive: true});
  mkdirSync(join(dir, 'rules'), {recursive: true});
  mkdirSync(join(dir, 'keys'), {recursive: true});
  writeFileSync(join(dir, 'rules', 'test-rule.yaml'), RULE);
  const {privateKey, publicKey} = generateKeyPairSync('ed25519');
  writeFileSync(join(dir, 'keys', 'private.key'), privateKey.export({type: 'pkcs8', format: 'pem'}), {mode: 0o600});
  writeFileSync(join(dir, 'keys', 'public.key'), publicKey.export({type: 'spki', format: 'pem'}), {mode: 0o644});
  const ledger = join(dir, 'state', 'audit.ledger');
  const now = Date.now();
  writeLedger(ledger, [now - 120_000, now - 60_000, now - 1_000]);
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    `app:\n  state_dir: ${join(dir, 'state')}\n  scan_interval_ms: 300000\ndetection:\n  builtin_rules: false\n  rules_paths: [${join(dir, 'rules')}]\ncrypto:\n  private_key_path: ${join(dir, 'keys', 'private.key')}\n  public_key_path: ${join(dir, 'keys', 'public.key')}\n${extraYaml}`,
  );
  const home = join(dir, 'home');
  mkdirSync(home, {recursive: true});
  return {dir, config, env: isolatedEnv(home), ledger};
}

async function health(config: string, env: NodeJS.ProcessEnv, extra: string[] = [], asUser?: number): Promise<{code: number; report: Report; stderr: string}> {
  const result = await runCli(['health', '--config', config, '--format', 'json', ...extra], {env, ...(asUser === undefined ? {} : {asUser})});
  expect(result.stdout, result.stderr).not.toBe('');
  return {code: result.code, report: JSON.parse(result.stdout) as Report, stderr: result.stderr};
}

describe('daemoneye health', () => {
  it('reports every component healthy on a complete set-up and exits 0', async () => {
    const {config, env} = setUp('healthy');
    const {code, report, stderr} = await health(config, env);
    for (const component of Object.values(report.components)) expect(component.status, `${component.component}: ${component.reason}`).toBe('healthy');
    expect(Object.keys(report.components).sort()).toEqual(['collector', 'config', 'last_run', 'ledger', 'rules', 'sinks', 'store']);
    expect(report.status).toBe('healthy');
    expect(code).toBe(0);
    expect(stderr).toContain('health: healthy');
  });

  it('reports an unwritable store as unhealthy when run unprivileged (exit 1)', async () => {
    const {dir, config} = setUp('unwritable');
    // Readable by nobody, writable only by root; nobody's HOME and XDG dirs are its own.
    for (const path of [dir, join(dir, 'state'), join(dir, 'state', 'store'), join(dir, 'rules'), join(dir, 'keys')]) chmodSync(path, 0o755);
    chmodSync(config, 0o644);
    const home = join(dir, 'nobody-home');
    mkdirSync(home);
    chownSync(home, NOBODY, NOBODY);
    const {code, report, stderr} = await health(config, isolatedEnv(home), ['--component', 'store'], NOBODY);
    expect(report.components.store?.status).toBe('unhealthy');
    expect(report.components.store?.reason).toMatch(/store is not writable \(EACCES\)/);
    expect(code).toBe(1);
    expect(stderr).toMatch(/store: unhealthy/);
  });

  it('names the missing capabilities when the collector runs unprivileged (degraded, exit 1)', async () => {
    const {dir, config} = setUp('unprivileged-collector');
    chmodSync(dir, 0o755);
    chmodSync(config, 0o644);
    const home = join(dir, 'nobody-home');
    mkdirSync(home);
    chownSync(home, NOBODY, NOBODY);
    const {code, report} = await health(config, isolatedEnv(home), ['--component', 'collector'], NOBODY);
    expect(report.components.collector?.status).toBe('degraded');
    expect(report.components.collector?.reason).toMatch(/CAP_SYS_PTRACE missing/);
    expect(report.components.collector?.reason).toMatch(/CAP_DAC_READ_SEARCH missing/);
    expect(code).toBe(1);
  });

  it('reports a tampered ledger as unhealthy: a removed record and an altered link', async () => {
    const {config, env, ledger} = setUp('tampered');
    const lines = readFileSync(ledger, 'utf8').trimEnd().split('\n');
    writeFileSync(ledger, `${lines[0]}\n${lines[2]}\n`);
    let result = await health(config, env, ['--component', 'ledger']);
    expect(result.report.components.ledger?.status).toBe('unhealthy');
    expect(result.report.components.ledger?.reason).toMatch(/fails verification: line 2/);
    expect(result.code).toBe(1);

    writeFileSync(ledger, `${lines[0]}\n${(lines[1] as string).replace(/"prev_hash":"[0-9a-f]{4}/, '"prev_hash":"ffff')}\n${lines[2]}\n`);
    result = await health(config, env, ['--component', 'ledger']);
    expect(result.report.components.ledger?.status).toBe('unhealthy');
    expect(result.report.components.ledger?.reason).toMatch(/line 2: entry_hash does not match/);
  });

  it('reports a rule file the detection validator refuses as unhealthy, naming the file', async () => {
    const {dir, config, env} = setUp('bad-rule');
    writeFileSync(
      join(dir, 'rules', 'bad-rule.yaml'),
      RULE.replace('id: test-rule', 'id: bad-rule').replace(/sql_query: .*/, 'sql_query: DELETE FROM processes'),
    );
    const {code, report} = await health(config, env, ['--component', 'rules']);
    expect(report.components.rules?.status).toBe('unhealthy');
    expect(report.components.rules?.reason).toContain(join(dir, 'rules', 'bad-rule.yaml'));
    expect(report.components.rules?.details).toMatchObject({validator: 'rule-manager'});
    expect(code).toBe(1);
  });

  it('reports a key readable by others as unhealthy', async () => {
    const {dir, config, env} = setUp('loose-key');
    chmodSync(join(dir, 'keys', 'private.key'), 0o644);
    const {code, report} = await health(config, env, ['--component', 'ledger']);
    expect(report.components.ledger?.status).toBe('unhealthy');
    expect(report.components.ledger?.reason).toMatch(/readable by group or others \(mode 0644\): chmod 600/);
    expect(code).toBe(1);
  });

  it('does not count a refused detect (exit 2) as the last successful run; a completed one counts', async () => {
    const {dir, config, env, ledger} = setUp('refused-run');
    rmSync(ledger);
    const badRules = join(dir, 'bad-rules');
    mkdirSync(badRules);
    writeFileSync(
      join(badRules, 'bad.yaml'),
      RULE.replace('test-rule', 'bad-rule').replace(/sql_query: .*/, 'sql_query: SELECT pid FROM processes WHERE load_extension(name)'),
    );
    const refused = await runCli(['detect', '--config', config, '--rules', badRules, '--format', 'json'], {env});
    expect(refused.code, refused.stderr).toBe(2);
    const recorded = readFileSync(ledger, 'utf8');
    expect(recorded).toContain('"action":"detection_refused"');
    const {code, report} = await health(config, env, ['--component', 'last_run']);
    expect(report.components.last_run?.status).toBe('unhealthy');
    expect(report.components.last_run?.reason).toMatch(/no successful scan or detect run/);
    expect(code).toBe(1);
    const completed = await runCli(['detect', '--config', config, '--format', 'json'], {env});
    expect([0, 1], completed.stderr).toContain(completed.code);
    const after = await health(config, env, ['--component', 'last_run']);
    expect(after.report.components.last_run?.status).toBe('healthy');
    expect(after.report.components.last_run?.details.action).toBe('detection');
    expect(after.code).toBe(0);
  });

  it('reports a last run older than twice app.scan_interval_ms as stale', async () => {
    const {config, env, ledger} = setUp('stale', '');
    const now = Date.now();
    writeLedger(ledger, [now - 3_000_000, now - 700_000]);
    const {code, report} = await health(config, env, ['--component', 'last_run']);
    expect(report.components.last_run?.status).toBe('unhealthy');
    expect(report.components.last_run?.reason).toMatch(/over twice app.scan_interval_ms \(10m\)/);
    expect(code).toBe(1);
    // The same ledger with a longer interval is fresh.
    const fresh = await health(config, {...env, DAEMONEYE_APP__SCAN_INTERVAL_MS: '3600000'}, ['--component', 'last_run']);
    expect(fresh.report.components.last_run?.status).toBe('healthy');
    expect(fresh.code).toBe(0);
  });

  describe('sinks', () => {
    let tcp: Server;
    let http: HttpServer;
    let closedPort: number;
    beforeAll(async () => {
      tcp = createTcpServer((socket) => socket.destroy());
      await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
      http = createHttpServer((_request, response) => response.writeHead(405).end());
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      const closed = createTcpServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      closedPort = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
    });
    afterAll(() => {
      tcp.close();
      http.close();
    });

    function sinksYaml(tcpPort: number, httpPort: number): string {
      return `alerting:\n  sinks:\n    - {name: siem-tcp, type: syslog, protocol: tcp, host: 127.0.0.1, port: ${tcpPort}}\n    - name: hec\n      type: webhook\n      url: http://127.0.0.1:${httpPort}/services/collector\n      headers: {Authorization: Splunk secret-token-123}\n`;
    }

    it('reports reachable TCP and HTTP sinks as healthy', async () => {
      const {config, env} = setUp('sinks-up', sinksYaml((tcp.address() as AddressInfo).port, (http.address() as AddressInfo).port));
      const {code, report} = await health(config, env, ['--component', 'sinks']);
      expect(report.components.sinks?.status, report.components.sinks?.reason).toBe('healthy');
      expect(JSON.stringify(report)).toContain('answered HTTP 405');
      expect(code).toBe(0);
    });

    it('a file sink whose directory does not exist yet is healthy: detect creates it', async () => {
      const alerts = join(root, 'file-sink', 'not', 'yet', 'alerts.ndjson');
      const {config, env} = setUp('file-sink', `alerting:\n  sinks:\n    - {name: archive, type: file, path: ${alerts}}\n`);
      const {code, report} = await health(config, env, ['--component', 'sinks']);
      expect(report.components.sinks?.status, report.components.sinks?.reason).toBe('healthy');
      expect(JSON.stringify(report)).toContain('will be created');
      expect(code).toBe(0);
      const input = join(root, 'file-sink-input.db');
      writeFileSync(input, await snapshotFromRows([{pid: 7, name: 'nc'}], {scanId: 77}));
      const detected = await runCli(['detect', '--config', config, '--input', input], {env});
      expect(detected.code, detected.stderr).toBe(0);
      expect(existsSync(dirname(alerts))).toBe(true);
      // And a directory that cannot be created is still unhealthy.
      const blocked = join(root, 'file-sink-blocked');
      writeFileSync(blocked, 'a file, not a directory');
      const bad = setUp('file-sink-bad', `alerting:\n  sinks:\n    - {name: archive, type: file, path: ${join(blocked, 'sub', 'alerts.ndjson')}}\n`);
      expect((await health(bad.config, bad.env, ['--component', 'sinks'])).report.components.sinks?.status).toBe('unhealthy');
    });

    it('reports a sink on a closed loopback port as unreachable (exit 1), never printing its secrets', async () => {
      const {config, env} = setUp('sinks-down', sinksYaml(closedPort, closedPort));
      const result = await runCli(['health', '--config', config, '--component', 'sinks', '--format', 'ndjson'], {env});
      const [sinks] = parseNdjson<{component: string; status: string; reason: string}>(result.stdout);
      expect(sinks?.status).toBe('unhealthy');
      expect(sinks?.reason).toContain(`siem-tcp (127.0.0.1:${closedPort}: ECONNREFUSED)`);
      expect(sinks?.reason).toContain('hec (http://127.0.0.1');
      expect(result.stdout + result.stderr).not.toContain('secret-token-123');
      expect(result.code).toBe(1);
    });
  });

  it('reports the ledger unhealthy on a read-only state directory: the next run could not record itself', async () => {
    const {dir, config, env} = setUp('read-only-state');
    const state = join(dir, 'state');
    const saved = readFileSync(join(state, 'audit.ledger'));
    // A real read-only filesystem holding a valid ledger (the test runs as root, like CI).
    rmSync(state, {recursive: true});
    mkdirSync(state);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', state]);
    try {
      writeFileSync(join(state, 'audit.ledger'), saved);
      execFileSync('mount', ['-o', 'remount,ro', state]);
      const {code, report} = await health(config, env, ['--component', 'ledger']);
      expect(report.components.ledger?.status).toBe('unhealthy');
      expect(report.components.ledger?.reason).toMatch(/read-only filesystem: the next run cannot record itself/);
      expect(code).toBe(1);
    } finally {
      execFileSync('umount', [state]);
    }
  });

  describe('a webhook that refuses the configured credentials', () => {
    let server: HttpServer;
    const methods: string[] = [];
    beforeAll(async () => {
      // 401 unless the run's own Authorization header is sent; 405 to an authorised HEAD, like a POST-only route.
      server = createHttpServer((request, response) => {
        methods.push(request.method ?? '');
        if (request.headers.authorization !== 'Bearer right-token') return void response.writeHead(401).end();
        response.writeHead(request.method === 'POST' ? 200 : 405).end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    afterAll(() => server.close());

    const webhook = (token: string): string =>
      `alerting:\n  sinks:\n    - name: siem\n      type: webhook\n      url: http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts?tenant=t1\n      headers: {Authorization: Bearer ${token}}\n`;

    it('is unhealthy when every request would be answered 401, and healthy with the right token; no alert is sent', async () => {
      const wrong = setUp('webhook-401', webhook('wrong-token'));
      const refused = await runCli(['health', '--config', wrong.config, '--component', 'sinks', '--format', 'json'], {env: wrong.env});
      const report = JSON.parse(refused.stdout) as Report;
      expect(report.components.sinks?.status).toBe('unhealthy');
      expect(report.components.sinks?.reason).toMatch(/refused the configured credentials: HTTP 401/);
      expect(refused.code).toBe(1);
      expect(refused.stdout + refused.stderr).not.toMatch(/wrong-token|tenant=t1/);
      const right = setUp('webhook-ok', webhook('right-token'));
      const accepted = await health(right.config, right.env, ['--component', 'sinks']);
      expect(accepted.report.components.sinks?.status, accepted.report.components.sinks?.reason).toBe('healthy');
      expect(accepted.code).toBe(0);
      expect(methods.length).toBeGreaterThanOrEqual(2);
      expect(methods.every((method) => method === 'HEAD')).toBe(true);
    });
  });

  it('reports an invalid configuration as unhealthy and does not check the rest', async () => {
    const {dir, env} = setUp('bad-config');
    const config = join(dir, 'bad.yaml');
    writeFileSync(config, 'app:\n  scan_interval_ms: soon\n');
    const {code, report} = await health(config, env);
    expect(report.components.config?.status).toBe('unhealthy');
    expect(report.components.config?.reason).toMatch(/scan_interval_ms/);
    expect(report.components.store?.reason).toMatch(/not checked/);
    expect(code).toBe(1);
  });

  it('refuses an unknown component with a usage error (exit 2)', async () => {
    const {config, env} = setUp('unknown-component');
    const result = await runCli(['health', '--config', config, '--component', 'nope'], {env});
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/component/);
  });

  it('accepts the reference API name database for the store', async () => {
    const {config, env} = setUp('database-alias');
    const {code, report} = await health(config, env, ['--component', 'database']);
    expect(Object.keys(report.components)).toEqual(['store']);
    expect(code).toBe(0);
  });
});
