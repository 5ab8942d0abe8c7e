// The live-response tables end to end, on real processes: a loopback listener, python clients holding the
// connection on fd 3 or on stdio, a bind shell, an AF_PACKET socket, a library loaded from /tmp and then
// deleted, and a shell started with HISTFILE=/dev/null. What `query` reports is checked against `ss` and
// /proc/PID/maps read in the same test, and the new built-in rules must fire on exactly these processes.
import {execFileSync} from 'node:child_process';
import {copyFileSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import type {Alert} from '../../src/models/alert.js';
import {firstLine, LiveProcesses} from '../collect/live-processes.js';
import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';

const dir = tempDir();
const env = isolatedEnv(dir);
const live = new LiveProcesses();
const isRoot = process.getuid?.() === 0;

const LISTENER = `
import socket, sys, time
tcp = socket.socket(); tcp.bind(("127.0.0.1", 0)); tcp.listen(8)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(("127.0.0.1", 0))
print(tcp.getsockname()[1], udp.getsockname()[1], flush=True)
held = []
while True:
    conn, _ = tcp.accept()
    held.append(conn)
`;

/** python -c one-liners; each prints one line when ready. */
const ON_FD3 = `import socket,sys,time
s=socket.create_connection(("127.0.0.1",int(sys.argv[1])))
print(s.fileno(),s.getsockname()[1],flush=True)
time.sleep(3600)`;
const ON_STDIO = `import socket,os,sys,time
s=socket.create_connection(("127.0.0.1",int(sys.argv[1])))
port=s.getsockname()[1]
os.dup2(s.fileno(),0); os.dup2(s.fileno(),1); s.close()
sys.stderr.write("%d\\n" % port); sys.stderr.flush()
time.sleep(3600)`;
const BIND_SHELL = `import socket,time
s=socket.socket(socket.AF_INET6); s.bind(("::1",0)); s.listen(1)
print(s.getsockname()[1],flush=True)
time.sleep(3600)`;
const PACKET = `import socket,time
s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW,socket.htons(3))
print(s.fileno(),flush=True)
time.sleep(3600)`;
const TEMP_LIBRARY = `import ctypes,os,sys,time
ctypes.CDLL(sys.argv[1])
os.unlink(sys.argv[1])
print("loaded",flush=True)
time.sleep(3600)`;

interface Started {
  listener: number;
  tcpPort: number;
  udpPort: number;
  onFd3: number;
  onStdio: number;
  bindShell: number;
  packet: number | null;
  library: number;
  libraryPath: string;
  history: number;
}
let started: Started;

/** The path of a real shared library this process has mapped (libc, or any .so), to copy to /tmp. */
function someLibrary(): string {
  const paths = readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .map((line) => line.slice(line.indexOf('/')))
    .filter((path) => /\/lib[^/]*\.so(\.\d+)*$/.test(path));
  const libc = paths.find((path) => /\/libc\.so/.test(path));
  return libc ?? (paths[0] as string);
}

function stderrLine(child: ReturnType<LiveProcesses['spawn']>): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\n')) resolve(text.slice(0, text.indexOf('\n')));
    });
    child.on('exit', () => reject(new Error(`exited: ${text}`)));
  });
}

beforeAll(async () => {
  const script = join(dir, 'listener.py');
  writeFileSync(script, LISTENER);
  const listener = live.spawn('python3', [script], {stdio: ['ignore', 'pipe', 'inherit']});
  const [tcpPort, udpPort] = (await firstLine(listener)).split(' ').map(Number) as [number, number];
  const onFd3 = live.spawn('python3', ['-c', ON_FD3, String(tcpPort)], {stdio: ['ignore', 'pipe', 'inherit']});
  await firstLine(onFd3);
  const onStdio = live.spawn('python3', ['-c', ON_STDIO, String(tcpPort)], {stdio: ['ignore', 'ignore', 'pipe']});
  await stderrLine(onStdio);
  const bindShell = live.spawn('python3', ['-c', BIND_SHELL], {stdio: ['ignore', 'pipe', 'inherit']});
  await firstLine(bindShell);
  let packet: number | null = null;
  if (isRoot) {
    const child = live.spawn('python3', ['-c', PACKET], {stdio: ['ignore', 'pipe', 'inherit']});
    await firstLine(child);
    packet = child.pid as number;
  }
  const libraryPath = join(dir, 'libinjected.so');
  copyFileSync(someLibrary(), libraryPath);
  const library = live.spawn('python3', ['-c', TEMP_LIBRARY, libraryPath], {stdio: ['ignore', 'pipe', 'inherit']});
  await firstLine(library);
  // HISTFILE=/dev/null bash -c '…sleep 3600', holding a log file it deleted on fd 3.
  const gone = join(dir, 'gone.log');
  const history = live.spawn('bash', ['-c', `exec 3>${gone}; rm ${gone}; sleep 3600`], {env: {...process.env, HISTFILE: '/dev/null'}});
  // bash exec's its last command: wait until the pid runs sleep.
  for (let i = 0; i < 200 && !readFileSync(`/proc/${history.pid}/cmdline`, 'utf8').startsWith('sleep'); i++) await new Promise((r) => setTimeout(r, 10));
  started = {
    listener: listener.pid as number,
    tcpPort,
    udpPort,
    onFd3: onFd3.pid as number,
    onStdio: onStdio.pid as number,
    bindShell: bindShell.pid as number,
    packet,
    library: library.pid as number,
    libraryPath,
    history: history.pid as number,
  };
}, 60_000);

afterAll(() => {
  live.killAll();
  removeDir(dir);
});

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const result = await runCli(['query', sql, '--format', 'ndjson', '--no-audit'], {env});
  expect(result.code, result.stderr).toBe(0);
  return withoutHost(parseNdjson(result.stdout));
}

/** Query rows carry their `host` object (docs/schema.md): checked here, then set aside. */
function withoutHost(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.map(({host, ...row}) => {
    expect(host).toMatchObject({hostname: expect.any(String), boot_id: expect.any(String)});
    return row;
  });
}

interface SsSocket {
  state: string;
  local: string;
  localPort: number;
  peer: string;
  peerPort: number;
  users: string;
  inode: number;
}

/** `ss -tanpe` / `ss -uanp -e` lines: state, queues, local, peer, users:((…)), … ino:N. */
function ss(args: string[]): SsSocket[] {
  const split = (text: string): [string, number] => {
    const colon = text.lastIndexOf(':');
    return [
      text
        .slice(0, colon)
        .replace(/^\[|\]$/g, '')
        .replace(/%.*$/, ''),
      Number(text.slice(colon + 1)),
    ];
  };
  return execFileSync('ss', args, {encoding: 'utf8'})
    .split('\n')
    .slice(1)
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const fields = line.trim().split(/\s+/);
      const [local, localPort] = split(fields[3] as string);
      const [peer, peerPort] = split(fields[4] as string);
      return {
        state: fields[0] as string,
        local,
        localPort,
        peer,
        peerPort: Number.isNaN(peerPort) ? 0 : peerPort,
        users: /users:\(\((.*?)\)\)/.exec(line)?.[1] ?? '',
        inode: Number(/ino:(\d+)/.exec(line)?.[1] ?? -1),
      };
    });
}

const SS_STATES: Record<string, string> = {ESTAB: 'ESTABLISHED', LISTEN: 'LISTEN', UNCONN: 'UNCONN', 'SYN-SENT': 'SYN_SENT', 'CLOSE-WAIT': 'CLOSE_WAIT'};

describe('live-response tables on real processes', () => {
  it('process_open_sockets agrees with ss -tanpe and ss -uanp: addresses, ports, states, inodes, fds', async () => {
    const pids = [started.listener, started.onFd3, started.onStdio, started.bindShell];
    const rows = await query(
      `SELECT pid, fd, socket, family, protocol, local_address, local_port, remote_address, remote_port, state FROM process_open_sockets WHERE pid IN (${pids.join(', ')}) AND family LIKE 'AF_INET%' ORDER BY pid, fd`,
    );
    const reference = [...ss(['-tanpe']), ...ss(['-uanpe'])];
    // listener: TCP LISTEN + UDP + 2 accepted; fd3 client; stdio client (fd 0 and 1, one socket); bind shell.
    expect(rows.filter((r) => r.pid === started.listener)).toHaveLength(4);
    expect(rows.filter((r) => r.pid === started.onStdio).map((r) => r.fd)).toEqual([0, 1]);
    const fd3 = rows.filter((r) => r.pid === started.onFd3);
    expect(fd3).toEqual([
      expect.objectContaining({fd: 3, family: 'AF_INET', protocol: 6, remote_address: '127.0.0.1', remote_port: started.tcpPort, state: 'ESTABLISHED'}),
    ]);
    expect(rows.filter((r) => r.pid === started.bindShell)).toEqual([
      expect.objectContaining({family: 'AF_INET6', local_address: '::1', state: 'LISTEN', remote_address: '::', remote_port: 0}),
    ]);
    for (const row of rows) {
      const match = reference.find((s) => s.inode === row.socket);
      expect(match, `socket ${String(row.socket)} of pid ${String(row.pid)} in ss`).toBeDefined();
      expect(match?.users).toContain(`pid=${String(row.pid)},fd=${String(row.fd)}`);
      expect([row.local_address, row.local_port]).toEqual([match?.local, match?.localPort]);
      const peer = match?.peer === '*' ? (row.family === 'AF_INET6' ? '::' : '0.0.0.0') : match?.peer;
      expect([row.remote_address, row.remote_port]).toEqual([peer, match?.peerPort]);
      expect(row.state).toBe(SS_STATES[match?.state ?? ''] ?? match?.state);
    }
  });

  it('listening_ports holds the TCP listener and the bound UDP socket, not the connections', async () => {
    const rows = await query(`SELECT protocol, family, address, port FROM listening_ports WHERE pid = ${started.listener} ORDER BY protocol`);
    expect(rows).toEqual([
      {protocol: 6, family: 'AF_INET', address: '127.0.0.1', port: started.tcpPort},
      {protocol: 17, family: 'AF_INET', address: '127.0.0.1', port: started.udpPort},
    ]);
  });

  it.runIf(isRoot)('sees the AF_PACKET socket', async () => {
    const rows = await query(`SELECT family, socket_type, protocol FROM process_open_sockets WHERE pid = ${started.packet} AND family = 'AF_PACKET'`);
    expect(rows).toEqual([{family: 'AF_PACKET', socket_type: 'RAW', protocol: 3}]);
  });

  it('process_memory_map is /proc/PID/maps line for line, the deleted /tmp library marked', async () => {
    const rows = await query(
      `SELECT start, "end", permissions, offset, device, inode, path, pseudo, deleted FROM process_memory_map WHERE pid = ${started.library} ORDER BY rowid`,
    );
    const lines = readFileSync(`/proc/${started.library}/maps`, 'utf8').trim().split('\n');
    expect(rows).toHaveLength(lines.length);
    rows.forEach((row, i) => {
      const fields = (lines[i] as string).split(/\s+/);
      const [start, end] = (fields[0] as string).split('-');
      expect([row.start, row.end, row.permissions, row.device, row.inode]).toEqual([`0x${start}`, `0x${end}`, fields[1], fields[3], Number(fields[4])]);
      expect(row.offset).toBe(Number.parseInt(fields[2] as string, 16));
    });
    const injected = rows.filter((r) => r.path === started.libraryPath);
    expect(injected.length).toBeGreaterThan(0);
    expect(injected.every((r) => r.deleted === true)).toBe(true);
    expect(rows.some((r) => r.path === '[stack]' && r.pseudo === true)).toBe(true);
  });

  it('process_libraries is one row per file mapped executable in /proc/PID/maps, spanning its executable mappings', async () => {
    const rows = await query(`SELECT path, device, inode, start, "end", deleted FROM process_libraries WHERE pid = ${started.library} ORDER BY start`);
    const expected = new Map<string, {path: string; device: string; inode: number; start: bigint; end: bigint; deleted: boolean}>();
    for (const line of readFileSync(`/proc/${started.library}/maps`, 'utf8').trim().split('\n')) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) [0-9a-f]+ (\S+) (\d+) +(\/.*)$/.exec(line);
      if (m === null || m[3]?.[2] !== 'x' || m[5] === '0') continue;
      const deleted = (m[6] as string).endsWith(' (deleted)');
      const path = deleted ? (m[6] as string).slice(0, -' (deleted)'.length) : (m[6] as string);
      const [start, end] = [BigInt(`0x${m[1]}`), BigInt(`0x${m[2]}`)];
      const key = `${m[4]} ${m[5]} ${path}`;
      const seen = expected.get(key);
      if (seen === undefined) expected.set(key, {path, device: m[4] as string, inode: Number(m[5]), start, end, deleted});
      else [seen.start, seen.end] = [start < seen.start ? start : seen.start, end > seen.end ? end : seen.end];
    }
    const hex = (n: bigint): string => `0x${n.toString(16).padStart(8, '0')}`;
    expect(rows).toEqual([...expected.values()].sort((a, b) => (a.start < b.start ? -1 : 1)).map((e) => ({...e, start: hex(e.start), end: hex(e.end)})));
    expect(rows.find((r) => r.path === started.libraryPath)).toMatchObject({deleted: true});
    expect(rows.some((r) => String(r.path).includes('python3'))).toBe(true);
  });

  it('a file really named "… (deleted)" is not taken for a deleted one; a deleted file of that name is', async () => {
    // Loads a library named "liby.so (deleted)" that stays on disk, one named "libz.so (deleted)" that it then
    // unlinks (the kernel shows it "libz.so (deleted) (deleted)"), and keeps "notes (deleted)" open on fd 3.
    const literal = join(dir, 'liby.so (deleted)');
    const unlinked = join(dir, 'libz.so (deleted)');
    const notes = join(dir, 'notes (deleted)');
    copyFileSync(someLibrary(), literal);
    copyFileSync(someLibrary(), unlinked);
    writeFileSync(notes, 'kept\n');
    const script = `import ctypes,os,sys,time
fd=os.open(sys.argv[3], os.O_RDONLY); os.dup2(fd, 3)
ctypes.CDLL(sys.argv[1]); ctypes.CDLL(sys.argv[2]); os.unlink(sys.argv[2])
print("loaded",flush=True)
time.sleep(3600)`;
    const child = live.spawn('python3', ['-c', script, literal, unlinked, notes], {stdio: ['ignore', 'pipe', 'inherit']});
    await firstLine(child);
    const pid = child.pid as number;
    const libraries = await query(`SELECT path, deleted FROM process_libraries WHERE pid = ${pid} AND path LIKE '${dir}/%' ORDER BY path`);
    expect(libraries).toEqual([
      {path: literal, deleted: false},
      {path: unlinked, deleted: true},
    ]);
    const mapped = await query(`SELECT DISTINCT path, deleted FROM process_memory_map WHERE pid = ${pid} AND path LIKE '${dir}/%' ORDER BY path`);
    expect(mapped).toEqual(libraries);
    expect(await query(`SELECT path, deleted FROM process_open_files WHERE pid = ${pid} AND fd = 3`)).toEqual([{path: notes, deleted: false}]);
  });

  it('process_envs and process_open_files', async () => {
    expect(await query(`SELECT key, value FROM process_envs WHERE pid = ${started.history} AND key LIKE 'HIST%'`)).toEqual([
      {key: 'HISTFILE', value: '/dev/null'},
    ]);
    expect(await query(`SELECT fd, path, deleted FROM process_open_files WHERE pid = ${started.history} AND fd < 10 ORDER BY fd`)).toEqual([
      {fd: 0, path: '/dev/null', deleted: false},
      {fd: 1, path: '/dev/null', deleted: false},
      {fd: 2, path: '/dev/null', deleted: false},
      {fd: 3, path: join(dir, 'gone.log'), deleted: true},
    ]);
    // (fds past 9 are what the test runner leaks into its children.) Sockets are process_open_sockets' rows, not open files.
    expect((await query(`SELECT fd FROM process_open_files WHERE pid = ${started.onStdio}`)).map((f) => f.fd)).not.toContain(0);
  });

  it('the new built-in rules fire on exactly these processes', async () => {
    const result = await runCli(['detect', '--format', 'json', '--no-audit'], {env, timeoutMs: 120_000});
    expect(result.code === 0 || result.code === 1, result.stderr).toBe(true);
    const {alerts} = JSON.parse(result.stdout) as {alerts: Alert[]};
    const flagged = (rule: string): number[] => alerts.filter((a) => a.rule_id === rule).flatMap((a) => a.affected_processes);
    const ours = new Set(Object.values(started).filter((v): v is number => typeof v === 'number'));
    const mine = (rule: string): number[] =>
      flagged(rule)
        .filter((pid) => ours.has(pid) && pid !== started.tcpPort && pid !== started.udpPort)
        .sort((a, b) => a - b);
    expect(mine('reverse-shell-socket')).toEqual([started.onFd3, started.onStdio].sort((a, b) => a - b));
    expect(mine('bind-shell-listening')).toEqual([started.bindShell]);
    if (started.packet !== null) expect(mine('raw-packet-socket')).toEqual([started.packet]);
    expect(mine('temp-dir-library')).toEqual([started.library]);
    expect(mine('deleted-library-mapped')).toEqual([started.library]);
    expect(mine('history-disabled')).toEqual([started.history]);
    // The benign listener (a script file, not inline code) is not a bind shell.
    expect(flagged('bind-shell-listening')).not.toContain(started.listener);
    // The pack reads every default live table, so the run collected them, and says so.
    const {summary} = JSON.parse(result.stdout) as {summary: {tables: string[]}};
    expect(summary.tables).toEqual(
      ['listening_ports', 'process_envs', 'process_fd_peers', 'process_libraries', 'process_open_files', 'process_open_sockets', 'processes'].sort(),
    );
  }, 120_000);

  it('a live detect collects only the tables its rules read: a rule over processes reads no socket, map or fd; a rule over a table still gets it', async () => {
    const run = async (rule: string): Promise<{tables: string[]; timing: {tables_ms: number}; alerts: Alert[]}> => {
      const result = await runCli(['detect', '--rule', rule, '--format', 'json', '--no-audit', '--log-level', 'debug', '--log-format', 'json'], {env});
      expect(result.code === 0 || result.code === 1, result.stderr).toBe(true);
      const {alerts, summary} = JSON.parse(result.stdout) as {alerts: Alert[]; summary: {tables: string[]}};
      const timing = parseNdjson<{message: string; tables_ms: number} & Record<string, number>>(result.stderr).find((line) => line.message === 'detect timing');
      // Where the CPU went, by thread: every class there, adding up to the process's CPU; the main thread did work.
      const classes = ['cpu_main_ms', 'cpu_v8_platform_ms', 'cpu_libuv_pool_ms', 'cpu_later_threads_ms', 'cpu_other_ms', 'cpu_exited_threads_ms'];
      expect(classes.reduce((sum, key) => sum + (timing?.[key] ?? Number.NaN), 0)).toBe(timing?.cpu_ms);
      expect(timing?.cpu_main_ms).toBeGreaterThan(0);
      expect(timing?.threads).toBeGreaterThanOrEqual(2);
      expect(timing?.gc_count).toBeGreaterThanOrEqual(timing?.gc_scavenges ?? Number.NaN);
      return {tables: summary.tables, timing: timing as {tables_ms: number}, alerts};
    };
    // deleted-executable reads the process_traits view, itself over processes only.
    const processesOnly = await run('deleted-executable');
    expect(processesOnly.tables).toEqual(['processes']);
    expect(processesOnly.timing.tables_ms).toBe(0);
    const envs = await run('history-disabled');
    expect(envs.tables).toEqual(['process_envs', 'processes']);
    expect(envs.timing.tables_ms).toBeGreaterThan(0);
    expect(envs.alerts.flatMap((a) => a.affected_processes)).toContain(started.history);
  }, 120_000);

  it('a saved scan records its tables; a rule reading one it lacks is reported by name, not silently empty', async () => {
    const snapshot = join(dir, 'no-maps.db');
    const scan = await runCli(['scan', '--no-hash', '--output', snapshot, '--tables', 'process_envs', '--no-audit'], {env});
    expect(scan.code, scan.stderr).toBe(0);
    expect(await queryFile(snapshot, 'SELECT tables FROM scans')).toEqual([{tables: ['processes', 'process_envs']}]);
    const detect = await runCli(['detect', '--input', snapshot, '--rule', 'temp-dir-library', '--rule', 'history-disabled', '--format', 'json', '--no-audit'], {
      env,
    });
    const report = JSON.parse(detect.stdout) as {summary: {skipped: string[]; rules: {rule_id: string; status: string; missing_tables?: string[]}[]}};
    expect(report.summary.skipped).toEqual(['temp-dir-library']);
    expect(report.summary.rules.find((r) => r.rule_id === 'temp-dir-library')).toMatchObject({status: 'skipped', missing_tables: ['process_libraries']});
    expect(detect.stderr).toMatch(/temp-dir-library not run: the snapshot did not collect process_libraries/);
    expect(detect.stderr).toMatch(/\(1 ok, 1 skipped\)/);
    // Asked for by name and unable to run: an input error, not a quiet pass.
    expect(detect.code).toBe(2);
    expect(detect.stderr).toMatch(
      /temp-dir-library: asked for with --rule, but it cannot run on .*no-maps\.db: the snapshot did not collect process_libraries/,
    );
    const tested = await runCli(['rules', 'test', 'temp-dir-library', 'history-disabled', '--input', snapshot, '--no-audit'], {env});
    expect(tested.code).toBe(1);
    expect(tested.stderr).toMatch(/FAIL temp-dir-library: input: the snapshot did not collect process_libraries/);
    expect(tested.stderr).toMatch(/PASS history-disabled/);
    const refused = await runCli(['query', 'SELECT count(*) FROM process_open_files', '--input', snapshot, '--no-audit'], {env});
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/reads process_open_files, which .*no-maps\.db did not collect/);
    const refusedJson = await runCli(['query', 'SELECT count(*) FROM process_open_files', '--input', snapshot, '--format', 'json', '--no-audit'], {env});
    expect(JSON.parse(refusedJson.stderr)).toMatchObject({error: {code: 'INPUT_INCOMPATIBLE', file: snapshot}});
    // export refuses a host table no scan collected, and prints nothing rather than an empty table.
    for (const format of ['csv', 'json', 'ndjson']) {
      const exported = await runCli(['export', '--table', 'process_libraries', '--input', snapshot, '--format', format, '--no-audit'], {env});
      expect(exported.code, format).toBe(2);
      expect(exported.stdout, format).toBe('');
      expect(exported.stderr).toMatch(/no-maps\.db did not collect process_libraries/);
    }
    const bad = await runCli(['scan', '--output', join(dir, 'x.db'), '--tables', 'processes,sockets', '--no-audit'], {env});
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--tables: unknown table sockets/);
    const empty = await runCli(['scan', '--output', join(dir, 'y.db'), '--tables', ' , ', '--no-audit'], {env});
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/--tables: no table given/);
    // Table names are SQL identifiers: case does not matter.
    const upper = await runCli(['scan', '--no-hash', '--output', join(dir, 'upper.db'), '--tables', 'Process_Envs', '--no-audit'], {env});
    expect(upper.code, upper.stderr).toBe(0);
    expect(await queryFile(join(dir, 'upper.db'), 'SELECT tables FROM scans')).toEqual([{tables: ['processes', 'process_envs']}]);
  }, 180_000);

  it('a store whose older scan lacks a table: query says which scans and how to narrow, export warns, detect runs the rule where it can', async () => {
    const store = join(dir, 'mixed-store');
    const older = await runCli(['scan', '--no-hash', '--store', store, '--tables', 'processes', '--no-audit'], {env});
    expect(older.code, older.stderr).toBe(0);
    const newer = await runCli(['scan', '--no-hash', '--store', store, '--no-audit'], {env});
    expect(newer.code, newer.stderr).toBe(0);
    const sql = `SELECT count(*) AS n FROM process_libraries WHERE pid = ${started.library}`;
    const refused = await runCli(['query', sql, '--input', store, '--no-audit'], {env});
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /reads process_libraries, which 1 of the 2 scans in .*mixed-store did not collect, the newest of them taken \S+ \(query the later scans/,
    );
    const since = /--since (\S+)`/.exec(refused.stderr)?.[1];
    expect(since).toBeDefined();
    const narrowed = await runCli(['query', sql, '--input', store, '--since', since as string, '--format', 'json', '--no-audit'], {env});
    expect(narrowed.code, narrowed.stderr).toBe(0);
    expect(JSON.parse(narrowed.stdout)).toEqual([{n: expect.any(Number), host: expect.objectContaining({hostname: expect.any(String)})}]);
    const exported = await runCli(['export', '--table', 'process_libraries', '--input', store, '--pid', String(started.library), '--no-audit'], {env});
    expect(exported.code).toBe(0);
    expect(exported.stdout).toContain(started.libraryPath);
    expect(exported.stderr).toMatch(/1 of 2 scans in range did not collect process_libraries/);
    const detect = await runCli(['detect', '--input', store, '--since', '0', '--rule', 'temp-dir-library', '--format', 'json', '--no-audit'], {env});
    const report = JSON.parse(detect.stdout) as {summary: {skipped: string[]; rules: {rule_id: string; status: string}[]}};
    expect(report.summary.skipped).toEqual([]);
    expect(report.summary.rules).toMatchObject([{rule_id: 'temp-dir-library', status: 'ok'}]);
    expect(detect.stderr).toMatch(/rule temp-dir-library ran only on the scans holding process_libraries/);
  }, 180_000);

  it.runIf(isRoot)(
    'unprivileged: what cannot be read is left out and counted, the run succeeds',
    async () => {
      const home = tempDir();
      try {
        execFileSync('chmod', ['0755', home]);
        execFileSync('chown', ['65534:65534', home]);
        const result = await runCli(
          ['query', 'SELECT s.errors, (SELECT count(*) FROM process_envs) AS envs FROM scans s', '--format', 'ndjson', '--no-audit'],
          {
            env: isolatedEnv(home),
            asUser: 65534,
          },
        );
        expect(result.code, result.stderr).toBe(0);
        const [row] = parseNdjson(result.stdout);
        expect(String(row?.errors)).toMatch(/process_envs: \d+ processes could not be read \(permission denied\)/);
      } finally {
        removeDir(home);
      }
    },
    60_000,
  );
});

async function queryFile(path: string, sql: string): Promise<Record<string, unknown>[]> {
  const result = await runCli(['query', sql, '--input', path, '--format', 'ndjson', '--no-audit'], {env});
  expect(result.code, result.stderr).toBe(0);
  return withoutHost(parseNdjson(result.stdout));
}
