// `daemoneye verify BUNDLE` never reads, nor reveals the existence of, anything outside the bundle: a manifest
// (unsigned, or signed by anyone) that lists `../`, absolute paths or paths through a link is refused per path
// before any file is opened, and the report is the same whether the outside target exists or not.
import {createHash} from 'node:crypto';
import {mkdirSync, readdirSync, symlinkSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {blake3} from '@noble/hashes/blake3.js';
import {afterAll, describe, expect, it, vi} from 'vitest';

import {toHex} from '../../src/crypto/hash.js';
import {extractBounded, manifestPathProblem} from '../../src/evidence/verify-bundle.js';
import {isolatedEnv, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {linkToDevZero, makeFifo, writeGzipBomb, writeManyEntries} from '../helpers/hostile-files.js';

vi.setConfig({testTimeout: 120_000});
const dir = tempDir();
afterAll(() => removeDir(dir));
const env = isolatedEnv(dir);

const entry = (path: string, bytes: Buffer) => ({
  path,
  bytes: bytes.length,
  sha256: createHash('sha256').update(bytes).digest('hex'),
  blake3: toHex(blake3(bytes)),
});

/** A case directory whose unsigned manifest lists `paths` with the digests of `secret`. */
function bundle(name: string, paths: readonly string[], secret: Buffer): string {
  const root = join(dir, name);
  mkdirSync(root);
  const manifest = {format: 'daemoneye-evidence/1', case_id: name, files: paths.map((path) => entry(path, secret)), skipped: [], key_id: null};
  writeFileSync(join(root, 'manifest.json'), JSON.stringify(manifest));
  return root;
}

describe('manifestPathProblem', () => {
  it('accepts what collect writes, refuses everything that could leave the bundle', () => {
    expect(manifestPathProblem('proc-1/status')).toBeUndefined();
    expect(manifestPathProblem('cmdline.json')).toBeUndefined();
    expect(manifestPathProblem('../x')).toMatch(/\.\./);
    expect(manifestPathProblem('a/../../x')).toMatch(/\.\./);
    expect(manifestPathProblem('/etc/shadow')).toMatch(/absolute/);
    expect(manifestPathProblem('a//b')).toMatch(/empty/);
    expect(manifestPathProblem('./a')).toMatch(/"\."/);
    expect(manifestPathProblem('a\0b')).toMatch(/NUL/);
    expect(manifestPathProblem('')).toBe('not a path');
    expect(manifestPathProblem(42)).toBe('not a path');
  });
});

describe('verify BUNDLE: paths outside the bundle are refused before anything is read', () => {
  const secret = Buffer.from('outside the bundle\n');
  const outside = join(dir, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), secret);

  it('`..`, absolute paths, a file link and a directory link: each refused, none read, exit 1', async () => {
    const root = bundle(
      'case-traversal',
      ['../outside/secret.txt', join(outside, 'secret.txt'), 'linked-file', 'linked-dir/secret.txt', 'proc-1/../../outside/secret.txt'],
      secret,
    );
    symlinkSync(join(outside, 'secret.txt'), join(root, 'linked-file'));
    symlinkSync(outside, join(root, 'linked-dir'));
    const result = await runCli(['verify', root], {env});
    expect(result.code, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout) as {valid: boolean; refused: string[]; changed: string[]; missing: string[]};
    // The digests match the outside file: before, the first four passed as unchanged files of the bundle.
    expect(report.refused).toEqual([
      '../outside/secret.txt',
      join(outside, 'secret.txt'),
      'proc-1/../../outside/secret.txt',
      'linked-file',
      'linked-dir/secret.txt',
    ]);
    expect(report.changed).toEqual([]);
    expect(report.missing).toEqual([]);
    expect(result.stderr).toContain('refused: ../outside/secret.txt is a path with a ".." part, outside the bundle: not read');
    expect(result.stderr).toContain('refused: linked-dir/secret.txt is reached through the link linked-dir: not read');
    expect(result.stderr).toContain('refused: linked-file is a link, not a file: not read');
  });

  it('the report does not depend on whether the outside file exists', async () => {
    const paths = ['../outside/secret.txt', '../outside/no-such-file', '/etc/daemoneye-no-such-file', '/etc/hostname'];
    const root = bundle('case-probe', paths, secret);
    const result = await runCli(['verify', root], {env});
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as {refused: string[]; missing: string[]; changed: string[]};
    expect(report).toMatchObject({refused: paths, missing: [], changed: []});
  });

  it('a manifest.json that is a link out of the bundle is not read (exit 2, one line)', async () => {
    const root = join(dir, 'case-manifest-link');
    mkdirSync(root);
    const real = bundle('real-manifest', [], secret);
    symlinkSync(join(real, 'manifest.json'), join(root, 'manifest.json'));
    const result = await runCli(['verify', root], {env});
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/manifest\.json is a link, not a file/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('a hostile archive is refused early, and nothing of it is left behind', () => {
  const scratch = join(dir, 'tmp');
  mkdirSync(scratch);
  const run = (args: string[]) => runCli(['verify', ...args, '--no-audit'], {env: {...env, TMPDIR: scratch}, timeoutMs: 60_000});
  const expectRefused = async (args: string[], line: RegExp) => {
    const result = await run(args);
    expect(result.code, result.stderr).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    // The partial extraction is removed.
    expect(readdirSync(scratch)).toEqual([]);
  };

  it('a gzip bomb declaring a 3 GiB entry: refused at its header (it reached 3 GB of memory in 3.5 s)', async () => {
    const bomb = join(dir, 'declared.tar.gz');
    writeGzipBomb(bomb);
    await expectRefused(
      [bomb],
      /declared\.tar\.gz expands past 2112 MiB: not an evidence bundle collect wrote, or a decompression bomb \(raise --max-bytes if it really is one\)$/,
    );
  });

  it('an entry that lies small, followed by hundreds of MiB of zeros past the end of the archive: refused at 1 MiB of them', async () => {
    const bomb = join(dir, 'zeros.tar.gz');
    writeGzipBomb(bomb, {declaredBytes: 100, zeroMembers: 40});
    await expectRefused([bomb], /zeros\.tar\.gz has more than 1 MiB after the end of its archive: .*\(give the bundle `daemoneye collect` wrote\)$/);
  });

  it('--max-bytes lowers the cap', async () => {
    const big = join(dir, 'big.tar.gz');
    writeGzipBomb(big, {declaredBytes: 8 * 1024 * 1024, zeroMembers: 0});
    await expectRefused([big, '--max-bytes', String(4 * 1024 * 1024)], /big\.tar\.gz expands past 4 MiB/);
  });

  it('--max-bytes also counts what the archive expands to: honest headers declaring nothing, 1.5 MiB of headers', async () => {
    // 3,000 empty files: their headers declare 0 bytes in all, so only the count of expanded bytes can refuse it.
    const honest = join(dir, 'honest.tar.gz');
    writeManyEntries(honest, 3000);
    await expectRefused([honest, '--max-bytes', String(1024 * 1024)], /honest\.tar\.gz expands past 1 MiB: .*\(raise --max-bytes if it really is one\)$/);
  });

  it('more entries than --max-entries', async () => {
    const many = join(dir, 'many.tar.gz');
    writeManyEntries(many, 300);
    await expectRefused([many, '--max-entries', '200'], /many\.tar\.gz holds more than 200 entries: .*\(raise --max-entries if it really is one\)$/);
  });

  it('an archive over --max-entries is refused before a single entry is extracted', async () => {
    // Extracted one by one before the count refused them, 150,000 empty entries took 31 s and 553 MB.
    const many = join(dir, 'many-unextracted.tar.gz');
    writeManyEntries(many, 300);
    const into = join(dir, 'extract-into');
    mkdirSync(into);
    await expect(extractBounded(many, into, {maxBytes: 1024 * 1024 * 1024, maxEntries: 200})).rejects.toThrow(/holds more than 200 entries/);
    expect(readdirSync(into)).toEqual([]);
    // Within the limits, everything is extracted.
    await extractBounded(many, into, {maxBytes: 1024 * 1024 * 1024, maxEntries: 300});
    expect(readdirSync(into, {recursive: true}).length).toBeGreaterThanOrEqual(300);
  });

  it('a FIFO or a link to /dev/zero given as the bundle is refused at once', async () => {
    await expectRefused(
      [makeFifo(join(dir, 'pipe.tar.gz'))],
      /pipe\.tar\.gz: is a FIFO \(named pipe\), not a regular file: an evidence bundle is never read from one/,
    );
    await expectRefused([linkToDevZero(join(dir, 'zero.tar.gz'))], /zero\.tar\.gz: is a character device, not a regular file/);
  });
});
