// Output paths are not ours to replace (docs/operations/guarantees.md): every command that writes a file the
// user named is run against device nodes, a FIFO, a socket, a directory and symbolic links made in a scratch
// directory (never the host's own /dev). Before, `scan --output NULL` and friends renamed a regular file over
// the device node, a link to /proc/self/fd/1 was replaced (nothing reached stdout) and `rules disable
// --config LINK` replaced the link with a root-owned file.
import {spawn} from 'node:child_process';
import {execFileSync} from 'node:child_process';
import {chmodSync, chownSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync} from 'node:fs';
import {createServer, type Server} from 'node:net';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest';

import {snapshotFromRows} from '../../src/detection/fixture-snapshot.js';
import {BIN, isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {runCliInPty, unsafeCharacters} from '../helpers/pty.js';

vi.setConfig({testTimeout: 120_000, hookTimeout: 120_000});
const root = process.getuid?.() === 0;
const home = tempDir();
const scratch = join(home, 'scratch');
const env = isolatedEnv(home);
const input = join(home, 'input.db');
const hostile = join(home, 'hostile.db');
let socketServer: Server;

/** A character device made in the scratch directory: null (1,3), zero (1,5) or full (1,7). */
function device(name: string, minor: number): string {
  const path = join(scratch, name);
  execFileSync('mknod', ['-m', '666', path, 'c', '1', String(minor)]);
  return path;
}

const SQLITE = 'SQLite format 3\0';
const kind = (path: string): string => {
  const s = lstatSync(path);
  return s.isSymbolicLink()
    ? 'link'
    : s.isCharacterDevice()
      ? `char ${s.rdev}`
      : s.isBlockDevice()
        ? 'block'
        : s.isFIFO()
          ? 'fifo'
          : s.isSocket()
            ? 'socket'
            : s.isDirectory()
              ? 'dir'
              : 'file';
};
const NULL_RDEV = (1 << 8) | 3;
const ZERO_RDEV = (1 << 8) | 5;
const FULL_RDEV = (1 << 8) | 7;
const scan = (output: string, ...more: string[]) => runCli(['scan', '--no-hash', '--pid', '1', '--output', output, ...more], {env});

beforeAll(async () => {
  mkdirSync(scratch);
  writeFileSync(input, await snapshotFromRows([{pid: 100, name: 'miner', executable_path: '/tmp/miner'}]));
  writeFileSync(hostile, await snapshotFromRows([{pid: 100, name: 'ev\u001b]0;pwned\u0007il', executable_path: '/tmp/\u001b[2J\u202ex'}]));
  if (!root) return;
  device('null', 3);
  device('zero', 5);
  device('full', 7);
  execFileSync('mknod', [join(scratch, 'block'), 'b', '7', '250']);
  execFileSync('mkfifo', [join(scratch, 'fifo')]);
  mkdirSync(join(scratch, 'dir'));
  socketServer = createServer();
  await new Promise<void>((resolve) => socketServer.listen(join(scratch, 'socket'), resolve));
});
afterAll(async () => {
  await new Promise((resolve) => (socketServer === undefined ? resolve(undefined) : socketServer.close(resolve)));
  removeDir(home);
});

describe.skipIf(!root)('devices, FIFOs, sockets and directories at an output path', () => {
  it('scan --output NULL, export --output ZERO, sign -o NULL: written through, the device nodes stay', async () => {
    const toNull = await scan(join(scratch, 'null'));
    expect(toNull.code, toNull.stderr).toBe(0);
    expect(toNull.stderr).toContain(`snapshot output ${join(scratch, 'null')} is a character device: written through, not replaced`);
    expect(kind(join(scratch, 'null'))).toBe(`char ${NULL_RDEV}`);
    const toZero = await runCli(['export', '--input', input, '--output', join(scratch, 'zero')], {env});
    expect(toZero.code, toZero.stderr).toBe(0);
    expect(kind(join(scratch, 'zero'))).toBe(`char ${ZERO_RDEV}`);
    expect((await runCli(['keys', 'generate', '--dir', join(home, 'keys')], {env})).code).toBe(0);
    const sign = await runCli(['sign', input, '--key', join(home, 'keys', 'private.key'), '-o', join(scratch, 'null')], {env});
    expect(sign.code, sign.stderr).toBe(0);
    expect(kind(join(scratch, 'null'))).toBe(`char ${NULL_RDEV}`);
  });

  it('FULL: scan --output, export --output, sign -o and --metrics-file fail with ENOSPC (exit 3); the node stays', async () => {
    const full = join(scratch, 'full');
    for (const result of [
      await scan(full),
      await runCli(['export', '--input', input, '--output', full], {env}),
      await runCli(['sign', input, '--key', join(home, 'keys', 'private.key'), '-o', full], {env}),
      await runCli(['config', 'show', '--metrics-file', full], {env}),
    ]) {
      expect(result.code, result.stderr).toBe(3);
      expect(result.stderr).toContain(`cannot write ${full}: no space left on device`);
      // One line, naming the file and the fix: no "written through" notice before the error.
      expect(result.stderr.trim().split('\n'), result.stderr).toEqual([expect.stringContaining('give a file path')]);
      expect(kind(full)).toBe(`char ${FULL_RDEV}`);
    }
  });

  it('--metrics-file NULL or ZERO is written through and never read back (ZERO would never end)', async () => {
    for (const path of [join(scratch, 'null'), join(scratch, 'zero')]) {
      const result = await runCli(['config', 'show', '--metrics-file', path], {env});
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain('metrics file');
    }
    expect(kind(join(scratch, 'zero'))).toBe(`char ${ZERO_RDEV}`);
  });

  it('a FIFO with a reader gets the whole snapshot; without one it is refused at once (exit 3), never replaced', async () => {
    const fifo = join(scratch, 'fifo');
    const reader = spawn('cat', [fifo]);
    const chunks: Buffer[] = [];
    reader.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    const closed = new Promise((resolve) => reader.on('close', resolve));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const result = await scan(fifo);
    await closed;
    expect(result.code, result.stderr).toBe(0);
    expect(Buffer.concat(chunks).subarray(0, 16).toString('latin1')).toBe(SQLITE);
    expect(kind(fifo)).toBe('fifo');
    const alone = await scan(fifo);
    expect(alone.code).toBe(3);
    expect(alone.stderr).toContain(`no process is reading the FIFO ${fifo}`);
    expect(alone.stderr.trim().split('\n'), alone.stderr).toHaveLength(1);
    expect(kind(fifo)).toBe('fifo');
  });

  it('a directory, a socket and a block device are refused with one line (exit 2) and left alone', async () => {
    for (const [name, words] of [
      ['dir', 'is a directory'],
      ['socket', 'is a socket'],
      ['block', 'is a block device'],
    ] as const) {
      const path = join(scratch, name);
      const before = kind(path);
      for (const result of [await scan(path), await runCli(['export', '--input', input, '--output', path], {env})]) {
        expect(result.code, result.stderr).toBe(2);
        expect(result.stderr).toContain(`${path} ${words}`);
        expect(result.stderr.trim().split('\n')).toHaveLength(1);
      }
      expect(kind(path)).toBe(before);
    }
  });
});

describe.skipIf(!root)('symbolic links at an output path: resolved once, checked, reported', () => {
  it('a link to a file: the file is replaced, the link kept and named on stderr', async () => {
    const target = join(home, 'real.db');
    writeFileSync(target, 'old');
    const link = join(scratch, 'to-file');
    symlinkSync(target, link);
    const result = await scan(link);
    expect(result.code, result.stderr).toBe(0);
    expect(kind(link)).toBe('link');
    expect(readFileSync(target).subarray(0, 16).toString('latin1')).toBe(SQLITE);
    expect(result.stderr).toContain(`snapshot output ${link} is a symbolic link to ${target}: replaced ${target}, the link is kept`);
  });

  it('a link to /proc/self/fd/1: the rows reach stdout and the link stays', async () => {
    const link = join(scratch, 'to-stdout');
    symlinkSync('/proc/self/fd/1', link);
    const result = await runCli(['export', '--input', input, '--output', link], {env});
    expect(result.code, result.stderr).toBe(0);
    expect(parseNdjson(result.stdout)).toMatchObject([{pid: 100, name: 'miner'}]);
    expect(readlinkSync(link)).toBe('/proc/self/fd/1');
    // The same through a shell pipe (the test runner gives a socket; a shell gives a pipe).
    const piped = execFileSync('sh', ['-c', `"${process.execPath}" "${BIN}" export --input "${input}" --output "${link}" | cat`], {env, encoding: 'utf8'});
    expect(parseNdjson(piped)).toMatchObject([{pid: 100, name: 'miner'}]);
    expect(kind(link)).toBe('link');
  });

  it('a dangling link and a link owned by another user are refused (exit 2); nothing is created', async () => {
    const dangling = join(scratch, 'dangling');
    symlinkSync(join(home, 'would-be-created'), dangling);
    const refused = await scan(dangling);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${dangling} is a symbolic link to ${join(home, 'would-be-created')}, which does not exist`);
    expect(() => lstatSync(join(home, 'would-be-created'))).toThrow();
    const victim = join(home, 'victim.txt');
    writeFileSync(victim, 'precious');
    const foreign = join(scratch, 'foreign');
    symlinkSync(victim, foreign);
    lchownSync(foreign, 65534, 65534);
    const notFollowed = await scan(foreign);
    expect(notFollowed.code).toBe(2);
    expect(notFollowed.stderr).toContain(`${foreign} is a symbolic link owned by uid 65534, not by this user (uid 0) or root: not followed`);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
  });

  it("a directory above the output reached through another user's link is refused by scan, export and collect (exit 2); nothing written through it", async () => {
    const target = join(home, 'planted-target');
    mkdirSync(target);
    const planted = join(scratch, 'planted-dir');
    symlinkSync(target, planted);
    lchownSync(planted, 65534, 65534);
    for (const result of [
      await scan(join(planted, 'x.db')),
      await runCli(['export', '--input', input, '--output', join(planted, 'sub', 'x.ndjson')], {env}),
      await runCli(['collect', '--pid', String(process.pid), '--output', join(planted, 'case.tar.gz')], {env}),
    ]) {
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(`goes through ${planted}, a symbolic link owned by uid 65534, not by this user (uid 0) or root: not followed`);
    }
    expect(readdirSync(target)).toEqual([]);
    const proc = await runCli(['collect', '--pid', String(process.pid), '--output', '/proc/daemoneye-case'], {env});
    expect(proc.code).toBe(2);
    expect(proc.stderr).toContain('evidence output /proc/daemoneye-case is on /proc, a kernel interface');
  });

  it('rules disable --config LINK edits the file the link points to, keeping its owner and mode and the link', async () => {
    const real = join(home, 'user-config.yaml');
    writeFileSync(real, '# the operator keeps this file\ndetection:\n  max_concurrent_rules: 2\n');
    chownSync(real, 1000, 1000);
    chmodSync(real, 0o640);
    const link = join(scratch, 'config-link.yaml');
    symlinkSync(real, link);
    const result = await runCli(['rules', 'disable', 'deleted-executable', '--config', link], {env});
    expect(result.code, result.stderr).toBe(0);
    expect(kind(link)).toBe('link');
    expect(readFileSync(real, 'utf8')).toMatch(/# the operator keeps this file[\s\S]*disabled_rules:\s*\n\s*- deleted-executable/);
    expect(statSync(real)).toMatchObject({uid: 1000, gid: 1000});
    expect(statSync(real).mode & 0o7777).toBe(0o640);
    expect(result.stderr).toContain(`(a symbolic link to ${real}, which was edited; the link is kept)`);
    const device = await runCli(['rules', 'disable', 'deleted-executable', '--config', join(scratch, 'null')], {env});
    expect(device.code).toBe(2);
    expect(device.stderr).toContain('is a character device, not a regular file');
  });

  it('collect --output refuses a dangling link like any existing name (exit 2)', async () => {
    const dangling = join(scratch, 'case-link');
    symlinkSync(join(home, 'case-target'), dangling);
    const result = await runCli(['collect', '--pid', String(process.pid), '--output', dangling], {env});
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/already exists; evidence is never written over \(it is a symbolic link to .*case-target/);
    expect(() => lstatSync(join(home, 'case-target'))).toThrow();
  });
});

/** Run `command` under sh with the CLI as `de` (a function), in the home directory. */
function sh(command: string): {code: number; stdout: string; stderr: string} {
  const script = `de() { "${process.execPath}" "${BIN}" "$@"; }\ncd "${home}"\n${command}`;
  try {
    const stdout = execFileSync('sh', ['-c', script], {env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
    return {code: 0, stdout, stderr: ''};
  } catch (error) {
    const e = error as {status: number; stdout: string; stderr: string};
    return {code: e.status, stdout: e.stdout, stderr: e.stderr};
  }
}

describe.skipIf(!root)('an output that is one of our own descriptors is written to it, never replaced', () => {
  it('stdout appended to a log (>> log), the output a link to /proc/self/fd/1, /dev/stdout or the log itself: appended, the log keeps its content, inode and mode', async () => {
    const log = join(home, 'run.log');
    const link = join(scratch, 'fd1-link');
    symlinkSync('/proc/self/fd/1', link);
    writeFileSync(log, 'earlier line\n');
    chmodSync(log, 0o644);
    const inode = statSync(log).ino;
    for (const output of [link, '/dev/stdout', '/proc/self/fd/1', log]) {
      for (const command of [
        `de export --input "${input}" --output "${output}" >> "${log}"`,
        `de config show --format json --metrics-file "${output}" >> "${log}"`,
        `de sign "${input}" --key "${join(home, 'keys', 'private.key')}" --armor -o "${output}" --format json >> "${log}"`,
      ]) {
        const before = readFileSync(log, 'utf8');
        const result = sh(command);
        expect(result.code, `${command}: ${result.stderr}`).toBe(0);
        const after = readFileSync(log, 'utf8');
        expect(after.startsWith(before), command).toBe(true);
        expect(after.length, command).toBeGreaterThan(before.length);
        expect(statSync(log).ino, command).toBe(inode);
        expect(statSync(log).mode & 0o777, command).toBe(0o644);
      }
    }
    expect(readFileSync(log, 'utf8')).toMatch(/^earlier line\n\{"id":/);
    expect(readFileSync(log, 'utf8')).toContain('daemoneye_command_exit_code{command="config show"} 0');
    expect(kind(link)).toBe('link');
  });

  it('a descriptor the shell gave (9>>log, /dev/fd/9) is appended to; one Node opened for itself is refused, never written (it crashed the run)', async () => {
    const log = join(home, 'fd9.log');
    writeFileSync(log, 'kept\n');
    const given = sh(`de export --input "${input}" --output /dev/fd/9 9>>"${log}"`);
    expect(given.code, given.stderr).toBe(0);
    expect(readFileSync(log, 'utf8')).toMatch(/^kept\n\{"id":/);
    // Node's event loop, signal pipes and the like: whichever of these exist are close-on-exec, never given.
    const results = sh(
      `for n in 3 4 5 6 7 8 9 10 11 12; do de export --input "${input}" --output /proc/self/fd/$n > /dev/null 2>> internal.err; echo "$n $?"; done`,
    );
    const codes = results.stdout.trim().split('\n');
    expect(codes.length).toBe(10);
    for (const line of codes) expect(line, readFileSync(join(home, 'internal.err'), 'utf8')).toMatch(/^\d+ 2$/);
    expect(readFileSync(join(home, 'internal.err'), 'utf8')).toContain('one DaemonEye opened for itself, not one it was given');
  });

  it('scan --output /dev/stdout > FILE: FILE is the snapshot alone (the rows are not printed after it)', async () => {
    const db = join(home, 'stdout.db');
    writeFileSync(db, '');
    const inode = statSync(db).ino;
    const result = sh(`de scan --no-hash --pid 1 --output /dev/stdout > "${db}"`);
    expect(result.code, result.stderr).toBe(0);
    // Written through stdout, not renamed over the file the shell opened (whose rows would then go nowhere).
    expect(statSync(db).ino).toBe(inode);
    const read = await runCli(['query', '--input', db, '--format', 'json', 'SELECT pid FROM processes'], {env});
    expect(read.code, read.stderr).toBe(0);
    expect(JSON.parse(read.stdout)).toMatchObject([{pid: 1}]);
  });

  it('an own descriptor open for reading only (stdin < FILE) is refused, the file kept; /dev/null as stdin and output is fine', async () => {
    const file = join(home, 'stdin.txt');
    writeFileSync(file, 'kept\n');
    const result = sh(`de export --input "${input}" --output "${file}" < "${file}"`);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining(`${file} is this process's stdin, open for reading only`)]);
    expect(readFileSync(file, 'utf8')).toBe('kept\n');
    expect(sh(`de export --input "${input}" --output /dev/null < /dev/null`).code).toBe(0);
  });

  it("another process's open file reached through /proc/PID/fd/N is refused, not replaced", async () => {
    const log = join(home, 'daemon.log');
    writeFileSync(log, 'daemon says hello\n');
    const daemon = spawn('sleep', ['30'], {stdio: ['ignore', 'ignore', 'ignore']});
    try {
      // A process holding the log open for append, as a daemon holds its log.
      const holder = spawn('sh', ['-c', `exec sleep 30 >> "${log}"`], {stdio: 'ignore'});
      await new Promise((resolve) => setTimeout(resolve, 300));
      const output = `/proc/${holder.pid}/fd/1`;
      // Another user, who may not even look at root's descriptors: refused the same way (it was an internal error).
      const nobodyHome = tempDir();
      chmodSync(nobodyHome, 0o777);
      const [result, nobody] = await Promise.all([
        runCli(['export', '--input', input, '--output', output], {env}),
        runCli(['scan', '--no-hash', '--pid', '1', '--no-audit', '--output', output], {env: isolatedEnv(nobodyHome), asUser: 65534}),
      ]);
      holder.kill('SIGKILL');
      removeDir(nobodyHome);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining("another process's open file: it is not replaced")]);
      expect(nobody.code, nobody.stderr).toBe(2);
      expect(nobody.stderr.trim().split('\n')).toEqual([expect.stringMatching(/is on \/proc, a kernel interface|cannot read \(EACCES\): not followed/)]);
      expect(readFileSync(log, 'utf8')).toBe('daemon says hello\n');
    } finally {
      daemon.kill('SIGKILL');
    }
  });

  it('a path on /proc or /sys is refused in one line (exit 2), new or existing', async () => {
    for (const [path, where] of [
      ['/proc/self/daemoneye-out', '/proc'],
      ['/proc/sys/kernel/hostname', '/proc'],
      ['/sys/kernel/daemoneye-out', 'sysfs'],
    ] as const) {
      const hostname = readFileSync('/proc/sys/kernel/hostname', 'utf8');
      for (const result of [await runCli(['export', '--input', input, '--output', path], {env}), await scan(path)]) {
        expect(result.code, result.stderr).toBe(2);
        expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining(`${path} is on ${where}, a kernel interface`)]);
      }
      expect(readFileSync('/proc/sys/kernel/hostname', 'utf8')).toBe(hostname);
    }
  });
});

describe('an output that cannot be written is said before the work', () => {
  it('scan --output into a missing directory and --metrics-file on /proc stop before collecting; an empty path or value is refused by name', async () => {
    const missing = await runCli(['scan', '--no-hash', '--pid', '1', '--output', join(home, 'missing', 'x.db'), '--log-level', 'debug'], {env});
    expect(missing.code, missing.stderr).toBe(3);
    // One line, and no collection ran (its debug line is absent): before, the scan ran and then failed.
    expect(missing.stderr.trim().split('\n')).toEqual([expect.stringContaining(`cannot write ${join(home, 'missing', 'x.db')}: no such file or directory`)]);
    const metrics = await runCli(['scan', '--no-hash', '--pid', '1', '--metrics-file', '/proc/self/daemoneye.prom'], {env});
    expect(metrics.code, metrics.stderr).toBe(2);
    expect(metrics.stderr.trim().split('\n')).toEqual([expect.stringContaining('telemetry.metrics_file: is under /proc or /sys, a kernel interface')]);
    expect(metrics.stdout).toBe(''); // before, the rows were printed and the run then exited 2
    for (const [args, flag] of [
      [['export', '--input', input, '--output', ''], '--output'],
      [['detect', '--input', input, '--config='], '--config'],
      [['rules', 'list', '--rules', ''], '--rules'],
    ] as const) {
      const result = await runCli([...args], {env});
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr.trim().split('\n')).toEqual([`daemoneye: error: ${flag} was given an empty value (give a value, or leave ${flag} out)`]);
    }
  });
});

describe.skipIf(!root)('where the bytes land decides: a terminal reached by any path', () => {
  it('export --output /dev/stdout, /proc/self/fd/1 or /dev/tty on a terminal escapes control characters, in CSV too', async () => {
    for (const [output, format] of [
      ['/dev/stdout', 'ndjson'],
      ['/proc/self/fd/1', 'csv'],
      ['/dev/tty', 'csv'],
    ] as const) {
      const result = await runCliInPty(['export', '--input', hostile, '--format', format, '--output', output], env);
      expect(result.code, result.output).toBe(0);
      expect(result.output).toContain('pwned');
      expect(unsafeCharacters(result.output), `${output} ${format}`).toEqual([]);
    }
  });

  it('scan --output /dev/stdout and sign -o /dev/tty (binary) on a terminal are refused in one line (exit 2)', async () => {
    for (const args of [
      ['scan', '--no-hash', '--pid', '1', '--output', '/dev/stdout'],
      ['sign', input, '--key', join(home, 'keys', 'private.key'), '-o', '/dev/tty'],
    ]) {
      const result = await runCliInPty(args, env);
      expect(result.code, result.output).toBe(2);
      const lines = result.output.trim().split('\n');
      expect(lines, result.output).toHaveLength(1);
      expect(lines[0]).toMatch(/is a terminal.*is binary and is not written to a terminal.*give a file path/);
      expect(result.output).not.toContain('SQLite format 3');
    }
  });
});

describe.skipIf(!root)('export --format parquet: the lake root is the user’s, the tree under it the tool’s own', () => {
  it('a link, or a directory another user or group may write, planted inside the lake is refused in one line (exit 2), nothing written through it; a link as the root is followed', async () => {
    const lake = join(home, 'lake');
    const victim = join(home, 'victim-dir');
    mkdirSync(join(lake), {recursive: true});
    mkdirSync(victim);
    chownSync(victim, 65534, 65534);
    const planted = join(lake, 'table=processes');
    symlinkSync(victim, planted);
    lchownSync(planted, 65534, 65534);
    const parquet = (output: string) => runCli(['export', '--input', input, '--format', 'parquet', '--table', 'processes', '--output', output], {env});
    const linked = await parquet(lake);
    expect(linked.code, linked.stderr).toBe(2);
    expect(linked.stderr.trim().split('\n')).toEqual([expect.stringContaining(`${planted} is a symbolic link to ${victim}`)]);
    expect(execFileSync('find', [victim, '-mindepth', '1'], {encoding: 'utf8'})).toBe('');
    execFileSync('rm', [planted]);
    mkdirSync(planted, {mode: 0o777});
    chmodSync(planted, 0o777);
    const writable = await parquet(lake);
    expect(writable.code).toBe(2);
    expect(writable.stderr).toContain(`${planted} may be written by any user`);
    // Group-writable for a group that is not ours: its members could plant a link there as well.
    chmodSync(planted, 0o770);
    chownSync(planted, 0, 65534);
    const groupWritable = await parquet(lake);
    expect(groupWritable.code).toBe(2);
    expect(groupWritable.stderr).toContain(`${planted} may be written by group 65534`);
    execFileSync('rm', ['-r', planted]);
    const rootLink = join(scratch, 'lake-link');
    symlinkSync(lake, rootLink);
    const followed = await parquet(rootLink);
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout).toMatch(/^table=processes\/date=[\d-]+\/host_key=[^/]+\/\d+\.parquet\n$/);
    expect(kind(rootLink)).toBe('link');
  });
});
