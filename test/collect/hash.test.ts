import {createHash} from 'node:crypto';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {hashExecutables, HashTooLargeError, sha256File} from '../../src/collect/hash.js';
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
    expect(result).toEqual({hex: createHash('sha256').update(data).digest('hex'), bytes: data.length});
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
