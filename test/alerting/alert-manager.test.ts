import {spawn} from 'node:child_process';
import {existsSync, readFileSync, writeFileSync} from 'node:fs';
import {createServer, type Server} from 'node:http';
import {join} from 'node:path';

import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import {AlertManager, alertsToPrint, deliveryFailed} from '../../src/alerting/alert-manager.js';
import {dedupeStatePath} from '../../src/alerting/dedupe.js';
import {loadSinkKinds} from '../../src/alerting/sinks/sink-kinds.js';
import {readSpool, spoolPath} from '../../src/alerting/spool.js';
import {DaemonEyeError} from '../../src/errors.js';
import {Logger} from '../../src/output/logger.js';
import {parseNdjson, removeDir, ROOT, tempDir} from '../helpers/cli.js';
import {closedPort, makeAlert, managerConfig, sink, startHttpServer, type TestServer} from './helpers.js';

// Built here with `new AlertManager` (not fromConfig): every kind the tests configure is loaded first.
await loadSinkKinds();

let dir: string;
let logLines: string[];
let logger: Logger;
let server: TestServer | undefined;

beforeEach(() => {
  dir = tempDir('daemoneye-alerting-');
  logLines = [];
  logger = new Logger({level: 'debug', format: 'text', write: (line) => logLines.push(line)});
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  removeDir(dir);
});

const fileSink = (name = 'file') => sink({name, type: 'file', path: join(dir, `${name}.ndjson`)});
const lines = (name = 'file') => (existsSync(join(dir, `${name}.ndjson`)) ? parseNdjson(readFileSync(join(dir, `${name}.ndjson`), 'utf8')) : []);

describe('deduplication across runs', () => {
  it('suppresses an alert whose key was sent within the window, on every sink, and sends it again after', async () => {
    let now = 1_000_000_000_000;
    const config = managerConfig(join(dir, 'state'), [fileSink()], {deduplication: {enabled: true, window_minutes: 60, key_fields: ['rule_id']}});
    const first = await new AlertManager(config, {logger, now: () => now}).deliver([makeAlert({dedupe_key: 'r:a'}), makeAlert({dedupe_key: 'r:b'})]);
    expect(first.alerts).toHaveLength(2);
    expect(first.summary).toMatchObject({delivered: 2, suppressed: 0, spooled: 0});

    now += 30 * 60_000;
    const secondAlerts = [makeAlert({dedupe_key: 'r:a'}), makeAlert({dedupe_key: 'r:c'})];
    const second = await new AlertManager(config, {logger, now: () => now}).deliver(secondAlerts);
    expect(second.alerts.map((a) => a.dedupe_key)).toEqual(['r:c']);
    expect(second.suppressedAlerts.map((a) => a.dedupe_key)).toEqual(['r:a']);
    expect(second.summary).toMatchObject({delivered: 1, suppressed: 1});
    expect(lines().map((l) => l.dedupe_key)).toEqual(['r:a', 'r:b', 'r:c']);

    now += 31 * 60_000;
    const third = await new AlertManager(config, {logger, now: () => now}).deliver([makeAlert({dedupe_key: 'r:a'}), makeAlert({dedupe_key: 'r:c'})]);
    expect(third.alerts.map((a) => a.dedupe_key)).toEqual(['r:a']);
    expect(third.suppressedAlerts.map((a) => a.dedupe_key)).toEqual(['r:c']);
  });

  it('tells detect what to print: passed alerts in order, suppressed ones only with --show-suppressed, marked', async () => {
    const config = managerConfig(join(dir, 'state'), [fileSink()], {deduplication: {enabled: true, window_minutes: 60, key_fields: ['rule_id']}});
    await new AlertManager(config).deliver([makeAlert({dedupe_key: 'b'})]);
    const found = [makeAlert({dedupe_key: 'a'}), makeAlert({dedupe_key: 'b'}), makeAlert({dedupe_key: 'c'})];
    const result = await new AlertManager(config).deliver(found);
    expect(alertsToPrint(found, result, false).map((a) => a.dedupe_key)).toEqual(['a', 'c']);
    const shown = alertsToPrint(found, result, true);
    expect(shown.map((a) => [a.dedupe_key, a.suppressed])).toEqual([
      ['a', undefined],
      ['b', true],
      ['c', undefined],
    ]);
    expect(deliveryFailed(result.summary)).toBe(false);
  });

  it('suppresses a repeated key within one batch; off by default, writing no state', async () => {
    const on = managerConfig(join(dir, 'on'), [], {deduplication: {enabled: true, window_minutes: 5, key_fields: ['rule_id']}});
    const result = await new AlertManager(on).deliver([makeAlert({dedupe_key: 'k'}), makeAlert({dedupe_key: 'k'})]);
    expect(result.summary.suppressed).toBe(1);

    const off = managerConfig(join(dir, 'off'), []);
    const again = await new AlertManager(off).deliver([makeAlert({dedupe_key: 'k'}), makeAlert({dedupe_key: 'k'})]);
    expect(again.alerts).toHaveLength(2);
    expect(existsSync(join(dir, 'off'))).toBe(false);
  });

  it('reports a corrupt state file, keeps it aside, rebuilds it and goes on', async () => {
    const stateDir = join(dir, 'state');
    const config = managerConfig(stateDir, [], {deduplication: {enabled: true, window_minutes: 60, key_fields: ['rule_id']}});
    await new AlertManager(config).deliver([makeAlert({dedupe_key: 'k'})]);
    writeFileSync(dedupeStatePath(stateDir), '{"version": 1, "entries": {"k": 1');
    const result = await new AlertManager(config, {logger}).deliver([makeAlert({dedupe_key: 'k'})]);
    expect(result.alerts).toHaveLength(1);
    expect(logLines.join('')).toMatch(/dedupe state .*dedupe\.json is corrupt .*kept as .*corrupt-\d+ and rebuilt/);
    expect(JSON.parse(readFileSync(dedupeStatePath(stateDir), 'utf8'))).toMatchObject({version: 1, entries: {k: expect.any(Number)}});
  });
});

describe('alert generation', () => {
  it('generates alerts keyed by alerting.deduplication.key_fields, as the detection engine does', () => {
    const manager = new AlertManager(managerConfig(dir, [], {deduplication: {enabled: true, window_minutes: 60, key_fields: ['rule_id', 'uid']}}));
    const rule = {id: 'r1', name: 'Rule one', description: null, severity: 'medium' as const};
    const alerts = manager.generateAlerts(
      rule,
      [
        {pid: 1, name: 'a', uid: 0},
        {pid: 2, name: 'b', uid: 0},
        {pid: 3, name: 'c', uid: 1000},
      ],
      {scanId: 7, executionTimeMs: 2, now: 5},
    );
    expect(alerts.map((a) => [a.dedupe_key, a.affected_processes])).toEqual([
      ['r1:0', [1, 2]],
      ['r1:1000', [3]],
    ]);
    expect(alerts[0]).toMatchObject({rule_id: 'r1', severity: 'medium', scan_id: 7, alert_time: 5, process_count: 2});
  });
});

describe('delivery, spool and redelivery', () => {
  it('spools what a down endpoint could not take and delivers it first on the next run, after the outage', async () => {
    let down = true;
    server = await startHttpServer((_req, _index, res) => {
      res.statusCode = down ? 503 : 200;
      res.end();
    });
    const stateDir = join(dir, 'state');
    const config = managerConfig(stateDir, [sink({name: 'siem', type: 'webhook', url: server.url, retry_attempts: 1})]);
    const early = [makeAlert({rule_id: 'one'}), makeAlert({rule_id: 'two'})];
    const outage = await new AlertManager(config, {logger}).deliver(early);
    expect(outage.summary.deliveries[0]).toMatchObject({sink: 'siem', ok: false, status: 503, delivered: 0, pending: 2, dropped: 0});
    expect(outage.summary.deliveries[0]!.error).toContain('HTTP 503');
    expect(outage.summary).toMatchObject({spooled: 2, delivered: 0});
    expect(readSpool(spoolPath(stateDir, 'siem'), () => undefined).map((e) => e.alert.id)).toEqual(early.map((a) => a.id));
    expect(logLines.join('')).toContain('2 alert(s) spooled for the next run');

    down = false;
    const before = server.requests.length;
    const late = makeAlert({rule_id: 'three'});
    const recovered = await new AlertManager(config, {logger}).deliver([late]);
    expect(recovered.summary.deliveries[0]).toMatchObject({ok: true, delivered: 3, redelivered: 2, pending: 0, error: null});
    const bodies = server.requests.slice(before).map((r) => (JSON.parse(r.body) as {id: string}).id);
    // Spooled alerts are started first; a few requests are in flight at once, so arrival order may vary.
    expect(bodies.sort()).toEqual([...early.map((a) => a.id), late.id].sort());
    expect(existsSync(spoolPath(stateDir, 'siem'))).toBe(false);
  });

  it('redelivers after a refused connection once the endpoint listens again (deliverSpool)', async () => {
    const port = await closedPort();
    const stateDir = join(dir, 'state');
    const config = managerConfig(stateDir, [sink({name: 'siem', type: 'webhook', url: `http://127.0.0.1:${port}/in`, retry_attempts: 0})]);
    const alert = makeAlert();
    const refused = await new AlertManager(config).deliver([alert]);
    expect(refused.summary.deliveries[0]!.error).toContain('ECONNREFUSED');
    expect(refused.summary.spooled).toBe(1);

    const received: string[] = [];
    const listening: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(body);
        res.end();
      });
    });
    await new Promise<void>((resolve) => listening.listen(port, '127.0.0.1', resolve));
    try {
      const summary = await new AlertManager(config).deliverSpool();
      expect(summary).toMatchObject({delivered: 1, spooled: 0});
      expect((JSON.parse(received[0]!) as {id: string}).id).toBe(alert.id);
    } finally {
      listening.closeAllConnections();
      await new Promise((resolve) => listening.close(resolve));
    }
  });

  it('bounds the spool by max_queue_size, dropping the oldest and counting them', async () => {
    const port = await closedPort();
    const stateDir = join(dir, 'state');
    const config = managerConfig(stateDir, [sink({name: 'siem', type: 'webhook', url: `http://127.0.0.1:${port}/`, retry_attempts: 0})], {max_queue_size: 3});
    const alerts = Array.from({length: 5}, (_, i) => makeAlert({rule_id: `r${i}`}));
    const first = await new AlertManager(config, {logger}).deliver(alerts.slice(0, 2));
    expect(first.summary).toMatchObject({spooled: 2, dropped: 0});
    const second = await new AlertManager(config, {logger}).deliver(alerts.slice(2));
    expect(second.summary).toMatchObject({spooled: 3, dropped: 2});
    expect(readSpool(spoolPath(stateDir, 'siem'), () => undefined).map((e) => e.alert.rule_id)).toEqual(['r2', 'r3', 'r4']);
    expect(logLines.join('')).toContain('dropped the 2 oldest');
  });

  it('a failed sink never stops the others; min_severity filters per sink', async () => {
    const port = await closedPort();
    const config = managerConfig(join(dir, 'state'), [
      sink({name: 'dead', type: 'webhook', url: `http://127.0.0.1:${port}/`, retry_attempts: 0}),
      fileSink('all'),
      sink({name: 'crit', type: 'file', path: join(dir, 'crit.ndjson'), min_severity: 'critical'}),
      sink({name: 'console', type: 'stdout', format: 'text'}),
    ]);
    const alerts = [makeAlert({severity: 'low'}), makeAlert({severity: 'critical'})];
    const manager = new AlertManager(config);
    expect(manager.stdoutFormat()).toBe('text');
    const result = await manager.deliver(alerts);
    expect(result.summary.deliveries.map((d) => [d.sink, d.ok, d.delivered])).toEqual([
      ['dead', false, 0],
      ['all', true, 2],
      ['crit', true, 1],
    ]);
    expect(lines('all')).toHaveLength(2);
    expect(lines('crit').map((l) => l.severity)).toEqual(['critical']);
  });

  it('--sink picks a subset; an unknown name is a usage error naming the configured sinks', async () => {
    const config = managerConfig(join(dir, 'state'), [fileSink('a'), fileSink('b')]);
    const result = await new AlertManager(config).deliver([makeAlert()], {sinkNames: ['b']});
    expect(result.summary.deliveries.map((d) => d.sink)).toEqual(['b']);
    expect(lines('a')).toHaveLength(0);
    const error = await new AlertManager(config).deliver([makeAlert()], {sinkNames: ['nope']}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DaemonEyeError);
    expect((error as DaemonEyeError).code).toBe('SINK_UNKNOWN');
    expect((error as DaemonEyeError).toOneLine()).toContain('configured sinks: a, b');
  });

  it('stops at the run deadline when an endpoint never answers; everything is spooled', async () => {
    server = await startHttpServer(() => false);
    const config = managerConfig(join(dir, 'state'), [sink({name: 'slow', type: 'webhook', url: server.url, timeout_ms: 60_000}), fileSink()], {
      delivery_deadline_ms: 700,
    });
    const started = Date.now();
    const result = await new AlertManager(config).deliver([makeAlert(), makeAlert()]);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(result.summary.deliveries[0]).toMatchObject({sink: 'slow', ok: false, pending: 2});
    expect(result.summary.deliveries[0]!.error).toContain('deadline');
    expect(result.summary.deliveries[1]).toMatchObject({sink: 'file', ok: true, delivered: 2});
  });

  it('never shows header values or the HMAC secret in errors, logs or the summary', async () => {
    server = await startHttpServer((req, _index, res) => {
      // A hostile or chatty endpoint echoing the credentials back.
      res.statusCode = 401;
      res.end(`bad token ${String(req.headers.authorization)}`);
    });
    const config = managerConfig(join(dir, 'state'), [
      sink({name: 'siem', type: 'webhook', url: server.url, headers: {Authorization: 'Bearer tok-SECRET-1'}, hmac_secret: 'hmac-SECRET-2'}),
    ]);
    const result = await new AlertManager(config, {logger}).deliver([makeAlert()]);
    expect(server.requests[0]!.headers.authorization).toBe('Bearer tok-SECRET-1');
    const shown = JSON.stringify(result) + logLines.join('') + logger.scrub('x tok-SECRET-1 hmac-SECRET-2');
    expect(shown).not.toContain('tok-SECRET-1');
    expect(shown).not.toContain('hmac-SECRET-2');
    expect(result.summary.deliveries[0]).toMatchObject({ok: false, status: 401});
  });
});

describe('crash safety', () => {
  it('a run SIGKILLed mid-delivery loses nothing: the next run delivers its written-ahead alerts', async () => {
    let answer = false;
    server = await startHttpServer((_req, _index, res) => {
      if (!answer) return false;
      res.end();
    });
    const stateDir = join(dir, 'state');
    const config = managerConfig(stateDir, [sink({name: 'siem', type: 'webhook', url: server.url, timeout_ms: 60_000})], {
      deduplication: {enabled: true, window_minutes: 60, key_fields: ['rule_id']},
    });
    const alert = makeAlert();
    const script = `
      import {AlertManager} from ${JSON.stringify(join(ROOT, 'dist/src/alerting/alert-manager.js'))};
      import {loadSinkKinds} from ${JSON.stringify(join(ROOT, 'dist/src/alerting/sinks/sink-kinds.js'))};
      await loadSinkKinds();
      await new AlertManager(${JSON.stringify(config)}).deliver([${JSON.stringify(alert)}]);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {stdio: ['ignore', 'inherit', 'inherit']});
    const deadline = Date.now() + 30_000;
    while (server.requests.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(server.requests).toHaveLength(1);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    // The killed run recorded the key (so the alert is suppressed now) and wrote the alert ahead.
    expect(readSpool(spoolPath(stateDir, 'siem'), () => undefined).map((e) => [e.alert.id, e.claimed_by])).toEqual([[alert.id, child.pid]]);

    answer = true;
    const next = await new AlertManager(config).deliver([makeAlert({dedupe_key: alert.dedupe_key})]);
    expect(next.summary).toMatchObject({suppressed: 1, delivered: 1, spooled: 0});
    expect(next.summary.deliveries[0]).toMatchObject({ok: true, redelivered: 1});
    expect((JSON.parse(server.requests.at(-1)!.body) as {id: string}).id).toBe(alert.id);
  });

  it('leaves entries another live run is delivering to it', async () => {
    const stateDir = join(dir, 'state');
    const {claimSpool} = await import('../../src/alerting/spool.js');
    const other = makeAlert();
    await claimSpool(stateDir, 'file', {add: [other], now: Date.now(), warn: () => undefined, staleAfterMs: 60_000, pid: process.ppid});
    const result = await new AlertManager(managerConfig(stateDir, [fileSink()])).deliver([makeAlert()]);
    expect(result.summary.deliveries[0]).toMatchObject({ok: true, delivered: 1, redelivered: 0, pending: 1});
    expect(lines().map((l) => l.id)).not.toContain(other.id);
  });
});

describe('locks', () => {
  it('a SIGKILLed run holding the dedupe lock does not block the next run', async () => {
    const stateDir = join(dir, 'state');
    const script = `
      import {withLock} from ${JSON.stringify(join(ROOT, 'dist/src/util/lock.js'))};
      await withLock(${JSON.stringify(dedupeStatePath(stateDir))}, () => { process.stdout.write('locked\\n'); return new Promise(() => { setInterval(() => {}, 60_000); }); });
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {stdio: ['ignore', 'pipe', 'inherit']});
    await new Promise<void>((resolve) => child.stdout.on('data', () => resolve()));
    expect(existsSync(`${dedupeStatePath(stateDir)}.lock`)).toBe(true);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const config = managerConfig(stateDir, [fileSink()], {deduplication: {enabled: true, window_minutes: 60, key_fields: ['rule_id']}});
    const result = await new AlertManager(config).deliver([makeAlert()]);
    expect(result.summary.delivered).toBe(1);
  });
});
