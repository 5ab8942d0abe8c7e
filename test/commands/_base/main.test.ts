// The static command index (dist/command-index.js, scripts/command-index.ts) is the one command map of the
// npm install and the single executable: it must hold every command of the manifest and of each oclif
// plugin, and each loader must reach that command's class.
import {spawnSync} from 'node:child_process';
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';

import {describe, expect, it} from 'vitest';

import type {CommandIndex} from '../../../commands/_base/main.js';
import {BIN, removeDir, ROOT, tempDir} from '../../helpers/cli.js';

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

describe('start-up', () => {
  it('bin/run.js starts from the bundle; oclif’s engine check is skipped (semver never loaded) and leaves no trace in the environment', () => {
    const dir = tempDir();
    try {
      // Preloaded before the CLI: at exit, report which CommonJS modules were loaded and the environment a child would inherit.
      const probe = join(dir, 'probe.cjs');
      writeFileSync(
        probe,
        "process.on('exit', () => process.stderr.write('PROBE ' + JSON.stringify({semver: Object.keys(require.cache).filter((k) => k.includes('/semver/')).length, oclif: Object.keys(require.cache).filter((k) => k.includes('/@oclif/core/') && k.endsWith('.js')).length, env: process.env.OCLIF_DISABLE_ENGINE_WARNING ?? null}) + '\\n'));\n",
      );
      // dist/'s modules, as bin/run.js loads them when there is no bundle (a development build).
      const modules = join(dir, 'modules.mjs');
      writeFileSync(
        modules,
        `const {COMMAND_INDEX} = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist', 'command-index.js')).href)});
const {main} = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist', 'commands', '_base', 'main.js')).href)});
await main(process.argv.slice(2), COMMAND_INDEX);
`,
      );
      const env = {...process.env};
      delete env.OCLIF_DISABLE_ENGINE_WARNING;
      const run = spawnSync(process.execPath, ['--require', probe, modules, 'tables', '--format', 'json'], {env, encoding: 'utf8'});
      expect(run.status, run.stderr).toBe(0);
      const report = JSON.parse(/PROBE (.*)/.exec(run.stderr)?.[1] ?? 'null') as {semver: number; oclif: number; env: string | null};
      expect(report.oclif).toBeGreaterThan(0);
      expect(report).toMatchObject({semver: 0, env: null});
      // bin/run.js runs the bundle: no module of oclif is loaded from node_modules (with the check on, its engine check
      // reads oclif's package.json). A switch the user set stays as it was.
      const kept = spawnSync(process.execPath, ['--require', probe, BIN, '--version'], {
        env: {...env, OCLIF_DISABLE_ENGINE_WARNING: 'false'},
        encoding: 'utf8',
      });
      expect(kept.status, kept.stderr).toBe(0);
      expect(JSON.parse(/PROBE (.*)/.exec(kept.stderr)?.[1] ?? 'null')).toEqual({semver: 0, oclif: 0, env: 'false'});
    } finally {
      removeDir(dir);
    }
  });
});
