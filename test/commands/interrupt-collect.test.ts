// A signal during the live collection (the /proc walk, the hidden-process check, the live tables: synchronous
// stretches that last seconds on a big host) ends the run at once by that signal, with no output file and no temp
// file beside it. The signal is sent by the process to itself from inside the walk (a preload wrapping openSync
// on the first /proc/PID/stat), so it always lands in the stretch, whatever the machine's speed; before, it waited
// for the stretch's end, and `scan --output` then wrote its file and exited 0.
import {spawnSync} from 'node:child_process';
import {mkdirSync, readdirSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {BIN, isolatedEnv, removeDir, tempDir} from '../helpers/cli.js';

describe('SIGTERM during the live collection', () => {
  const dir = tempDir('daemoneye-interrupt-collect-');
  afterAll(() => removeDir(dir));
  const preload = join(dir, 'signal-in-walk.cjs');
  writeFileSync(
    preload,
    `const fs = require('node:fs');
const {syncBuiltinESMExports} = require('node:module');
const open = fs.openSync;
let armed = false;
let sent = false;
fs.openSync = function (path, ...rest) {
  // Armed once the CLI's handlers are installed (a file it opens before the walk); the walk may set them aside.
  armed ||= process.listenerCount('SIGTERM') > 0;
  if (armed && !sent && typeof path === 'string' && /^\\/proc\\/\\d+\\/stat$/.test(path)) {
    sent = true;
    process.kill(process.pid, 'SIGTERM');
  }
  return open.call(this, path, ...rest);
};
syncBuiltinESMExports();
`,
  );
  const env = isolatedEnv(join(dir, 'home'), {NODE_OPTIONS: `--require ${preload}`});

  for (const [name, args] of [
    ['scan --output', ['scan', '--no-hash', '--tables', 'all', '--output', join(dir, 'out', 'scan.db')]],
    ['scan --store', ['scan', '--no-hash', '--store', join(dir, 'out', 'store')]],
    ['detect', ['detect', '--format', 'json']],
  ] as const) {
    it(`${name} ends by the signal and leaves nothing`, () => {
      const out = join(dir, 'out');
      rmSync(out, {recursive: true, force: true});
      mkdirSync(out);
      const result = spawnSync(process.execPath, [BIN, ...args, '--no-audit'], {env, encoding: 'utf8', timeout: 60_000});
      expect({signal: result.signal, status: result.status, stderr: result.stderr}).toEqual({signal: 'SIGTERM', status: null, stderr: ''});
      expect(result.stdout).toBe('');
      expect(readdirSync(out, {recursive: true})).toEqual([]);
    });
  }
});
