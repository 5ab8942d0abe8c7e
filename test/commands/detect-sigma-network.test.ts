// End to end: SigmaHQ's Linux network_connection rules (test/fixtures/sigma, DRL 1.1) run by `daemoneye
// detect --rules DIR` on a live snapshot, against real connections. In a network namespace of its own, with
// 198.51.100.7 (a documentation address, in no private range) on its loopback device, a node server listens
// on 4444 and 8080 of that address and of 127.0.0.1, and three bash processes each hold one connection made
// with bash's /dev/tcp (the reverse-shell idiom the rules name): to 198.51.100.7:4444, to 127.0.0.1:4444 and
// to 198.51.100.7:8080; a node client bound to local port 2222 connects to 198.51.100.7:8080. The three rules that read DestinationHostname are refused by name.
import {type ChildProcess, spawn} from 'node:child_process';
import {copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import type {Alert} from '../../src/models/alert.js';
import {isolatedEnv, killGroups, parseNdjson, removeDir, ROOT, runCli, tempDir} from '../helpers/cli.js';
import {waitFor} from '../helpers/wait.js';

const NETWORK = join(ROOT, 'test', 'fixtures', 'sigma', 'rules', 'linux', 'network_connection');
const REVERSE_SHELL = '83dcd9f6-9ca8-4af7-a16e-a1c7a6b51871';
const CALLBACK_PORT = 'dbfc7c98-04ab-4ab7-aa94-c74d22aa7376';
const dir = tempDir('daemoneye-sigma-net-');
const env = isolatedEnv(dir);
const tag = `sigmanet${process.pid}`;
const children: ChildProcess[] = [];
const pids: Record<string, number> = {};
let alerts: Alert[] = [];

/** The pid of the process whose argv holds `marker` (bash's $0 here), or undefined. */
function pidWith(marker: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'latin1').split('\0').includes(marker)) return Number(entry);
    } catch {
      // exited meanwhile
    }
  }
  return undefined;
}

/** Whether the process holds a socket fd (its connection is made). */
function holdsSocket(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

beforeAll(async () => {
  const rulesDir = join(dir, 'rules');
  mkdirSync(rulesDir);
  for (const name of ['net_connection_lnx_back_connect_shell_dev.yml', 'net_connection_lnx_susp_malware_callback_port.yml']) {
    copyFileSync(join(NETWORK, name), join(rulesDir, name));
  }
  const ready = join(dir, 'listening');
  const server = [
    "const n=require('net');let up=0;",
    "for(const a of ['198.51.100.7','127.0.0.1'])for(const p of [4444,8080])",
    `n.createServer(s=>s.on('error',()=>{})).listen(p,a,()=>{if(++up===4)require('fs').writeFileSync('${ready}','')});`,
  ].join('');
  // Each bash keeps its connection on fd 3 and waits in `read` (no child inherits the socket).
  const client = (address: string, port: number, name: string): string =>
    `/bin/bash -c 'exec 3<>/dev/tcp/${address}/${port}; read -t 600 x <&3' ${tag}-${name} &`;
  const script = [
    'ip link set lo up',
    'ip addr add 198.51.100.7/32 dev lo',
    `${process.execPath} -e "${server}" ${tag}-server &`,
    `while [ ! -e ${ready} ]; do sleep 0.05; done`,
    client('198.51.100.7', 4444, 'out4444'),
    client('127.0.0.1', 4444, 'loop4444'),
    client('198.51.100.7', 8080, 'out8080'),
    // A client bound to local port 2222 (a listed port): the server's accepted socket has remote port 2222.
    `${process.execPath} -e "require('net').connect({host:'198.51.100.7',port:8080,localPort:2222}).on('error',()=>{})" ${tag}-from2222 &`,
    'wait',
  ].join('; ');
  const namespace = spawn('unshare', ['-n', '/bin/sh', '-c', script.replaceAll('&;', '&')], {detached: true, stdio: 'ignore'});
  children.push(namespace);
  for (const name of ['server', 'out4444', 'loop4444', 'out8080', 'from2222']) pids[name] = await waitFor(() => pidWith(`${tag}-${name}`), name, 20_000);
  for (const name of ['out4444', 'loop4444', 'out8080', 'from2222'])
    await waitFor(() => (holdsSocket(pids[name] as number) ? true : undefined), `${name} connected`, 20_000);
  expect(existsSync(ready)).toBe(true);

  const result = await runCli(['detect', '--rules', rulesDir, '--format', 'ndjson', '--no-audit'], {env, timeoutMs: 120_000});
  if (result.code !== 0) throw new Error(`detect exited ${result.code}: ${result.stderr}`);
  alerts = parseNdjson<Alert>(result.stdout);
}, 180_000);

afterAll(() => {
  killGroups(children);
  removeDir(dir);
});

const flaggedBy = (rule: string): number[] => alerts.filter((a) => a.rule_id === rule).flatMap((a) => a.affected_processes);

describe('detect --rules DIR with SigmaHQ network_connection rules on live sockets', () => {
  it('Linux Reverse Shell Indicator: bash holding a connection to a non-loopback address, not to 127.0.0.1', () => {
    const flagged = flaggedBy(REVERSE_SHELL);
    expect(flagged).toContain(pids.out4444);
    expect(flagged).toContain(pids.out8080);
    expect(flagged).not.toContain(pids.loop4444);
    expect(flagged).not.toContain(pids.server);
  });

  it('Malware Callback Communication: an outgoing connection to a listed port, not loopback, not an accepted one, not another port', () => {
    const flagged = flaggedBy(CALLBACK_PORT);
    expect(flagged).toContain(pids.out4444);
    // 127.0.0.1 is in the rule's filter (cidr 127.0.0.0/8); 8080 is not a listed port. The server's socket
    // accepted from local port 2222 has a listed destination port, but it was accepted (Initiated false: its
    // own port 8080 is a listening port of the namespace).
    expect(flagged).not.toContain(pids.loop4444);
    expect(flagged).not.toContain(pids.out8080);
    expect(flagged).not.toContain(pids.from2222);
    expect(flagged).not.toContain(pids.server);
  });

  it('an alert names the socket: its remote address and port', () => {
    const alert = alerts.find((a) => a.rule_id === CALLBACK_PORT);
    expect(JSON.stringify(alert?.alert_data)).toMatch(/"remote_address":"198\.51\.100\.7","remote_port":4444/);
  });

  it('rules validate refuses the three rules that read DestinationHostname, naming the field and why', async () => {
    const result = await runCli(['rules', 'validate', NETWORK], {env});
    expect(result.code).not.toBe(0);
    const output = `${result.stdout}\n${result.stderr}`;
    for (const name of ['crypto_mining_indicators', 'domain_localtonet_tunnel', 'ngrok_tunnel']) {
      expect(output).toMatch(
        new RegExp(
          `net_connection_lnx_${name}\\.yml:\\d+:9: detection\\.selection\\.DestinationHostname[|a-z]*: field DestinationHostname is not supported for linux network_connection: a socket holds the peer address`,
        ),
      );
    }
    expect(output).not.toMatch(/back_connect_shell_dev\.yml:\d+/);
    expect(output).not.toMatch(/susp_malware_callback_port\.yml:\d+/);
  });
});
