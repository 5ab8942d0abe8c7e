import {chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync} from 'node:fs';
import {createServer, type Server} from 'node:http';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {AlertManager} from '../../src/alerting/alert-manager.js';
import {loadSinkKinds} from '../../src/alerting/sinks/sink-kinds.js';
import {spoolPath} from '../../src/alerting/spool.js';
import {closedPort, makeAlert, managerConfig, sink} from '../alerting/helpers.js';
import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';

await loadSinkKinds();
const home = tempDir();
afterAll(() => removeDir(home));
const env = isolatedEnv(home, {HOOK_TOKEN: 'tok-ABCDEF-98765'});

function configFile(name: string, port: number, stateDir: string): string {
  const path = join(home, name);
  writeFileSync(
    path,
    [
      'alerting:',
      `  state_dir: ${stateDir}`,
      '  delivery_deadline_ms: 5000',
      '  sinks:',
      '    - name: siem',
      '      type: webhook',
      `      url: http://127.0.0.1:${port}/hook`,
      '      retry_attempts: 0',
      '      headers:',
      '        Authorization: Bearer ${HOOK_TOKEN}',
      '      hmac_secret: hmac-topsecret-42',
      `    - {name: local, type: file, path: ${join(home, 'local.ndjson')}}`,
      '',
    ].join('\n'),
  );
  return path;
}

/** Spool alerts for `siem` as a failed run would have (its endpoint refuses connections). */
async function spoolAlerts(stateDir: string, port: number, count: number): Promise<string[]> {
  const alerts = Array.from({length: count}, (_, i) => makeAlert({rule_id: `r${i}`}));
  const config = managerConfig(stateDir, [sink({name: 'siem', type: 'webhook', url: `http://127.0.0.1:${port}/hook`, retry_attempts: 0})]);
  const result = await new AlertManager(config).deliver(alerts);
  expect(result.summary.spooled).toBe(count);
  return alerts.map((a) => a.id);
}

async function listen(port: number, received: {id: string; auth: string | undefined; signature: string | undefined}[]): Promise<Server> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({
        id: (JSON.parse(body) as {id: string}).id,
        auth: req.headers.authorization,
        signature: req.headers['x-daemoneye-signature'] as string | undefined,
      });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

describe('daemoneye alerts deliver', () => {
  it('reports what is still pending (exit 3), then delivers the spool once the endpoint is back (exit 0); secrets never shown', async () => {
    const port = await closedPort();
    const stateDir = join(home, 'state-1');
    const ids = await spoolAlerts(stateDir, port, 3);
    const config = configFile('c1.yaml', port, stateDir);

    const down = await runCli(['alerts', 'deliver', '--config', config, '--format', 'json', '--verbose'], {env});
    expect(down.code).toBe(3);
    const pending = JSON.parse(down.stdout) as {delivered: number; spooled: number; deliveries: {sink: string; ok: boolean; pending: number; error: string}[]};
    expect(pending).toMatchObject({delivered: 0, spooled: 3});
    expect(pending.deliveries.find((d) => d.sink === 'siem')).toMatchObject({ok: false, pending: 3});
    expect(pending.deliveries.find((d) => d.sink === 'siem')!.error).toContain('ECONNREFUSED');
    expect(down.stderr).toContain('0 spooled alert(s) delivered, 3 still pending');

    const received: {id: string; auth: string | undefined; signature: string | undefined}[] = [];
    const server = await listen(port, received);
    try {
      const up = await runCli(['alerts', 'deliver', '--config', config, '--format', 'ndjson', '--verbose'], {env});
      expect(up.code).toBe(0);
      const rows = parseNdjson<{sink: string; ok: boolean; delivered: number; redelivered: number; pending: number}>(up.stdout);
      expect(rows.find((r) => r.sink === 'siem')).toMatchObject({ok: true, delivered: 3, redelivered: 3, pending: 0});
      expect(received.map((r) => r.id).sort()).toEqual([...ids].sort());
      expect(received[0]!.auth).toBe('Bearer tok-ABCDEF-98765');
      expect(received[0]!.signature).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(existsSync(spoolPath(stateDir, 'siem'))).toBe(false);
      for (const output of [down.stdout, down.stderr, up.stdout, up.stderr]) expect(output).not.toMatch(/tok-ABCDEF-98765|hmac-topsecret-42/);

      const again = await runCli(['alerts', 'deliver', '--config', config, '--format', 'table'], {env});
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/^SINK\s+TYPE\s+OK\s+DELIVERED\s+PENDING/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('delivers only the named sink with --sink; an unknown sink is exit 2', async () => {
    const port = await closedPort();
    const stateDir = join(home, 'state-2');
    await spoolAlerts(stateDir, port, 1);
    const config = configFile('c2.yaml', port, stateDir);
    const local = await runCli(['alerts', 'deliver', '--config', config, '--sink', 'local', '--format', 'json'], {env});
    expect(local.code).toBe(0);
    expect((JSON.parse(local.stdout) as {deliveries: {sink: string}[]}).deliveries.map((d) => d.sink)).toEqual(['local']);
    const unknown = await runCli(['alerts', 'deliver', '--config', config, '--sink', 'nope'], {env});
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe('daemoneye: error: no sink named "nope" is configured (configured sinks: siem, local)');
  });

  it('reports spools of sinks that are no longer configured instead of discarding them', async () => {
    const port = await closedPort();
    const stateDir = join(home, 'state-3');
    await spoolAlerts(stateDir, port, 2);
    const path = join(home, 'c3.yaml');
    writeFileSync(path, `alerting:\n  state_dir: ${stateDir}\n`);
    const result = await runCli(['alerts', 'deliver', '--config', path, '--format', 'json'], {env});
    expect(result.code).toBe(3);
    // Its type is not known any more (the spool does not say), so it is null, not a guess.
    expect(JSON.parse(result.stdout)).toMatchObject({spooled: 2, deliveries: [{sink: 'siem', type: null, ok: false, pending: 2}]});
    expect(result.stderr).toMatch(/sink \\?"siem\\?" is no longer configured/);
  });

  it('sets a corrupt spool aside with a warning and goes on', async () => {
    const stateDir = join(home, 'state-4');
    mkdirSync(join(stateDir, 'spool'), {recursive: true});
    writeFileSync(spoolPath(stateDir, 'siem'), '{"version":1,"entries":[{"alert":');
    const config = configFile('c4.yaml', await closedPort(), stateDir);
    const result = await runCli(['alerts', 'deliver', '--config', config, '--format', 'json'], {env});
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/spool .*siem\.json is corrupt .*kept as .*corrupt-\d+/);
    expect(readdirSync(join(stateDir, 'spool')).some((name) => name.startsWith('siem.json.corrupt-'))).toBe(true);
  });

  it('bad configuration is exit 2; an unwritable state directory is exit 3 with one line', async () => {
    const bad = join(home, 'bad.yaml');
    writeFileSync(bad, 'alerting:\n  sinks:\n    - {name: x, type: webhook}\n');
    const invalid = await runCli(['alerts', 'deliver', '--config', bad], {env});
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('url');

    const locked = join(home, 'locked');
    mkdirSync(locked, {mode: 0o700});
    chmodSync(locked, 0o700);
    const unwritable = join(home, 'unwritable.yaml');
    writeFileSync(
      unwritable,
      `alerting:\n  state_dir: ${join(locked, 'alerts')}\n  sinks:\n    - {name: local, type: file, path: /tmp/never-written.ndjson}\n`,
    );
    chmodSync(home, 0o755);
    chmodSync(unwritable, 0o644);
    const denied = await runCli(['alerts', 'deliver', '--config', unwritable], {env, asUser: 65534});
    expect(denied.code).toBe(3);
    expect(denied.stderr.trim().split('\n')).toHaveLength(1);
    expect(denied.stderr).toContain('permission denied');
  });
});
