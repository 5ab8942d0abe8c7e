import {mkdirSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {makeDirectory} from '../../src/util/directory.js';
import {removeDir, tempDir} from '../helpers/cli.js';

const dir = tempDir();
afterAll(() => removeDir(dir));

describe('makeDirectory', () => {
  it('creates every missing parent with the mode, and accepts an existing directory', () => {
    const deep = join(dir, 'a', 'b', 'c');
    makeDirectory(deep, 0o700);
    expect(statSync(deep).isDirectory()).toBe(true);
    expect(statSync(join(dir, 'a')).mode & 0o777).toBe(0o700);
    makeDirectory(deep, 0o700);
    mkdirSync(join(dir, 'existing'));
    expect(() => makeDirectory(join(dir, 'existing'))).not.toThrow();
  });

  it('throws ENOTDIR when a component is a file', () => {
    writeFileSync(join(dir, 'file'), 'x');
    expect(() => makeDirectory(join(dir, 'file', 'below'))).toThrow(expect.objectContaining({code: 'ENOTDIR'}));
  });

  // Node's recursive mkdir loops for ever here (mkdir under /proc answers ENOENT): this one returns the error.
  it.skipIf(process.platform !== 'linux')('fails at once under /proc with the ENOENT of the component', () => {
    expect(() => makeDirectory('/proc/daemoneye-no-such/dir')).toThrow(expect.objectContaining({code: 'ENOENT', path: '/proc/daemoneye-no-such'}));
  });
});
