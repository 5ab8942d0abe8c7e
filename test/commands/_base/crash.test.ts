// An exception nothing awaited catches (a library throwing from its own callback) ends the run like any internal
// error: one line on stderr (one JSON object under --log-format json), no stack trace unless --verbose, exit 3 —
// not Node's stack trace and exit 1, which means "the check said no" (README, "Exit codes").
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {isolatedEnv, removeDir, runCli, tempDir} from '../../helpers/cli.js';

describe('an uncaught exception during a command', () => {
  const dir = tempDir();
  afterAll(() => removeDir(dir));
  // Preloaded into the CLI: once the command has installed its handler (or after 10 s without one: the test then
  // fails on Node's own report), throw from a timer, outside every await.
  const preload = join(dir, 'throw-later.cjs');
  writeFileSync(
    preload,
    `const started = Date.now();
const timer = setInterval(() => {
  if (process.listenerCount('uncaughtException') === 0 && Date.now() - started < 10000) return;
  clearInterval(timer);
  setImmediate(() => { throw new TypeError("Cannot read properties of undefined (reading 'toString')"); });
}, 1);
`,
  );
  const env = isolatedEnv(join(dir, 'home'), {NODE_OPTIONS: `--require ${preload}`});

  it('is one line naming an internal error, exit 3', async () => {
    const result = await runCli(['rules', 'list', '--quiet', '--no-audit'], {env});
    expect(result.code, result.stderr).toBe(3);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toEqual(["daemoneye: error: internal error: Cannot read properties of undefined (reading 'toString') (run with --verbose and report it)"]);
  });

  it('is one JSON object under --log-format json, and has its stack under --verbose', async () => {
    const json = await runCli(['rules', 'list', '--log-format', 'json', '--quiet', '--no-audit'], {env});
    expect(json.code).toBe(3);
    const objects = json.stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as {error?: {code?: string; kind?: string}});
    expect(objects.map((o) => o.error?.code)).toEqual(['INTERNAL']);
    const verbose = await runCli(['rules', 'list', '--verbose', '--no-audit'], {env});
    expect(verbose.code).toBe(3);
    expect(verbose.stderr).toMatch(/internal error: Cannot read properties/);
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });
});
