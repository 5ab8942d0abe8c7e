// A process's 1 MB argv must not become a 1 MB alert: the webhook POST, the spool entry, the file-sink line
// and stdout JSON each hold the alert bounded by alerting.max_alert_bytes, the cut text marked.
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {createServer, type IncomingMessage, type Server} from 'node:http';
import type {AddressInfo} from 'node:net';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {LiveProcesses} from '../collect/live-processes.js';
import {isolatedEnv, removeDir, runCli, tempDir} from '../helpers/cli.js';

const dir = tempDir();
const live = new LiveProcesses();
const bodies: Buffer[] = [];
let server: Server;
let pid = 0;

beforeAll(async () => {
  server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      bodies.push(Buffer.concat(chunks));
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // Ten arguments of 100 KB (the kernel's limit for one is 128 KiB): a 1 MB argv, as a crafted process has.
  const big = Array.from({length: 10}, (_, i) => `${String(i)}${'A'.repeat(100_000)}`);
  pid = live.spawn('/bin/sh', ['-c', 'sleep 600; :', 'alert-size-probe', ...big]).pid ?? 0;
  await new Promise((resolve) => setTimeout(resolve, 200));
});

afterAll(() => {
  live.killAll();
  server.close();
  removeDir(dir);
});

describe('an alert on a process with a 1 MB argv', () => {
  it('is bounded in stdout, the webhook body and the file sink, the cut marked', async () => {
    const rules = join(dir, 'rules');
    mkdirSync(rules, {recursive: true});
    writeFileSync(
      join(rules, 'probe.yaml'),
      `id: test-alert-size\nname: The probe\nseverity: high\nsql_query: SELECT pid, name, cmdline, command_line FROM processes WHERE pid = ${pid}\n`,
    );
    const port = (server.address() as AddressInfo).port;
    const fileSink = join(dir, 'alerts.ndjson');
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      `detection:\n  builtin_rules: false\nalerting:\n  sinks:\n    - {name: hook, type: webhook, url: "http://127.0.0.1:${port}/alerts"}\n    - {name: archive, type: file, path: ${fileSink}}\n`,
    );
    const result = await runCli(['detect', '--config', config, '--rules', rules, '--format', 'ndjson', '--no-audit'], {
      env: isolatedEnv(join(dir, 'home'), {DAEMONEYE_COLLECTION__HASH: 'false'}),
    });
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const limit = 65_536;
    expect(Buffer.byteLength(lines[0] ?? '', 'utf8')).toBeLessThanOrEqual(limit);
    const alert = JSON.parse(lines[0] ?? '{}') as {
      affected_processes: number[];
      alert_data: {cut: boolean; processes: {cmdline: string; command_line: string[]}[]};
    };
    expect(alert.affected_processes).toEqual([pid]);
    expect(alert.alert_data.cut).toBe(true);
    expect(alert.alert_data.processes[0]?.cmdline).toMatch(/…\[cut: \d+ bytes\]$/);
    expect(alert.alert_data.processes[0]?.command_line.slice(0, 4)).toEqual(['/bin/sh', '-c', 'sleep 600; :', 'alert-size-probe']);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]?.length).toBeLessThanOrEqual(limit + 1024);
    expect(bodies[0]?.toString('utf8')).toContain('…[cut: ');
    const archived = readFileSync(fileSink, 'utf8');
    expect(Buffer.byteLength(archived, 'utf8')).toBeLessThanOrEqual(limit + 1);
  });

  it('is bounded to alerting.max_alert_bytes when it is set lower', async () => {
    const rules = join(dir, 'rules');
    const result = await runCli(['detect', '--rules', rules, '--format', 'ndjson', '--no-audit'], {
      env: isolatedEnv(join(dir, 'home2'), {
        DAEMONEYE_COLLECTION__HASH: 'false',
        DAEMONEYE_DETECTION__BUILTIN_RULES: 'false',
        DAEMONEYE_ALERTING__MAX_ALERT_BYTES: '8192',
      }),
    });
    expect(result.code, result.stderr).toBe(0);
    expect(Buffer.byteLength(result.stdout.trim(), 'utf8')).toBeLessThanOrEqual(8192);
  });
});
