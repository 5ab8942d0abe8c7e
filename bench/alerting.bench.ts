// Alert delivery throughput: 1,000 alerts to a local webhook and to syslog over UDP (peers in their own
// processes), through AlertManager as detect uses it; then the wall time `alerts deliver` adds to a CLI
// run when it redelivers a 1,000-alert spool, against the same command with nothing to deliver.
import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import {randomUUID} from 'node:crypto';
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

import {AlertManager, type AlertManagerConfig} from '../src/alerting/alert-manager.js';
import {loadSinkKinds} from '../src/alerting/sinks/sink-kinds.js';
import {SinkSchema} from '../src/config/schema.js';
import type {Alert} from '../src/models/alert.js';
import {BIN, median, report, timeCommand} from './lib.js';

const COUNT = 1000;

function alerts(count: number): Alert[] {
  return Array.from({length: count}, (_, i) => ({
    id: randomUUID(),
    alert_time: Date.now(),
    rule_id: `bench-rule-${i % 20}`,
    title: 'Suspicious Process Detected',
    description: 'Process running from a deleted executable in /tmp',
    severity: 'high',
    scan_id: 1,
    affected_processes: [1000 + i],
    process_count: 1,
    alert_data: {processes: [{pid: 1000 + i, name: `proc-${i}`, cmdline: '/tmp/.x/payload --connect 10.0.0.1'}]},
    rule_execution_time_ms: 3,
    dedupe_key: `bench-rule-${i % 20}:proc-${i}`,
    host: null,
    attack_techniques: [],
    attack_tactics: [],
  }));
}

/** A peer in its own process: prints its port, counts what it receives. */
function startPeer(kind: 'http' | 'udp'): Promise<{port: number; child: ChildProcess}> {
  const script =
    kind === 'http'
      ? `import {createServer} from 'node:http';
         const s = createServer((req, res) => { req.resume(); req.on('end', () => res.end()); });
         s.listen(0, '127.0.0.1', () => console.log(s.address().port));`
      : `import {createSocket} from 'node:dgram';
         const s = createSocket({type: 'udp4', recvBufferSize: 8 * 1024 * 1024});
         s.on('message', () => {});
         s.bind(0, '127.0.0.1', () => console.log(s.address().port));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {stdio: ['ignore', 'pipe', 'inherit']});
  return new Promise((resolve) => child.stdout!.once('data', (data: Buffer) => resolve({port: Number(String(data).trim()), child})));
}

function config(stateDir: string, sinks: unknown[]): AlertManagerConfig {
  return {
    deduplication: {enabled: false, window_minutes: 60, key_fields: ['rule_id']},
    max_queue_size: 10_000,
    delivery_timeout_ms: 30_000,
    delivery_deadline_ms: 60_000,
    state_dir: stateDir,
    sinks: sinks.map((sink) => SinkSchema.parse(sink)),
  };
}

async function throughput(label: string, stateDir: string, sink: Record<string, unknown>, runs = 5): Promise<void> {
  await loadSinkKinds();
  const samples: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const batch = alerts(COUNT);
    const started = performance.now();
    const result = await new AlertManager(config(stateDir, [sink])).deliver(batch);
    const elapsed = performance.now() - started;
    if (result.summary.delivered !== COUNT) throw new Error(`${label}: delivered ${result.summary.delivered} of ${COUNT}`);
    if (i > 0) samples.push(elapsed);
  }
  const ms = median(samples);
  process.stdout.write(`${label.padEnd(48)} median ${ms.toFixed(1).padStart(8)} ms  ${Math.round((COUNT / ms) * 1000)} alerts/s\n`);
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'daemoneye-bench-alerting-'));
  const http = await startPeer('http');
  const udp = await startPeer('udp');
  try {
    process.stdout.write(`\n## alert delivery, ${COUNT} alerts per run (library, AlertManager.deliver)\n`);
    await throughput('webhook json (local HTTP server)', join(dir, 's1'), {name: 'hook', type: 'webhook', url: `http://127.0.0.1:${http.port}/`});
    await throughput('webhook json + HMAC', join(dir, 's2'), {
      name: 'hook',
      type: 'webhook',
      url: `http://127.0.0.1:${http.port}/`,
      hmac_secret: 'k3y-for-bench',
    });
    await throughput('syslog udp', join(dir, 's3'), {name: 'sys', type: 'syslog', host: '127.0.0.1', port: udp.port});
    await throughput('file (NDJSON, fsync)', join(dir, 's4'), {name: 'file', type: 'file', path: join(dir, 'alerts.ndjson')});

    // CLI: the cost a run pays for delivering 1,000 alerts (a spool redelivered by `alerts deliver`),
    // against the same command with nothing to deliver; the spool is refilled untimed before each run.
    const stateDir = join(dir, 'cli-state');
    const withSink = join(dir, 'with-sink.yaml');
    writeFileSync(withSink, `alerting:\n  state_dir: ${stateDir}\n  sinks:\n    - {name: hook, type: webhook, url: "http://127.0.0.1:${http.port}/"}\n`);
    const without = join(dir, 'without.yaml');
    writeFileSync(without, `alerting:\n  state_dir: ${join(dir, 'empty-state')}\n`);
    const baseline = timeCommand('alerts deliver (nothing spooled)', process.execPath, [BIN, 'alerts', 'deliver', '--config', without, '--format', 'json'], {
      runs: 5,
    });
    const samples: number[] = [];
    for (let i = 0; i <= 5; i++) {
      mkdirSync(join(stateDir, 'spool'), {recursive: true});
      const entries = alerts(COUNT).map((alert) => ({alert, spooled_at: Date.now(), attempts: 1, last_error: 'bench'}));
      writeFileSync(join(stateDir, 'spool', 'hook.json'), JSON.stringify({version: 1, sink: 'hook', entries}));
      const started = performance.now();
      const result = spawnSync(process.execPath, [BIN, 'alerts', 'deliver', '--config', withSink, '--format', 'json'], {stdio: ['ignore', 'pipe', 'pipe']});
      if (result.status !== 0) throw new Error(`alerts deliver exited ${result.status}: ${String(result.stderr)}`);
      if (i > 0) samples.push(performance.now() - started);
    }
    const delivering = {label: `alerts deliver (${COUNT} spooled → webhook)`, medianMs: median(samples), minMs: Math.min(...samples), runs: 5};
    report('CLI wall time', [baseline, delivering], baseline);
    process.stdout.write(`added wall time for ${COUNT} alerts delivered in one CLI run: ${(delivering.medianMs - baseline.medianMs).toFixed(0)} ms\n`);

    await detectWithSinks(dir, http.port, udp.port);
  } finally {
    http.child.kill();
    udp.child.kill();
    rmSync(dir, {recursive: true, force: true});
  }
}

/** detect over a saved snapshot whose rule yields 1,000 alerts: without sinks, then with a webhook, then syslog/udp. */
async function detectWithSinks(dir: string, httpPort: number, udpPort: number): Promise<void> {
  const {snapshotFromRows} = await import('../src/detection/fixture-snapshot.js');
  const snapshot = join(dir, 'detect.db');
  const rows = Array.from({length: COUNT}, (_, i) => ({pid: 10_000 + i, name: `payload-${i}`, executable_path: `/tmp/payload-${i}`}));
  writeFileSync(snapshot, await snapshotFromRows(rows));
  const rules = join(dir, 'rules');
  mkdirSync(rules, {recursive: true});
  writeFileSync(
    join(rules, 'tmp.yaml'),
    "id: bench-tmp\nname: Executable in /tmp\nversion: 1\nseverity: high\nsql_query: SELECT pid, name FROM processes WHERE executable_path LIKE '/tmp/%'\n",
  );
  const configFor = (name: string, sinks: string) => {
    const path = join(dir, `detect-${name}.yaml`);
    writeFileSync(path, `detection:\n  builtin_rules: false\nalerting:\n  state_dir: ${join(dir, `detect-state-${name}`)}\n  sinks:\n${sinks}`);
    return path;
  };
  const none = configFor('none', '    []\n');
  const hook = configFor('hook', `    - {name: hook, type: webhook, url: "http://127.0.0.1:${httpPort}/"}\n`);
  const sys = configFor('udp', `    - {name: sys, type: syslog, host: 127.0.0.1, port: ${udpPort}}\n`);
  const args = (config: string) => [BIN, 'detect', '--input', snapshot, '--rules', rules, '--config', config, '--format', 'ndjson'];
  const baseline = timeCommand(`detect, ${COUNT} alerts, no sinks`, process.execPath, args(none), {runs: 5});
  const withHook = timeCommand(`detect, ${COUNT} alerts → webhook`, process.execPath, args(hook), {runs: 5});
  const withUdp = timeCommand(`detect, ${COUNT} alerts → syslog udp`, process.execPath, args(sys), {runs: 5});
  report('detect with sinks against without', [baseline, withHook, withUdp], baseline);
  for (const t of [withHook, withUdp]) process.stdout.write(`added by delivery (${t.label}): ${(t.medianMs - baseline.medianMs).toFixed(0)} ms\n`);
}
