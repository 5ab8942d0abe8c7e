// Global flags before the command: the pure argv rewrite, and the CLI taking `daemoneye --config F detect`.
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {DaemonEyeCommand} from '../../../commands/_base/base-command.js';
import {hoistGlobalFlags} from '../../../commands/_base/global-flags.js';
import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../../helpers/cli.js';

const flags = DaemonEyeCommand.baseFlags;

describe('hoistGlobalFlags', () => {
  it('moves leading global flags, with their values, behind the command and its arguments', () => {
    expect(hoistGlobalFlags(['--config', 'x.yaml', 'detect', '--fail-on', 'high'], flags)).toEqual(['detect', '--fail-on', 'high', '--config', 'x.yaml']);
    expect(hoistGlobalFlags(['--config=x.yaml', '--quiet', '--log-level', 'debug', 'rules', 'test'], flags)).toEqual([
      'rules',
      'test',
      '--config=x.yaml',
      '--quiet',
      '--log-level',
      'debug',
    ]);
  });

  it('keeps what follows -- positional', () => {
    expect(hoistGlobalFlags(['--no-audit', 'query', '--', '-x'], flags)).toEqual(['query', '--no-audit', '--', '-x']);
  });

  it('leaves any other line alone: a command first, --help, an unknown flag, a flag missing its value, no command', () => {
    for (const argv of [['scan', '--config', 'x'], ['--help'], ['--nope', 'scan'], ['--config'], ['--verbose']])
      expect(hoistGlobalFlags(argv, flags)).toEqual(argv);
  });
});

describe('daemoneye GLOBAL-FLAGS COMMAND', () => {
  const dir = tempDir();
  afterAll(() => removeDir(dir));
  const env = isolatedEnv(join(dir, 'home'));

  it('runs the command with the flags given before it, as git and kubectl do', async () => {
    const config = join(dir, 'config.yaml');
    writeFileSync(config, 'collection:\n  hash: false\n');
    const before = await runCli(['--config', config, '--no-audit', 'scan', '--pid', String(process.pid), '--format', 'ndjson'], {env});
    expect(before.code, before.stderr).toBe(0);
    const [record] = parseNdjson<{pid: number; executable_hash: string | null}>(before.stdout);
    expect(record?.pid).toBe(process.pid);
    // hash: false came from the file given before the command.
    expect(record?.executable_hash).toBeNull();
    const missing = await runCli(['--config', join(dir, 'missing.yaml'), 'detect'], {env});
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing\.yaml does not exist/);
  });
});
