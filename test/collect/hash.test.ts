import {createHash} from 'node:crypto';
import {mkdirSync, statSync, utimesSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {type HashJob, hashExecutables, HashTooLargeError, identityOf, sha256File} from '../../src/collect/hash.js';
import {type FileIdentity, HASH_CACHE_MAX_AGE_MS, HashCache} from '../../src/collect/hash-cache.js';
import {removeDir, tempDir} from '../helpers/cli.js';

let dir: string;
beforeAll(() => {
  dir = tempDir('daemoneye-hash-');
});
afterAll(() => removeDir(dir));

describe('executable hashing', () => {
  it('streams SHA-256 over files larger than one read chunk', async () => {
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    const path = join(dir, 'big');
    writeFileSync(path, data);
    const result = await sha256File(path, 10 * 1024 * 1024);
    expect(result).toMatchObject({hex: createHash('sha256').update(data).digest('hex'), bytes: data.length});
    expect(result.identity).toMatchObject({size: data.length, inode: statSync(path).ino});
    await expect(sha256File(path, 1024 * 1024)).rejects.toBeInstanceOf(HashTooLargeError);
  });

  it('hashes each job once, skips non-regular and too-large files, falls back to another path, reports failures', async () => {
    const small = join(dir, 'small');
    writeFileSync(small, 'hello');
    const outcome = await hashExecutables(
      [
        {key: '1:1', size: 5, regular: true, readPaths: [join(dir, 'gone'), small]},
        {key: '1:2', size: 5, regular: false, readPaths: [small]},
        {key: '1:3', size: 10_000, regular: true, readPaths: [small]},
        {key: '1:4', size: 5, regular: true, readPaths: [dir]},
      ],
      {maxBytes: 1000, concurrency: 2},
    );
    expect([...outcome.hashes]).toEqual([['1:1', createHash('sha256').update('hello').digest('hex')]]);
    expect(outcome.files).toBe(1);
    expect(outcome.skippedNotRegular).toBe(1);
    expect(outcome.skippedTooLarge).toBe(1);
    expect(outcome.failed).toBe(1);
    expect(outcome.errors[0]).toContain('EISDIR');
  });
});

describe('hash cache', () => {
  const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
  /** A clock a minute ahead, so files written by the test are past the racy window. */
  const later = (): number => Date.now() + 60_000;

  function job(path: string): HashJob {
    return {key: 'k', size: statSync(path).size, regular: true, readPaths: [path], identity: identityOf(statSync(path))};
  }

  it('reuses a digest while the file is unchanged and hashes it again after an in-place write of the same size', async () => {
    const file = join(dir, 'tool');
    const cachePath = join(dir, 'state', 'hash-cache.json');
    writeFileSync(file, 'version-1');
    const cache = HashCache.load(cachePath, {clock: later});
    const first = await hashExecutables([job(file)], {maxBytes: 1000, concurrency: 1, cache});
    expect(first).toMatchObject({files: 1, cacheHits: 0});
    expect(cache.save()).toBe(true);
    expect(statSync(cachePath).mode & 0o777).toBe(0o600);

    const second = await hashExecutables([job(file)], {maxBytes: 1000, concurrency: 1, cache: HashCache.load(cachePath, {clock: later})});
    expect(second).toMatchObject({files: 0, cacheHits: 1, bytes: 0});
    expect(second.hashes.get('k')).toBe(sha('version-1'));

    // Same size, mtime put back: the change time still moves, so the cached digest is not used.
    const {atime, mtime} = statSync(file);
    await new Promise((resolve) => setTimeout(resolve, 20));
    writeFileSync(file, 'version-2');
    utimesSync(file, atime, mtime);
    const third = await hashExecutables([job(file)], {maxBytes: 1000, concurrency: 1, cache: HashCache.load(cachePath, {clock: later})});
    expect(third).toMatchObject({files: 1, cacheHits: 0});
    expect(third.hashes.get('k')).toBe(sha('version-2'));
  });

  it('does not cache a file changed within the racy window', async () => {
    const file = join(dir, 'fresh');
    writeFileSync(file, 'just written');
    const cache = HashCache.load(join(dir, 'racy', 'hash-cache.json'));
    await hashExecutables([job(file)], {maxBytes: 1000, concurrency: 1, cache});
    expect(cache.size).toBe(0);
    expect(cache.save()).toBe(false);
  });

  it('ignores a corrupt, foreign or oversized cache and rebuilds it; drops malformed entries', async () => {
    const file = join(dir, 'tool2');
    writeFileSync(file, 'abc');
    const cachePath = join(dir, 'corrupt', 'hash-cache.json');
    mkdirSync(join(dir, 'corrupt'));
    for (const content of ['{"format": 1, "entries": {', '[1, 2, 3]', '{"format": 99, "entries": {}}']) {
      writeFileSync(cachePath, content);
      const cache = HashCache.load(cachePath, {clock: later});
      expect(cache.loadProblem).toMatch(/hash cache .*hash-cache\.json is unusable/);
      const outcome = await hashExecutables([job(file)], {maxBytes: 1000, concurrency: 1, cache});
      expect(outcome.hashes.get('k')).toBe(sha('abc'));
      expect(cache.save()).toBe(true);
      expect(HashCache.load(cachePath, {clock: later})).toMatchObject({loadProblem: null, size: 1});
    }
    const id = identityOf(statSync(file));
    const forged = {
      format: 1,
      entries: {[`${id.device}:${id.inode}`]: {size: id.size, mtime_ms: id.mtimeMs, ctime_ms: id.ctimeMs, sha256: 'not-hex', seen: 1}},
    };
    writeFileSync(cachePath, JSON.stringify(forged));
    expect(HashCache.load(cachePath, {clock: later}).size).toBe(0);
    writeFileSync(cachePath, Buffer.alloc(9 * 1024 * 1024, 0x20));
    const oversized = HashCache.load(cachePath, {clock: later});
    expect(oversized.loadProblem).toMatch(/larger than/);
    expect(oversized.save()).toBe(true);
    expect(statSync(cachePath).size).toBeLessThan(100);
  });

  it('keeps the most recently used entries and drops old ones when it writes', () => {
    let now = Date.now();
    const cache = HashCache.load(join(dir, 'lru', 'hash-cache.json'), {clock: () => now});
    const identity = (inode: number): FileIdentity => ({device: 1, inode, size: 1, mtimeMs: 0, ctimeMs: 0});
    cache.record(identity(1), sha('old'));
    now += HASH_CACHE_MAX_AGE_MS + 1;
    cache.record(identity(2), sha('new'));
    expect(cache.save()).toBe(true);
    const reloaded = HashCache.load(join(dir, 'lru', 'hash-cache.json'), {clock: () => now});
    expect(reloaded.lookup(identity(1))).toBeUndefined();
    expect(reloaded.lookup(identity(2))).toBe(sha('new'));
    expect(reloaded.lookup({...identity(2), ctimeMs: 1})).toBeUndefined();
  });
});
