// End to end: real processes flooding a scan with what one process fans out into (thousands of open fds,
// thousands of memory maps) against a live `detect` and `query` whose collection.fanout limits are lowered
// through configuration (the defaults are sized for hosts, not for a quick test). The cap holds and each
// process cut short is named; a reverse shell whose socket sits on the stdio of a flooding process, and one
// beside the flood, are both still reported; a run without a flood reads every fd and reports no limit.
import {type ChildProcess, spawn} from 'node:child_process';
import {readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {createServer, type Server, type Socket} from 'node:net';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import type {Alert} from '../../src/models/alert.js';
import {isolatedEnv, killGroups, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {SuspectProcesses} from '../helpers/suspects.js';
import {waitFor} from '../helpers/wait.js';

const dir = tempDir();
const env = isolatedEnv(dir);
const suspects = new SuspectProcesses();
const children: ChildProcess[] = [];
const sockets: Socket[] = [];
let server: Server | undefined;

/** Held fds or maps per flooding process: far past the test's limits, well within `ulimit -n` (1,024 at least). */
const FLOOD = 900;

/**
 * python3 -c holding `n` fds (/dev/null opened n times) or `n` maps (shared PROT_NONE pages: each its own
 * mapping), its stdio first dup'ed onto a TCP connection to `port` when given: a reverse shell that then floods.
 */
const HOLD = `import os, sys, mmap, socket, time
kind, n, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if port:
    s = socket.create_connection(('127.0.0.1', port))
    for fd in (0, 1, 2):
        os.dup2(s.fileno(), fd)
held = [os.open('/dev/null', os.O_RDONLY) for _ in range(n)] if kind == 'fds' else [mmap.mmap(-1, 4096, prot=0) for _ in range(n)]
time.sleep(600)
`;

function hold(kind: 'fds' | 'maps', n: number, port = 0): number {
  const child = spawn('python3', ['-c', HOLD, kind, String(n), String(port)], {detached: true, stdio: 'ignore'});
  children.push(child);
  if (child.pid === undefined) throw new Error('python3 did not start');
  return child.pid;
}

const fdsOf = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;
const mapsOf = (pid: number): number => readFileSync(`/proc/${pid}/maps`, 'latin1').split('\n').length - 1;

let fdFlood = 0;
let socketFlood = 0;
let mapsFlood = 0;
let reverseShell = 0;
const config = join(dir, 'low-limits.yaml');

beforeAll(async () => {
  server = createServer((socket) => sockets.push(socket));
  const port = await new Promise<number>((resolve) => server?.listen(0, '127.0.0.1', () => resolve((server?.address() as {port: number}).port)));
  fdFlood = hold('fds', FLOOD);
  socketFlood = hold('fds', FLOOD, port);
  mapsFlood = hold('maps', FLOOD);
  // A bash reverse shell beside the flood (started after it: a higher pid, read after the floods).
  reverseShell = await suspects.reverseShell();
  await waitFor(() => fdsOf(fdFlood) > FLOOD && fdsOf(socketFlood) > FLOOD && mapsOf(mapsFlood) > FLOOD, 'the floods');
  // The floods' limits: far below what they hold, so each is cut whatever else this host runs.
  writeFileSync(
    config,
    ['collection:', '  fanout:', '    fds: {floor: 16, ceiling: 200, budget: 300}', '    maps: {floor: 64, ceiling: 300, budget: 400}', ''].join('\n'),
  );
}, 60_000);

afterAll(() => {
  suspects.stopAll();
  for (const socket of sockets) socket.destroy();
  server?.close();
  killGroups(children);
  removeDir(dir);
});

interface Limit {
  source: string;
  pid: number;
  read: number;
  total: number | null;
}

describe('a scan flooded by what one process fans out into', () => {
  let alerts: Alert[] = [];
  let limits: Limit[] = [];
  let stderr = '';

  beforeAll(async () => {
    const detect = await runCli(['detect', '--config', config, '--format', 'json', '--no-audit'], {env, timeoutMs: 120_000});
    expect(detect.code, detect.stderr).toBe(0);
    const output = JSON.parse(detect.stdout) as {alerts: Alert[]; summary: {collection_limits: Limit[]}};
    alerts = output.alerts;
    limits = output.summary.collection_limits;
    stderr = detect.stderr;
  }, 150_000);

  it('reads no process past its share and names each one cut, with how much was read of how much', () => {
    for (const pid of [fdFlood, socketFlood]) {
      const cut = limits.find((limit) => limit.source === 'fd' && limit.pid === pid);
      expect(cut, JSON.stringify(limits)).toBeDefined();
      // At most the ceiling; every fd it holds counted (the kernel's count: Linux 6.2 and later).
      expect(cut?.read).toBeGreaterThanOrEqual(16);
      expect(cut?.read).toBeLessThanOrEqual(200);
      expect(cut?.total).toBeGreaterThan(FLOOD);
    }
    // The line on stderr: one per source, the processes holding most named first (the floods hold far more than the rest).
    const fdLine = stderr.split('\n').find((line) => line.includes('collection limit:') && line.includes('file descriptors'));
    expect(fdLine).toContain('raise collection.fanout.fds');
    // Named, unless ten processes holding even more (another flood on this host) fill the line: then counted.
    for (const pid of [fdFlood, socketFlood]) expect(fdLine?.includes(`pid ${pid}: `) === true || /; and [\d,]+ more\)/.test(fdLine ?? '')).toBe(true);
  });

  it('reads the maps of a process holding thousands of them only to its share, and says so', () => {
    const cut = limits.find((limit) => limit.source === 'maps' && limit.pid === mapsFlood);
    expect(cut, JSON.stringify(limits)).toMatchObject({total: null});
    expect(cut?.read).toBeGreaterThanOrEqual(64);
    expect(cut?.read).toBeLessThanOrEqual(300);
    // Named on stderr among the first ten when the host has few processes past the floor; counted always.
    expect(stderr).toMatch(/collection limit: [\d,]+ process(es hold|) .*more memory maps than the scan read \(pid \d+: [\d,]+ of more than [\d,]+/);
  });

  it('still reports the reverse shell on the stdio of a flooding process (its socket is among its lowest fds)', () => {
    const hit = (rule: string, pid: number): boolean => alerts.some((alert) => alert.rule_id === rule && alert.affected_processes.includes(pid));
    expect(hit('reverse-shell-socket', socketFlood)).toBe(true);
    expect(hit('shell-stdio-socket', socketFlood)).toBe(true);
  });

  it('still reports the reverse shell beside the flood', () => {
    const hit = alerts.find((alert) => alert.rule_id === 'reverse-shell-command-line' && alert.affected_processes.includes(reverseShell));
    expect(hit?.severity).toBe('critical');
    // Its inner bash reads commands from the socket: seen through the stdio of a process after the floods.
    expect(alerts.some((alert) => alert.rule_id === 'shell-stdio-socket' && alert.affected_processes.some((pid) => pid !== socketFlood))).toBe(true);
  });

  it('keeps the rows it read: the lowest fds of the flood, stdio first', async () => {
    const query = await runCli(['query', '--config', config, '--format', 'json', `SELECT fd FROM process_open_files WHERE pid = ${fdFlood} ORDER BY fd`], {
      env,
      timeoutMs: 120_000,
    });
    expect(query.code, query.stderr).toBe(0);
    const fds = (JSON.parse(query.stdout) as {fd: number}[]).map((row) => row.fd);
    expect(fds.length).toBeGreaterThanOrEqual(16);
    expect(fds.length).toBeLessThanOrEqual(200);
    // Contiguous from 0: nothing skipped below the cut.
    expect(fds).toEqual(Array.from({length: fds.length}, (_, i) => i));
  });
});

describe('a socket table flooded', () => {
  it("reads each network namespace's socket tables to their limit and says which one was cut", async () => {
    // 300 socket pairs: 600 lines of /proc/net/unix, past a limit of 100.
    const child = spawn('python3', ['-c', 'import socket, time\nheld = [socket.socketpair() for _ in range(300)]\ntime.sleep(600)'], {
      detached: true,
      stdio: 'ignore',
    });
    children.push(child);
    await waitFor(() => child.pid !== undefined && fdsOf(child.pid) >= 600, 'the socket pairs');
    const limited = join(dir, 'socket-lines.yaml');
    writeFileSync(limited, ['collection:', '  fanout:', '    socket_table_lines: 100', ''].join('\n'));
    const sql = `SELECT count(*) AS n, sum(family IS NULL) AS unknown FROM process_open_sockets WHERE pid = ${child.pid}`;
    const query = await runCli(['query', '--config', limited, '--format', 'json', sql], {
      env,
      timeoutMs: 120_000,
    });
    expect(query.code, query.stderr).toBe(0);
    expect(query.stderr).toMatch(/collection limit: \/proc\/net\/unix of network namespace \d+ lists more sockets than the scan read \(100 lines\)/);
    // Every socket fd keeps its row; those listed past the lines read are known by inode only (the header is one of the 100).
    const [row] = JSON.parse(query.stdout) as {n: number; unknown: number}[];
    expect(row?.n).toBe(600);
    expect(row?.unknown).toBeGreaterThan(500);
  }, 150_000);
});

describe('a scan without a flood', () => {
  it('reads every fd of a process holding hundreds with the default limits, and reports no limit', async () => {
    const modest = hold('fds', 300);
    await waitFor(() => fdsOf(modest) > 300 && fdsOf(modest), 'the modest process');
    const held = fdsOf(modest);
    const query = await runCli(
      [
        'query',
        '--format',
        'json',
        `SELECT (SELECT count(*) FROM process_open_files WHERE pid = ${modest}) + (SELECT count(*) FROM process_open_sockets WHERE pid = ${modest}) AS n`,
      ],
      {env, timeoutMs: 120_000},
    );
    expect(query.code, query.stderr).toBe(0);
    expect((JSON.parse(query.stdout) as {n: number}[])[0]?.n).toBe(held);
    // The floods of the other tests hold 900 each: far within the default limits, nothing is cut.
    expect(query.stderr).not.toContain('collection limit');
  }, 150_000);
});
