// The npm install's bundled start (commands/_base/bundle.ts): the code cache is used only when it was made from
// the same bundle, is whole, V8 accepts it and no one else could have written it; anything else compiles the
// bundle from its source and (where allowed) writes a fresh cache atomically. Then the real bundle `npm run build`
// wrote: its cache is accepted and every command and hook of the index loads from it.
import {spawnSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';
import {Script} from 'node:vm';

import {afterAll, describe, expect, it} from 'vitest';

import {cacheFileOf} from '../../../commands/_base/bundle.js';
import type {CommandIndex} from '../../../commands/_base/main.js';
import {removeDir, ROOT, tempDir} from '../../helpers/cli.js';

const work = tempDir('daemoneye-bundle-');
afterAll(() => removeDir(work));

let count = 0;
/** A small bundle in a fresh directory (mode 0755): run() records its argv, loadEveryCommand() answers `n`. */
function fakeBundle(n = 3): string {
  const dir = join(work, `b${++count}`);
  mkdirSync(dir, {mode: 0o755});
  chmodSync(dir, 0o755);
  const file = join(dir, 'daemoneye.cjs');
  const functions = Array.from({length: 50}, (_, i) => `function f${i}(x) { return x * ${i} + ${JSON.stringify('padding'.repeat(i))}.length; }`).join('\n');
  writeFileSync(
    file,
    `${functions}\nexports.run = async (argv) => { globalThis.__bundleRuns = [...(globalThis.__bundleRuns ?? []), [__filename, ...argv]]; };\nexports.loadEveryCommand = async () => f0(${n}) * 0 + ${n};\n`,
  );
  return file;
}

const LOADER = pathToFileURL(join(ROOT, 'dist', 'commands', '_base', 'bundle.js')).href;

/**
 * loadBundle in a fresh `node` (V8 keeps a compiled script in memory for the rest of a process, so a second load
 * in one process would never read the cache), then run() and loadEveryCommand() when `call`.
 */
function load(
  file: string,
  options: {writeCacheIfMissing?: boolean} = {},
  nodeOptions: readonly string[] = [],
): {cache: string; cacheWritten: boolean; loaded?: number; ran?: unknown} | undefined {
  const script = `import(${JSON.stringify(LOADER)}).then(async (m) => {
    const b = m.loadBundle(${JSON.stringify(file)}, ${JSON.stringify(options)});
    if (b === undefined) return console.log('null');
    await b.run(['--version']);
    console.log(JSON.stringify({cache: b.cache, cacheWritten: b.cacheWritten, loaded: await b.loadEveryCommand(), ran: globalThis.__bundleRuns}));
  })`;
  const result = spawnSync(process.execPath, [...nodeOptions, '-e', script], {encoding: 'utf8'});
  expect(result.status, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as ReturnType<typeof load> | null) ?? undefined;
}

describe('the bundle’s code cache', () => {
  it('is written atomically when absent, then accepted; the bundle runs either way', async () => {
    const file = fakeBundle();
    expect(load(file)).toEqual({cache: 'absent', cacheWritten: true, loaded: 3, ran: [[file, '--version']]});
    expect(readdirSync(join(file, '..')).sort()).toEqual(['daemoneye.cjs', 'daemoneye.cjs.v8cache']);
    expect(load(file)).toEqual({cache: 'accepted', cacheWritten: false, loaded: 3, ran: [[file, '--version']]});
  });

  it('is refused when made from another bundle of the same length, or damaged, and rewritten', () => {
    const file = fakeBundle(3);
    load(file);
    const other = fakeBundle(4);
    // Same length, other code: V8 alone would take the cache (it checks the source's length, not its text).
    expect(readFileSync(other).length).toBe(readFileSync(file).length);
    writeFileSync(cacheFileOf(other), readFileSync(cacheFileOf(file)));
    expect(load(other, {writeCacheIfMissing: false})?.cache).toBe('invalid');
    const damaged = Buffer.from(readFileSync(cacheFileOf(file)));
    damaged[damaged.length - 10] = (damaged[damaged.length - 10] ?? 0) ^ 0xff;
    writeFileSync(cacheFileOf(file), damaged);
    expect(load(file)).toMatchObject({cache: 'invalid', cacheWritten: true});
    expect(load(file)?.cache).toBe('accepted');
    for (const junk of [Buffer.alloc(0), Buffer.alloc(100)]) {
      writeFileSync(cacheFileOf(file), junk);
      expect(load(file, {writeCacheIfMissing: false})?.cache).toBe('invalid');
    }
  });

  it('is rejected when V8 refuses its data (another script’s), and rewritten', () => {
    const file = fakeBundle();
    load(file);
    const stored = readFileSync(cacheFileOf(file));
    // A header that names this bundle, around V8 data made from another script.
    const foreign = new Script('(function () { return 1 + 1; })').createCachedData();
    const header = Buffer.concat([stored.subarray(0, 40), createHash('sha256').update(foreign).digest()]);
    writeFileSync(cacheFileOf(file), Buffer.concat([header, foreign]));
    expect(load(file)).toMatchObject({cache: 'rejected', cacheWritten: true, loaded: 3});
    expect(load(file)?.cache).toBe('accepted');
  });

  it('is kept when V8 refuses it only for the options this node was started with', () => {
    const file = fakeBundle();
    load(file);
    const trained = readFileSync(cacheFileOf(file));
    // Another V8 flag: V8 refuses the data; the cache the plain runs use is not replaced.
    expect(load(file, {}, ['--max-lazy'])).toMatchObject({cache: 'rejected', cacheWritten: false, loaded: 3});
    expect(readFileSync(cacheFileOf(file)).equals(trained)).toBe(true);
    expect(load(file)?.cache).toBe('accepted');
  });

  it('is never read from, nor written to, a place others may write; a symlink is not followed', () => {
    const file = fakeBundle();
    load(file);
    const cache = cacheFileOf(file);
    chmodSync(cache, 0o664);
    expect(load(file, {writeCacheIfMissing: false})?.cache).toBe('untrusted');
    chmodSync(cache, 0o644);
    expect(load(file, {writeCacheIfMissing: false})?.cache).toBe('accepted');
    // A directory others may write: the cache is neither read nor replaced.
    chmodSync(join(file, '..'), 0o777);
    const before = readFileSync(cache);
    expect(load(file)).toMatchObject({cache: 'untrusted', cacheWritten: false});
    chmodSync(join(file, '..'), 0o1777);
    expect(load(file)).toMatchObject({cache: 'untrusted', cacheWritten: false});
    expect(readFileSync(cache).equals(before)).toBe(true);
    chmodSync(join(file, '..'), 0o755);
    // A symlink to a valid cache: not followed; the link is replaced by a real file.
    const elsewhere = join(work, `elsewhere-${count}`);
    writeFileSync(elsewhere, before);
    const linked = fakeBundle();
    writeFileSync(linked, readFileSync(file));
    symlinkSync(elsewhere, cacheFileOf(linked));
    expect(load(linked)).toMatchObject({cache: 'untrusted', cacheWritten: true});
    expect(load(linked)?.cache).toBe('accepted');
    expect(readFileSync(elsewhere).equals(before)).toBe(true);
  });

  it('is left alone when it cannot be written, and no temporary file stays', () => {
    const file = fakeBundle();
    mkdirSync(cacheFileOf(file));
    writeFileSync(join(cacheFileOf(file), 'x'), '');
    expect(load(file)).toMatchObject({cache: 'untrusted', cacheWritten: false});
    expect(readdirSync(join(file, '..')).sort()).toEqual(['daemoneye.cjs', 'daemoneye.cjs.v8cache']);
  });

  it('no bundle, or one older than dist/’s modules (recompiled by tsc alone): undefined (bin/run.js then loads the modules)', () => {
    expect(load(join(work, 'none', 'daemoneye.cjs'))).toBeUndefined();
    // In a source checkout (tsconfig.json beside dist/): older than the loader, so tsc rewrote dist/ after it.
    const file = fakeBundle();
    utimesSync(file, new Date('2001-01-01'), new Date('2001-01-01'));
    expect(load(file)?.cache).toBe('absent');
    writeFileSync(join(file, '..', '..', 'tsconfig.json'), '{}');
    try {
      expect(load(file)).toBeUndefined();
    } finally {
      rmSync(join(file, '..', '..', 'tsconfig.json'));
    }
  });
});

describe('the bundle `npm run build` wrote', () => {
  it('has a code cache this Node accepts, and loads every command and hook of the index', async () => {
    expect(existsSync(join(ROOT, 'dist', 'daemoneye.cjs'))).toBe(true);
    // In a plain node, as bin/run.js runs (this test's own process may run with other V8 flags).
    const script = `import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist', 'commands', '_base', 'bundle.js')).href)}).then(async (m) => { const b = m.loadBundle(undefined, {writeCacheIfMissing: false}); console.log(JSON.stringify({cache: b.cache, loaded: await b.loadEveryCommand()})); process.exit(0); })`;
    const result = spawnSync(process.execPath, ['-e', script], {encoding: 'utf8'});
    expect(result.status, result.stderr).toBe(0);
    const {COMMAND_INDEX} = (await import(pathToFileURL(join(ROOT, 'dist', 'command-index.js')).href)) as {COMMAND_INDEX: CommandIndex};
    const expected = COMMAND_INDEX.reduce((n, plugin) => n + Object.keys(plugin.commands).length + Object.keys(plugin.hooks).length, 0);
    expect(JSON.parse(result.stdout)).toEqual({cache: 'accepted', loaded: expected});
  });
});
