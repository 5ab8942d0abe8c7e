// Reading a file a flag names: only a regular file, never more than its limit, and nothing that blocks.
import {execFileSync} from 'node:child_process';
import {mkdirSync, symlinkSync, writeFileSync} from 'node:fs';
import {createServer} from 'node:net';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {DaemonEyeError} from '../../src/errors.js';
import {formatBytes, readInputFile, readRegularFile} from '../../src/util/read-file.js';
import {removeDir, tempDir} from '../helpers/cli.js';

const dir = tempDir();
const socketPath = join(dir, 'sock');
const server = createServer();
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
});
afterAll(() => {
  server.close();
  removeDir(dir);
});

const limits = {maxBytes: 1024, what: 'test file'};

function refusal(path: string): DaemonEyeError {
  try {
    readRegularFile(path, limits);
  } catch (error) {
    return error as DaemonEyeError;
  }
  throw new Error(`${path} was read`);
}

describe('readRegularFile', () => {
  it('reads a regular file, and one reached through a link', () => {
    writeFileSync(join(dir, 'plain'), 'hello');
    symlinkSync(join(dir, 'plain'), join(dir, 'link'));
    expect(readRegularFile(join(dir, 'plain'), limits).toString()).toBe('hello');
    expect(readRegularFile(join(dir, 'link'), limits).toString()).toBe('hello');
    writeFileSync(join(dir, 'empty'), '');
    expect(readRegularFile(join(dir, 'empty'), limits).length).toBe(0);
  });

  it('refuses a FIFO at once (opening one would wait for a writer forever)', () => {
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    const error = refusal(join(dir, 'fifo'));
    expect(error).toBeInstanceOf(DaemonEyeError);
    expect(error.exitCode).toBe(2);
    expect(error.toOneLine()).toBe(
      `${join(dir, 'fifo')}: is a FIFO (named pipe), not a regular file: a test file is never read from one (give the path of a regular test file)`,
    );
  });

  it('refuses devices, a link to /dev/zero, a socket and a directory', () => {
    symlinkSync('/dev/zero', join(dir, 'zero'));
    mkdirSync(join(dir, 'a-dir'));
    expect(refusal('/dev/null').message).toMatch(/is a character device, not a regular file/);
    expect(refusal(join(dir, 'zero')).message).toMatch(/is a character device, not a regular file/);
    expect(refusal(socketPath).message).toMatch(/is a socket, not a regular file/);
    expect(refusal(join(dir, 'a-dir')).message).toMatch(/is a directory, not a regular file/);
  });

  it('refuses a file past its limit, naming the setting that raises it', () => {
    writeFileSync(join(dir, 'big'), Buffer.alloc(2048));
    let error: DaemonEyeError | undefined;
    try {
      readRegularFile(join(dir, 'big'), {...limits, setting: 'test.max'});
    } catch (caught) {
      error = caught as DaemonEyeError;
    }
    expect(error?.toOneLine()).toBe(`${join(dir, 'big')}: is 2 KiB, more than the 1 KiB a test file may have (give a smaller test file, or raise test.max)`);
    writeFileSync(join(dir, 'exact'), Buffer.alloc(1024, 1));
    expect(readRegularFile(join(dir, 'exact'), limits).length).toBe(1024);
  });

  it('readInputFile names a missing file as an input error (exit 2)', () => {
    expect(() => readInputFile(join(dir, 'missing'), limits)).toThrow(/cannot read .*missing: no such file or directory/);
  });

  it('formats sizes', () => {
    expect([formatBytes(20), formatBytes(1536), formatBytes(3 * 1024 * 1024)]).toEqual(['20 bytes', '1.5 KiB', '3 MiB']);
  });
});
