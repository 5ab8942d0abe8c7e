// The command index's two consumers beyond the checkout's own dist/: development mode's index made from the
// sources (it must refuse a commands/ tree the committed manifest does not describe), and an npm install whose
// oclif plugins were hoisted beside the package (the index's relative plugin imports miss there; each plugin
// command must then be found beside its package's main).
import {spawnSync, type SpawnSyncReturns} from 'node:child_process';
import {cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs';
import {dirname, join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {sourceCommandIndex} from '../../scripts/command-index.js';
import {isolatedEnv, removeDir, ROOT, tempDir} from '../helpers/cli.js';

const dir = tempDir('daemoneye-index-');
afterAll(() => removeDir(dir));

const manifestIds = Object.keys((JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>}).commands);

/** A checkout holding the real package.json, manifest and node_modules, and a commands/ tree of these ids. */
function checkoutWith(name: string, ids: readonly string[]): string {
  const checkout = join(dir, name);
  mkdirSync(checkout);
  for (const file of ['package.json', 'oclif.manifest.json']) cpSync(join(ROOT, file), join(checkout, file));
  symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'));
  for (const id of [...ids, '_base:base-command']) {
    const file = join(checkout, 'commands', ...id.split(':')) + '.ts';
    mkdirSync(dirname(file), {recursive: true});
    writeFileSync(file, 'export {};\n');
  }
  return checkout;
}

describe('development mode’s command index (bin/dev.js)', () => {
  it('lists the manifest’s commands, the tool’s from its sources, and every plugin', () => {
    const index = sourceCommandIndex(checkoutWith('same', manifestIds));
    expect(Object.keys(index[0]?.commands ?? {}).sort()).toEqual([...manifestIds].sort());
    expect(index.map((plugin) => plugin.pjson.name)).toEqual(['daemoneye', '@oclif/plugin-help', '@oclif/plugin-autocomplete']);
  });

  it('refuses a commands/ tree the manifest does not describe, naming each command and the fix', () => {
    const ids = [...manifestIds.filter((id) => id !== 'scan'), 'frobnicate', 'rules:frob'];
    expect(() => sourceCommandIndex(checkoutWith('changed', ids))).toThrow(
      'oclif.manifest.json does not match commands/ (frobnicate is new, rules:frob is new, scan is gone): run `npm run build` to regenerate it',
    );
  });
});

describe('an npm install with its oclif plugins hoisted beside the package', () => {
  it('runs the plugins’ commands (help, autocomplete), found beside each plugin’s main', () => {
    // <project>/node_modules/daemoneye (its files copied: Node resolves a symlink to where it points) with every
    // dependency beside it in <project>/node_modules, none under the package.
    const modules = join(dir, 'project', 'node_modules');
    const installed = join(modules, 'daemoneye');
    mkdirSync(installed, {recursive: true});
    for (const entry of ['bin', 'dist', 'package.json']) cpSync(join(ROOT, entry), join(installed, entry), {recursive: true});
    symlinkSync(join(ROOT, 'rules'), join(installed, 'rules'));
    for (const entry of readdirSync(join(ROOT, 'node_modules')))
      if (!entry.startsWith('.')) symlinkSync(join(ROOT, 'node_modules', entry), join(modules, entry));
    expect(existsSync(join(installed, 'node_modules'))).toBe(false);
    expect(readFileSync(join(installed, 'dist', 'command-index.js'), 'utf8')).toContain('import("../node_modules/@oclif/plugin-autocomplete/');

    const env = isolatedEnv(join(dir, 'home'));
    const run = (args: string[]): SpawnSyncReturns<string> =>
      spawnSync(process.execPath, [join(installed, 'bin', 'run.js'), ...args], {env, cwd: dir, encoding: 'utf8', timeout: 60_000});
    const help = run(['help', 'scan']);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain('USAGE');
    const script = run(['autocomplete', 'script', 'bash']);
    expect(script.status, script.stderr).toBe(0);
    expect(script.stdout).toContain('daemoneye');
  });
});
