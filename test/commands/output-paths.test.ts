// Output paths are not ours to replace (docs/operations/guarantees.md): every command that writes a file the
// user named is run against device nodes, a FIFO, a socket, a directory and symbolic links made in a scratch
// directory (never the host's own /dev). Before, `scan --output NULL` and friends renamed a regular file over
// the device node, a link to /proc/self/fd/1 was replaced (nothing reached stdout) and `rules disable
// --config LINK` replaced the link with a root-owned file.
import {spawn} from 'node:child_process';
import {execFileSync} from 'node:child_process';
import {chmodSync, chownSync, lchownSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync} from 'node:fs';
import {createServer, type Server} from 'node:net';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest';

import {snapshotFromRows} from '../../src/detection/fixture-snapshot.js';
import {BIN, isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';

vi.setConfig({testTimeout: 120_000, hookTimeout: 120_000});
const root = process.getuid?.() === 0;
const home = tempDir();
const scratch = join(home, 'scratch');
const env = isolatedEnv(home);
const input = join(home, 'input.db');
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
