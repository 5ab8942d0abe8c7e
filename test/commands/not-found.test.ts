// An unknown command: one line in the tool's own error format, the closest command, exit 2.
import {describe, expect, it} from 'vitest';

import {closestMatch, editDistance} from '../../src/util/closest.js';
import {isolatedEnv, removeDir, runCli, tempDir} from '../helpers/cli.js';

describe('unknown commands', () => {
  it.each([
    [['scna'], 'daemoneye: error: unknown command "scna" (did you mean `daemoneye scan`? see `daemoneye --help`)'],
    [['rules', 'valdate'], 'daemoneye: error: unknown command "rules valdate" (did you mean `daemoneye rules validate`? see `daemoneye --help`)'],
    [['xyzzyq'], 'daemoneye: error: unknown command "xyzzyq" (see `daemoneye --help`)'],
  ])('%j: one line with the closest command, exit 2', async (argv, line) => {
    const home = tempDir();
    try {
      const result = await runCli(argv, {env: isolatedEnv(home)});
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(`${line}\n`);
    } finally {
      removeDir(home);
    }
  });

  it('closestMatch offers a near command only', () => {
    expect(editDistance('scna', 'scan')).toBe(2);
    expect(closestMatch('detcet', ['detect', 'scan', 'query'])).toBe('detect');
    expect(closestMatch('completely-else', ['detect', 'scan'])).toBeUndefined();
  });
});
