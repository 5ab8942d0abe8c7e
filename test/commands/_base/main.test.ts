// The static command index (dist/command-index.js, scripts/command-index.ts) is the one command map of the
// npm install and the single executable: it must hold every command of the manifest and of each oclif
// plugin, and each loader must reach that command's class.
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';

import {describe, expect, it} from 'vitest';

import type {CommandIndex} from '../../../commands/_base/main.js';
import {ROOT} from '../../helpers/cli.js';

const {COMMAND_INDEX} = (await import(pathToFileURL(join(ROOT, 'dist', 'command-index.js')).href)) as {COMMAND_INDEX: CommandIndex};
const readJson = (file: string): {commands: Record<string, unknown>; version: string; oclif?: {plugins?: string[]}} =>
  JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as {commands: Record<string, unknown>; version: string};

describe('the static command index', () => {
  it('holds the tool first, then every oclif plugin of package.json, each with its whole manifest', () => {
    const pkg = readJson('package.json');
    expect(COMMAND_INDEX.map((p) => p.pjson.name)).toEqual(['daemoneye', ...(pkg.oclif?.plugins ?? [])]);
    const [tool] = COMMAND_INDEX;
    expect(Object.keys(tool?.commands ?? {}).sort()).toEqual(Object.keys(readJson('oclif.manifest.json').commands).sort());
    for (const plugin of COMMAND_INDEX) expect(Object.keys(plugin.commands).sort()).toEqual(Object.keys(plugin.manifest.commands).sort());
    expect(Object.keys(tool?.hooks ?? {})).toEqual(['command_not_found']);
  });

  it('loads each command’s class lazily, by a literal import a bundler follows', async () => {
    for (const plugin of COMMAND_INDEX) {
      for (const [id, load] of Object.entries(plugin.commands)) {
        const module = await load();
        const candidates = [module.default, ...Object.values(module), ...Object.values((module.commands ?? {}) as Record<string, unknown>)];
        expect(
          candidates.some((c) => typeof (c as {run?: unknown} | undefined)?.run === 'function'),
          `${plugin.pjson.name} ${id}`,
        ).toBe(true);
      }
    }
    const source = readFileSync(join(ROOT, 'dist', 'command-index.js'), 'utf8');
    expect(source).toMatch(/import\("\.\/commands\/scan\.js"\)/);
  });
});
