// Development mode (bin/dev.js, the TypeScript sources under tsx) starts as the npm install does: through
// commands/_base/main.ts and the command index (scripts/command-index.ts), not oclif's own discovery (no glob of
// the package for commands, no root search, no user plugins). Its output equals bin/run.js's.
import {spawn, spawnSync} from 'node:child_process';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {BIN, isolatedEnv, parseNdjson, removeDir, ROOT, tempDir} from '../helpers/cli.js';

const DEV = join(ROOT, 'bin', 'dev.js');
const home = tempDir('daemoneye-dev-');
afterAll(() => removeDir(home));

function run(entry: string, args: readonly string[], extra: NodeJS.ProcessEnv = {}): {code: number | null; stdout: string; stderr: string} {
  // bin/dev.js is run by its own shebang (`node --import tsx`), as a developer runs it.
  const [command, prefix] = entry === DEV ? [DEV, []] : [process.execPath, [BIN]];
  const result = spawnSync(command, [...prefix, ...args], {cwd: ROOT, env: isolatedEnv(home, extra), encoding: 'utf8', timeout: 120_000});
  return {code: result.status, stdout: result.stdout, stderr: result.stderr};
}

describe('bin/dev.js', () => {
  it('gives bin/run.js’s help, command help and unknown-command error', () => {
    for (const args of [['--help'], ['rules', '--help'], ['scna']]) {
      const [dev, built] = [run(DEV, args), run(BIN, args)];
      expect(dev, args.join(' ')).toEqual(built);
    }
  }, 300_000);

  it('runs a command from the sources on the live host', () => {
    const child = spawn('sleep', ['120'], {stdio: 'ignore'});
    try {
      const scan = run(DEV, ['scan', '--pid', String(child.pid), '--no-hash', '--format', 'ndjson']);
      expect(scan.code, scan.stderr).toBe(0);
      expect(parseNdjson(scan.stdout)).toEqual([expect.objectContaining({pid: child.pid, name: 'sleep'})]);
    } finally {
      child.kill();
    }
  }, 120_000);

  it('looks nothing up on disk to start, as bin/run.js: oclif reports no command discovery, root search or user plugins', () => {
    const dev = run(DEV, ['--version'], {DEBUG: 'oclif*'});
    expect(dev.code, dev.stderr).toBe(0);
    expect(dev.stderr).toContain('oclif:config config done');
    expect(dev.stderr).not.toMatch(/command discovery|find-root|user plugins|using manifest from/);
  }, 120_000);
});
