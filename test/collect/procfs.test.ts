// The Linux collector against real processes this test spawns (copies of sleep, shells, node).
import {execFileSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {copyFileSync, existsSync, mkdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {collectLiveTables} from '../../src/collect/live-tables.js';
import {collectSnapshot, newScanId} from '../../src/collect/snapshot.js';
import {unescapeBytes} from '../../src/collect/text-encoding.js';
import {LinuxPlatformDataSchema, type LinuxPlatformData, type ProcessRecord, ProcessRecordSchema} from '../../src/models/process.js';
import {ScanRecordSchema} from '../../src/models/scan.js';
import {removeDir, tempDir} from '../helpers/cli.js';
import {firstLine, LiveProcesses, SLEEP, TRUE, waitForExe} from './live-processes.js';
import {waitFor} from '../helpers/wait.js';

const live = new LiveProcesses();
const ROOT_CWD = process.cwd();
/** A program whose main thread exits (pthread_exit) while a second thread sleeps on. */
const MAIN_THREAD_EXITS_C = `#include <pthread.h>
#include <unistd.h>
static void *run(void *arg) { (void)arg; sleep(1000); return 0; }
int main(void) { pthread_t t; pthread_create(&t, 0, run, 0); pthread_exit(0); }
`;

let dir: string;
const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
const platform = (record: ProcessRecord): LinuxPlatformData => LinuxPlatformDataSchema.parse(record.platform_data);

async function snapshotOf(pid: number, options: Parameters<typeof collectSnapshot>[0] = {}): Promise<ProcessRecord> {
  const {processes} = await collectSnapshot({pids: [pid], ...options});
  expect(processes).toHaveLength(1);
  const record = ProcessRecordSchema.parse(processes[0]);
  return record;
}

/** Start a copy of sleep from `path` and wait until it runs. */
async function sleepFrom(path: string): Promise<number> {
  copyFileSync(SLEEP, path);
  const child = live.spawn(path, ['1000']);
  const pid = child.pid!;
  await waitForExe(pid, (target) => target.startsWith(path));
  return pid;
}

beforeAll(() => {
  dir = tempDir('daemoneye-collect-');
});

afterAll(() => {
  live.killAll();
  removeDir(dir);
});

describe('procfs collector on real processes', () => {
  it('a deleted binary: file_exists false, exe_deleted true, path without the marker, still hashed', async () => {
    const path = join(dir, 'sleep-deleted');
    const pid = await sleepFrom(path);
    const expected = sha256(path);
    unlinkSync(path);
    const record = await snapshotOf(pid);
    expect(record.executable_path).toBe(path);
    expect(record.file_exists).toBe(false);
    expect(record.executable_hash).toBe(expected);
    expect(record.executable_hash).toBe(sha256(SLEEP));
    expect(record.hash_algorithm).toBe('sha256');
    const data = platform(record);
    expect(data.exe_deleted).toBe(true);
    expect(data.exe_replaced).toBe(false);
    expect(data.exe_path_inode).toBeNull();
    expect(data.exe_size).toBe(statSync(SLEEP).size);
  });

  it('a file really named "x (deleted)" that is not deleted is told apart from a deleted one', async () => {
    const path = join(dir, 'x (deleted)');
    const pid = await sleepFrom(path);
    const record = await snapshotOf(pid);
    expect(record.executable_path).toBe(path);
    expect(record.file_exists).toBe(true);
    expect(platform(record).exe_deleted).toBe(false);
    expect(platform(record).exe_path_inode).toBe(statSync(path).ino);
    unlinkSync(path);
    const after = await snapshotOf(pid);
    expect(after.executable_path).toBe(path);
    expect(after.file_exists).toBe(false);
    expect(platform(after).exe_deleted).toBe(true);
  });

  it('a replaced binary (upgrade): deleted, and a different inode now at the path', async () => {
    const path = join(dir, 'daemon');
    const pid = await sleepFrom(path);
    const runningInode = statSync(path).ino;
    unlinkSync(path);
    copyFileSync(TRUE, path);
    const record = await snapshotOf(pid);
    const data = platform(record);
    expect(record.file_exists).toBe(false);
    expect(data.exe_deleted).toBe(true);
    expect(data.exe_replaced).toBe(true);
    expect(data.exe_inode).toBe(runningInode);
    expect(data.exe_path_inode).toBe(statSync(path).ino);
    expect(data.exe_mtime).toBe(Math.trunc(statSync(path).mtimeMs));
    // The hash is of the running image (the old file), not of the new file now at the path.
    expect(record.executable_hash).toBe(sha256(SLEEP));
    expect(record.executable_hash).not.toBe(sha256(path));
  });

  it('argv with spaces, quotes, unicode, an empty argument and a newline round-trips exactly', async () => {
    const args = ['-c', 'sleep 1000; :', 'argv0', 'two words', `"double" and 'single'`, 'ünïcødé ✓ 日本', '', 'line1\nline2', '  '];
    const child = live.spawn('/bin/sh', args);
    await waitForExe(child.pid!, (target) => target.endsWith('sh') || target.endsWith('dash') || target.endsWith('bash'));
    const record = await snapshotOf(child.pid!, {redaction: null});
    expect(record.command_line).toEqual(['/bin/sh', ...args]);
  });

  it('a renamed argv[0] is reported as given; the exe link still names the real file', async () => {
    const child = live.spawn(SLEEP, ['1000'], {argv0: '[kworker/0:7]'});
    await waitForExe(child.pid!, (target) => target === realpathSync(SLEEP));
    const record = await snapshotOf(child.pid!);
    expect(record.command_line).toEqual(['[kworker/0:7]', '1000']);
    expect(record.executable_path).toBe(realpathSync(SLEEP));
    expect(record.name).toBe('sleep');
    expect(platform(record).kernel_thread).toBe(false);
  });

  it('bytes that are not UTF-8 in argv and the executable path: escaped losslessly, flagged, and the file still found', async () => {
    // `exec -a $'\xff\xfeupd'` on a copy of sleep whose own name holds the same bytes.
    const nameBytes = Buffer.from([0xff, 0xfe, ...Buffer.from('upd')]);
    const pathBytes = Buffer.concat([Buffer.from(`${dir}/`), nameBytes]);
    copyFileSync(SLEEP, pathBytes);
    const child = live.spawn('/bin/bash', ['-c', `exec -a $'\\xff\\xfeupd\\\\x' $'${dir}/\\xff\\xfeupd' 1000`]);
    await waitForExe(child.pid!, (target) => target.startsWith(`${dir}/`));
    const record = await snapshotOf(child.pid!, {redaction: null});
    const data = platform(record);
    expect(data.bytes_escaped).toBe(true);
    // The trailing backslash stays single: `x` and the end of the text do not read as an escape.
    expect(record.command_line).toEqual(['\\xff\\xfeupd\\x', '1000']);
    expect(record.executable_path).toBe(`${dir}/\\xff\\xfeupd`);
    expect(unescapeBytes(record.executable_path!)).toEqual(pathBytes);
    expect(unescapeBytes(record.command_line[0]!)).toEqual(Buffer.concat([nameBytes, Buffer.from('\\x')]));
    // The name (comm, from the file name) takes the same escape; each field is escaped on its own, so the
    // working directory, all UTF-8, is its plain text.
    expect(record.name).toBe('\\xff\\xfeupd');
    expect(data.cwd).toBe(ROOT_CWD);
    // Read as bytes, the path finds its file: inode, existence and hash are right.
    expect(record.file_exists).toBe(true);
    expect(data.exe_path_inode).toBe(statSync(pathBytes).ino);
    expect(data.exe_replaced).toBe(false);
    expect(record.executable_hash).toBe(sha256(SLEEP));
  });

  it('a process whose main thread exited (pthread_exit in main) is read through a live thread', async () => {
    const source = join(dir, 'main-exits.c');
    writeFileSync(source, MAIN_THREAD_EXITS_C);
    const binary = join(dir, 'main-exits');
    execFileSync('cc', ['-O2', '-pthread', '-o', binary, source]);
    const child = live.spawn(binary, ['--beacon', '127.0.0.1'], {cwd: dir, stdio: ['ignore', 'ignore', 'ignore']});
    const pid = child.pid!;
    await waitFor(() => readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]?.startsWith('Z') === true, 'zombie state');
    expect(() => readlinkSync(`/proc/${pid}/exe`)).toThrow();
    const record = await snapshotOf(pid);
    const data = platform(record);
    expect(data.state).toBe('Z');
    expect(data.live_thread_tid).toBeGreaterThan(pid);
    expect(record.executable_path).toBe(binary);
    expect(record.command_line).toEqual([binary, '--beacon', '127.0.0.1']);
    expect(record.file_exists).toBe(true);
    expect(record.executable_hash).toBe(sha256(binary));
    expect(data.cwd).toBe(dir);
    expect(data.stdin).toBe('/dev/null');
    expect(data.environ_readable).toBe(true);
    // An ordinary process is read from its own entry.
    expect(platform(await snapshotOf(process.pid)).live_thread_tid).toBeNull();
  });

  it('our own process: exact argv and exe, uid, cwd, namespaces, ppid and parent start time', async () => {
    const record = await snapshotOf(process.pid);
    expect(record.command_line).toEqual(readFileSync('/proc/self/cmdline', 'utf8').replace(/\0$/, '').split('\0'));
    expect(record.executable_path).toBe(realpathSync(process.execPath));
    expect(record.file_exists).toBe(true);
    expect(record.ppid).toBe(process.ppid);
    expect(record.user_id).toBe(String(process.getuid!()));
    expect(record.accessible).toBe(true);
    const data = platform(record);
    expect(data.cwd).toBe(process.cwd());
    expect(data.euid).toBe(process.geteuid!());
    expect(data.pid_ns).toBe(Number(/\d+/.exec(readlinkSync('/proc/self/ns/pid'))![0]));
    expect(data.mnt_ns).toBe(Number(/\d+/.exec(readlinkSync('/proc/self/ns/mnt'))![0]));
    expect(data.net_ns).toBe(Number(/\d+/.exec(readlinkSync('/proc/self/ns/net'))![0]));
    expect(data.exe_inode).toBe(statSync(process.execPath).ino);
    expect(data.exe_replaced).toBe(false);
    expect(data.threads).toBeGreaterThanOrEqual(1);
    expect(data.parent_start_time).not.toBeNull();
    expect(data.parent_start_time!).toBeLessThanOrEqual(record.start_time!);
    expect(data.entity_id).toMatch(/^[0-9a-f]{32}$/);
    expect(record.executable_hash).toBe(sha256(process.execPath));
    // Started within the last hour and not in the future (start_time comes from ticks and btime).
    expect(record.start_time!).toBeLessThanOrEqual(Date.now() + 1000);
    expect(record.start_time!).toBeGreaterThan(Date.now() - 3_600_000);
    expect(record.memory_usage!).toBeGreaterThan(1024 * 1024);
  });

  it('fileless execution from a memfd: exe_memfd, no file on disk, still hashed', async () => {
    // Perl: memfd_create(2) by syscall number (x86_64: 319, arm64: 279), copy sleep into it, exec it.
    const memfdSyscall = process.arch === 'arm64' ? 279 : 319;
    const script = `my $name = "payload"; my $fd = syscall(${memfdSyscall}, $name, 0); die "memfd: $!" if $fd < 0;
      open(my $in, "<:raw", "${SLEEP}") or die; open(my $out, ">&=", $fd) or die "dup: $!"; binmode $out;
      local $/; my $data = <$in>; print $out $data; close $in; $out->flush;
      exec {"/proc/self/fd/$fd"} "payload", "1000" or die "exec: $!";`;
    const child = live.spawn('perl', ['-e', script]);
    await waitForExe(child.pid!, (target) => target.startsWith('/memfd:'));
    const record = await snapshotOf(child.pid!);
    const data = platform(record);
    expect(record.executable_path).toBe('/memfd:payload');
    expect(record.file_exists).toBe(false);
    expect(record.command_line).toEqual(['payload', '1000']);
    expect(data.exe_memfd).toBe(true);
    expect(data.exe_path_inode).toBeNull();
    expect(record.executable_hash).toBe(sha256(SLEEP));
  });

  it('kernel threads: null exe, empty argv, kernel_thread true, parent 2 or 0', async () => {
    const {processes} = await collectSnapshot({hash: false});
    const kernel = processes.filter((p) => platform(p).kernel_thread === true);
    expect(kernel.length).toBeGreaterThan(0);
    for (const record of kernel) {
      expect(record.executable_path).toBeNull();
      expect(record.command_line).toEqual([]);
      expect(record.file_exists).toBe(false);
      expect([0, 2]).toContain(record.ppid);
      expect(record.memory_usage).toBe(0);
    }
    expect(kernel.find((p) => p.pid === 2)?.name).toBe('kthreadd');
  });

  it('fds, LD_PRELOAD from the environment, and nothing else from the environment', async () => {
    const child = live.spawn(SLEEP, ['1000'], {
      stdio: ['pipe', 'ignore', 'ignore'],
      env: {PATH: process.env.PATH, LD_PRELOAD: '/nonexistent/libdaemoneye-test.so', LD_AUDIT: '/nonexistent/audit.so', MY_TOKEN: 'do-not-leak-7391'},
    });
    await waitForExe(child.pid!, (target) => target === realpathSync(SLEEP));
    const {processes, scan} = await collectSnapshot({pids: [child.pid!]});
    const data = platform(processes[0]!);
    expect(data.ld_preload).toBe('/nonexistent/libdaemoneye-test.so');
    expect(data.ld_audit).toBe('/nonexistent/audit.so');
    expect(data.environ_readable).toBe(true);
    // Node gives a child a socketpair for a "pipe" stdio.
    expect(data.stdin).toMatch(/^(pipe|socket):\[\d+\]$/);
    expect(data.stdout).toBe('/dev/null');
    expect(JSON.stringify({processes, scan})).not.toContain('do-not-leak-7391');
  });

  it('a process that exits during the scan is dropped cleanly', async () => {
    const shell = live.spawn('/bin/sh', ['-c', `${SLEEP} 1000 & echo $!; wait`], {stdio: ['ignore', 'pipe', 'ignore']});
    const pid = Number(await firstLine(shell));
    live.track(pid);
    await waitForExe(pid, (target) => target === realpathSync(SLEEP));
    const afterStat = (seen: number): void => {
      if (seen !== pid) return;
      process.kill(pid, 'SIGKILL');
      // The shell (in `wait`) reaps it: wait until /proc/PID is really gone.
      const deadline = Date.now() + 5000;
      while (existsSync(`/proc/${pid}`) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    };
    const all = await collectSnapshot({hash: false, afterStat});
    expect(all.processes.find((p) => p.pid === pid)).toBeUndefined();
    expect(all.stats.vanished).toBeGreaterThanOrEqual(1);
    expect(all.processes.find((p) => p.pid === process.pid)).toBeDefined();
    for (const record of all.processes) {
      ProcessRecordSchema.parse(record);
      LinuxPlatformDataSchema.parse(record.platform_data);
    }
    const one = await collectSnapshot({pids: [pid]});
    expect(one.processes).toEqual([]);
    expect(one.stats.missing_pids).toEqual([pid]);
  });

  it('stays complete and schema-valid while processes come and go', async () => {
    live.spawn('/bin/sh', ['-c', `while :; do ${TRUE}; done`]);
    for (let round = 0; round < 3; round++) {
      const {processes, scan} = await collectSnapshot({hash: round === 0});
      ScanRecordSchema.parse(scan);
      for (const record of processes) {
        ProcessRecordSchema.parse(record);
        const data = LinuxPlatformDataSchema.parse(record.platform_data);
        expect(Object.keys(data)).toHaveLength(Object.keys(LinuxPlatformDataSchema.shape).length);
      }
      expect(new Set(processes.map((p) => p.pid)).size).toBe(processes.length);
    }
  });

  it('each executable is hashed once per scan (device + inode); --no-hash and the size cap leave hashes null', async () => {
    const children = [0, 1, 2].map(() => live.spawn(SLEEP, ['1000']));
    for (const child of children) await waitForExe(child.pid!, (target) => target === realpathSync(SLEEP));
    const pids = children.map((c) => c.pid!);
    const hashed = await collectSnapshot({pids});
    expect(hashed.stats.hashed_files).toBe(1);
    expect(new Set(hashed.processes.map((p) => p.executable_hash))).toEqual(new Set([sha256(SLEEP)]));
    const noHash = await collectSnapshot({pids, hash: false});
    expect(noHash.processes.every((p) => p.executable_hash === null && p.hash_algorithm === null)).toBe(true);
    const capped = await collectSnapshot({pids, hashMaxBytes: 1024});
    expect(capped.processes.every((p) => p.executable_hash === null)).toBe(true);
    expect(capped.stats.hash_skipped_too_large).toBe(1);
  });

  it('redacts secret arguments by default only when asked (the library takes the rules as given)', async () => {
    const child = live.spawn('/bin/sh', ['-c', 'sleep 1000; :', 'sh', '--password', 'hunter2', '--token=abc']);
    await waitForExe(child.pid!, (target) => !target.includes('node'));
    const options = {words: ['password', 'token'], shortFlags: {}};
    const redacted = await snapshotOf(child.pid!, {redaction: options});
    expect(redacted.command_line.slice(3)).toEqual(['sh', '--password', '[REDACTED]', '--token=[REDACTED]']);
    const plain = await snapshotOf(child.pid!, {redaction: null});
    expect(plain.command_line.slice(3)).toEqual(['sh', '--password', 'hunter2', '--token=abc']);
  });

  it('CPU over a sample interval sees a busy process; since-start CPU stays within bounds', async () => {
    const busy = live.spawn('/bin/sh', ['-c', 'while :; do :; done']);
    await waitForExe(busy.pid!, (target) => !target.includes('node'));
    const sampled = await snapshotOf(busy.pid!, {cpuSampleMs: 400, hash: false});
    expect(sampled.cpu_usage!).toBeGreaterThan(1);
    const sinceStart = await snapshotOf(busy.pid!, {hash: false});
    expect(sinceStart.cpu_usage!).toBeGreaterThanOrEqual(0);
    expect(sinceStart.cpu_usage!).toBeLessThanOrEqual(100.5);
  });

  it('the scan record carries host facts', async () => {
    const {scan, processes} = await collectSnapshot({hash: false, pids: [process.pid]});
    ScanRecordSchema.parse(scan);
    expect(scan.collector).toBe('procfs');
    expect(scan.boot_id).toBe(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    expect(scan.boot_time).toBe(Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))![1]) * 1000);
    expect(scan.ld_so_preload).toBe(existsSync('/etc/ld.so.preload') ? readFileSync('/etc/ld.so.preload', 'utf8') : null);
    expect(scan.process_count).toBe(1);
    expect(processes[0]!.scan_id).toBe(scan.id);
    expect(Number.isSafeInteger(scan.id)).toBe(true);
  });
});

describe('scan ids', () => {
  it('are safe integers, epoch ms × 1000 + 0–999, unique within a millisecond', () => {
    const now = Date.now();
    const ids = Array.from({length: 50}, () => newScanId(now));
    expect(new Set(ids).size).toBe(50);
    expect(ids.every((id) => Number.isSafeInteger(id) && id >= now * 1000)).toBe(true);
    expect(Math.floor(newScanId(now + 10_000) / 1000)).toBe(now + 10_000);
  });
});

describe('a fake /proc', () => {
  it('a pid listed whose files are gone is dropped; a garbage stat is not half-filled', async () => {
    const root = join(dir, 'proc');
    mkdirSync(join(root, 'self'), {recursive: true});
    writeFileSync(join(root, 'self', 'stat'), '');
    mkdirSync(join(root, '777'));
    mkdirSync(join(root, '778'));
    writeFileSync(join(root, '778', 'stat'), 'garbage');
    const {processes, stats} = await collectSnapshot({procRoot: root, etcRoot: join(dir, 'no-etc'), hash: false});
    expect(processes).toEqual([]);
    expect(stats.vanished).toBe(2);
    rmSync(root, {recursive: true});
  });

  it('the live tables take environ and the fd links from the walk: each file is read once, stdio from the same fd listing', async () => {
    // Two copies of our own /proc entry; once the walk is past pid 10, its environ and fd 3 change. Tables that
    // read them again would see the change; read once, they agree with the walk.
    const root = join(dir, 'proc-once');
    mkdirSync(join(root, 'self'), {recursive: true});
    const own = readFileSync('/proc/self/stat', 'latin1');
    writeFileSync(join(root, 'self', 'stat'), own);
    writeFileSync(join(root, 'self', 'cgroup'), readFileSync('/proc/self/cgroup'));
    for (const pid of [10, 11]) {
      const at = join(root, String(pid));
      mkdirSync(join(at, 'fd'), {recursive: true});
      mkdirSync(join(at, 'ns'));
      writeFileSync(join(at, 'stat'), `${pid}${own.slice(own.indexOf(' '))}`);
      for (const file of ['status', 'cmdline', 'cgroup']) writeFileSync(join(at, file), readFileSync(`/proc/self/${file}`));
      writeFileSync(join(at, 'environ'), `HOME=/root\0HISTFILE=/dev/null\0PATH=/bin\0`);
      symlinkSync(process.execPath, join(at, 'exe'));
      symlinkSync('/', join(at, 'cwd'));
      for (const ns of ['pid', 'mnt', 'net']) symlinkSync(`${ns}:[4026531836]`, join(at, 'ns', ns));
      symlinkSync('/dev/null', join(at, 'fd', '0'));
      symlinkSync('/dev/zero', join(at, 'fd', '2'));
      symlinkSync('/etc/hostname', join(at, 'fd', '3'));
    }
    // A process writes its own environ: one reading exactly "gone" is a readable environ without variables.
    writeFileSync(join(root, '11', 'environ'), 'gone');
    const afterStat = (pid: number): void => {
      if (pid !== 11) return;
      writeFileSync(join(root, '10', 'environ'), 'HISTFILE=/changed\0');
      rmSync(join(root, '10', 'fd', '3'));
      symlinkSync('/etc/passwd', join(root, '10', 'fd', '3'));
    };
    const {processes, tables, stats} = await collectSnapshot({
      procRoot: root,
      etcRoot: join(dir, 'no-etc'),
      hash: false,
      afterStat,
      tables: ['process_envs', 'process_open_files'],
      envVariables: ['HISTFILE'],
    });
    const ten = platform(processes.find((p) => p.pid === 10)!);
    expect([ten.stdin, ten.stdout, ten.stderr]).toEqual(['/dev/null', null, '/dev/zero']);
    expect(tables.process_envs).toEqual([{pid: 10, key: 'HISTFILE', value: '/dev/null'}]);
    expect(platform(processes.find((p) => p.pid === 11)!).environ_readable).toBe(true);
    expect(stats.table_unreadable).toEqual({process_envs: 0, process_open_files: 0});
    // Read again by the live tables themselves (no walk at hand): the same.
    writeFileSync(join(root, '11', 'environ'), 'unreadable');
    const again = collectLiveTables({procRoot: root, processes, tables: new Set(['process_envs']), env: {names: new Set(['HISTFILE'])}});
    expect(again.unreadable).toEqual({process_envs: 0});
    expect(again.rows.process_envs).toEqual([{pid: 10, key: 'HISTFILE', value: '/changed'}]);
    const files = (tables.process_open_files as {pid: number; fd: number; path: string}[]).filter((f) => f.pid === 10).map((f) => [f.fd, f.path]);
    expect(files).toEqual([
      [0, '/dev/null'],
      [2, '/dev/zero'],
      [3, '/etc/hostname'],
    ]);
    rmSync(root, {recursive: true});
  });
});
