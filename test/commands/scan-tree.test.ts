// End to end: the tree of a spawned parent with three children, from a live scan, from a saved snapshot
// (--input) and from detect with the alerted child marked.
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import type {ProcessTreeNode} from '../../src/tree/process-tree.js';
import {childrenOf, LiveProcesses, SLEEP} from '../collect/live-processes.js';
import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';

const dir = tempDir();
const env = isolatedEnv(dir, {DAEMONEYE_DETECTION__BUILTIN_RULES: 'false'});
const live = new LiveProcesses();
let parent = 0;
let children: number[] = [];

beforeAll(async () => {
  // Three sleeps under one shell; the last argument tells them apart.
  parent = live.spawn('/bin/sh', ['-c', `${SLEEP} 601 & ${SLEEP} 602 & ${SLEEP} 603 & wait`]).pid!;
  for (let i = 0; i < 200 && childrenOf(parent).length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 25));
  children = childrenOf(parent);
  expect(children).toHaveLength(3);
});

afterAll(() => {
  live.killAll();
  removeDir(dir);
});

describe('scan --format tree', () => {
  it('draws the parent with its three children under it, and its ancestors above (--pid)', async () => {
    const result = await runCli(['scan', '--no-hash', '--format', 'tree', '--pid', String(parent)], {env});
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    const at = lines.findIndex((line) => new RegExp(`(^|─ )${parent} root /bin/sh `).test(line) || line.includes(`${parent} root /usr/bin/dash`));
    expect(at).toBeGreaterThan(0); // the test runner and its ancestors are above
    expect(lines.slice(at + 1, at + 4).map((line) => line.trim().replace(/^[│ ]*/, ''))).toEqual([
      `├─ ${children[0]} root ${SLEEP} 601`,
      `├─ ${children[1]} root ${SLEEP} 602`,
      `└─ ${children[2]} root ${SLEEP} 603`,
    ]);
    expect(lines.slice(at + 4).every((line) => !line.includes('sleep 60'))).toBe(true);
    expect(lines[0]).toMatch(/^1 /);
  });

  it('--tree --format ndjson nests the children for tools', async () => {
    const result = await runCli(['scan', '--no-hash', '--tree', '--format', 'ndjson', '--pid', String(parent)], {env});
    const roots = parseNdjson<ProcessTreeNode>(result.stdout);
    const find = (nodes: ProcessTreeNode[]): ProcessTreeNode | undefined => {
      for (const node of nodes) {
        if (node.pid === parent) return node;
        const below = find(node.children);
        if (below !== undefined) return below;
      }
      return undefined;
    };
    const node = find(roots);
    expect(node?.children.map((c) => [c.pid, c.command_line])).toEqual(children.map((pid, i) => [pid, [SLEEP, String(601 + i)]]));
  });

  it('works over --input (a saved snapshot) the same way', async () => {
    const file = join(dir, 'snap.db');
    expect((await runCli(['scan', '--no-hash', '--output', file], {env})).code).toBe(0);
    const result = await runCli(['scan', '--format', 'tree', '--input', file, '--pid', String(children[1])], {env});
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`${children[1]} root ${SLEEP} 602`);
    expect(result.stdout).not.toContain(`─ ${children[0]} `);
    expect(result.stdout).toMatch(new RegExp(`${parent} root `));
  });

  it('shows the sockets a saved snapshot holds (scan --tables all): a loopback listener under its process', async () => {
    const script = "const s = require('net').createServer(); s.listen(0, '127.0.0.1', () => console.log(s.address().port)); setTimeout(() => {}, 600000);";
    const listener = live.spawn(process.execPath, ['-e', script], {stdio: ['ignore', 'pipe', 'ignore']});
    const port = await new Promise<number>((resolve) => listener.stdout!.once('data', (chunk: Buffer) => resolve(Number(String(chunk).trim()))));
    const file = join(dir, 'snap-sockets.db');
    expect((await runCli(['scan', '--no-hash', '--tables', 'all', '--output', file], {env})).code).toBe(0);
    const result = await runCli(['scan', '--format', 'tree', '--input', file, '--pid', String(listener.pid)], {env});
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`tcp 127\\.0\\.0\\.1:${port} LISTEN`));
    // Without the sockets table saved, the same tree shows no socket line.
    const bare = join(dir, 'snap-bare.db');
    expect((await runCli(['scan', '--no-hash', '--tables', 'processes', '--output', bare], {env})).code).toBe(0);
    const plain = await runCli(['scan', '--format', 'tree', '--input', bare, '--pid', String(listener.pid)], {env});
    expect(plain.stdout).not.toContain(`:${port} LISTEN`);
  });
});

describe('detect --format tree', () => {
  it('marks the process that alerted in the same run', async () => {
    const rules = join(dir, 'rules');
    const {mkdirSync} = await import('node:fs');
    mkdirSync(rules);
    writeFileSync(
      join(rules, 'the-602-sleep.yaml'),
      [
        'id: test-the-602-sleep',
        'name: The second sleep',
        'description: The sleep started with 602 by this test',
        'version: 1',
        'severity: high',
        'category: execution',
        'tags: [attack.t1059]',
        'author: DaemonEye tests',
        'enabled: true',
        'references: []',
        'false_positives: []',
        'sql_query: |',
        `  SELECT pid FROM processes WHERE ppid = ${parent} AND cmdline LIKE '%602'`,
        'tests: []',
      ].join('\n'),
    );
    const result = await runCli(['detect', '--rules', rules, '--format', 'tree'], {env});
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`─ ${children[1]} root \\[alert high: test-the-602-sleep\\] ${SLEEP} 602`));
    expect(result.stdout).toMatch(new RegExp(`─ ${children[0]} root ${SLEEP} 601`));
  });
});

describe('detect --format tree, live', () => {
  it('shows the peer of an alerted process connected out, even when no rule reads the sockets table', async () => {
    // A loopback "attacker" listening, and a process connected to it, as a reverse shell would be.
    const server =
      "const s = require('net').createServer(() => {}); s.listen(0, '127.0.0.1', () => console.log(s.address().port)); setTimeout(() => {}, 600000);";
    const listener = live.spawn(process.execPath, ['-e', server], {stdio: ['ignore', 'pipe', 'ignore']});
    const port = await new Promise<number>((resolve) => listener.stdout!.once('data', (chunk: Buffer) => resolve(Number(String(chunk).trim()))));
    const client = `require('net').connect(${port}, '127.0.0.1', () => console.log('up')); setTimeout(() => {}, 600000); // tree-peer-client`;
    const connected = live.spawn(process.execPath, ['-e', client], {stdio: ['ignore', 'pipe', 'ignore']});
    await new Promise<void>((resolve) => connected.stdout!.once('data', () => resolve()));
    const rules = join(dir, 'rules-peer');
    const {mkdirSync} = await import('node:fs');
    mkdirSync(rules);
    writeFileSync(
      join(rules, 'peer-client.yaml'),
      `id: test-peer-client\nname: The connected client\nseverity: critical\nsql_query: SELECT pid FROM processes WHERE pid = ${connected.pid}\n`,
    );
    const result = await runCli(['detect', '--rules', rules, '--format', 'tree'], {env});
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    const at = lines.findIndex((line) => line.includes(`${connected.pid} root [alert critical: test-peer-client]`));
    expect(at, result.stdout.slice(0, 2000)).toBeGreaterThanOrEqual(0);
    // Under it: what the alert found, what to run next, then its sockets.
    expect(lines[at + 1]).toMatch(new RegExp(`alert test-peer-client: pid ${connected.pid}$`));
    expect(lines[at + 2]).toMatch(new RegExp(`next: daemoneye collect --pid ${connected.pid} --output case-[0-9a-f]{8}-${connected.pid}\\.tar\\.gz$`));
    expect(lines.slice(at + 3, at + 8).join('\n')).toMatch(new RegExp(`tcp 127\\.0\\.0\\.1:\\d+ → 127\\.0\\.0\\.1:${port} ESTABLISHED`));
  });
});
