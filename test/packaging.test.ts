// The npm package as a user installs it: `npm pack` (the build is done by `pretest`; --ignore-scripts keeps
// the pack from rebuilding dist/ under the other tests), `npm install -g --prefix TMP` from the tarball, then
// the installed `daemoneye` runs with its manifest, the sql.js wasm, the built-in rules and contrib/.
import {spawnSync} from 'node:child_process';
import {existsSync, readdirSync, readFileSync} from 'node:fs';
import {join, relative} from 'node:path';
import {pathToFileURL} from 'node:url';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {isolatedEnv, removeDir, ROOT, tempDir} from './helpers/cli.js';

/** The packaged CLI takes a snapshot to a file and runs the rules over it (sql.js and the rules are both used). */
const PACKAGED_RUNS: ReadonlyArray<[string, (snapshot: string) => string[]]> = [
  ['scan', (snapshot) => ['scan', '--no-hash', '--format', 'ndjson', '--output', snapshot]],
  ['detect', (snapshot) => ['detect', '--input', snapshot, '--format', 'json']],
];

const work = tempDir('daemoneye-pack-');
afterAll(() => removeDir(work));
const prefix = join(work, 'prefix');
const installed = join(prefix, 'lib', 'node_modules', 'daemoneye');
const daemoneye = join(prefix, 'bin', 'daemoneye');
const manifestCommands = Object.keys((JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>}).commands);
let packedFiles: string[] = [];

function sh(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): {status: number | null; stdout: string; stderr: string} {
  const result = spawnSync(command, args, {cwd: work, env, encoding: 'utf8', timeout: 240_000, maxBuffer: 64 * 1024 * 1024});
  return {status: result.status, stdout: result.stdout, stderr: result.stderr};
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, {recursive: true, withFileTypes: true})
    .filter((entry) => entry.isFile())
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

beforeAll(() => {
  const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {cwd: ROOT, encoding: 'utf8', timeout: 120_000});
  expect(pack.status, pack.stderr).toBe(0);
  const [info] = JSON.parse(pack.stdout) as Array<{filename: string; files: Array<{path: string}>}>;
  packedFiles = info?.files.map((file) => file.path) ?? [];
  const install = sh('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(work, info?.filename ?? 'missing.tgz')]);
  expect(install.status, install.stderr).toBe(0);
}, 300_000);

describe('npm package', () => {
  it('holds the manifest, the compiled commands, the built-in rules, the docs and contrib/, and no tests', () => {
    expect(packedFiles).toContain('oclif.manifest.json');
    expect(packedFiles).toContain('bin/run.js');
    // The bundled start and its V8 code cache (commands/_base/bundle.ts).
    expect(packedFiles).toContain('dist/daemoneye.cjs');
    expect(packedFiles).toContain('dist/daemoneye.cjs.v8cache');
    // Development mode runs the TypeScript sources, which the package does not hold.
    expect(packedFiles).not.toContain('bin/dev.js');
    for (const id of manifestCommands) expect(packedFiles).toContain(`dist/commands/${id.replaceAll(':', '/')}.js`);
    for (const file of [...filesUnder(join(ROOT, 'rules')), ...filesUnder(join(ROOT, 'contrib')), 'docs/operations/systemd.md'])
      expect(packedFiles).toContain(file);
    expect(packedFiles.filter((file) => file.startsWith('test/') || file.startsWith('src/') || file.startsWith('node_modules/'))).toEqual([]);
  });

  it('installs globally into a prefix; --version prints version, platform and Node version', () => {
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {version: string}).version;
    const result = sh(daemoneye, ['--version']);
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(`daemoneye/${version} ${process.platform}-${process.arch} node-${process.version}`);
    // It started from the installed bundle, whose code cache this Node takes as it was packed.
    const loader = pathToFileURL(join(installed, 'dist', 'commands', '_base', 'bundle.js')).href;
    const check = sh(process.execPath, [
      '-e',
      `import(${JSON.stringify(loader)}).then((m) => { const b = m.loadBundle(); console.log(b.cache, b.cacheWritten); process.exit(0); })`,
    ]);
    expect(check.stdout.trim(), check.stderr).toBe('accepted false');
  });

  it('installs the sql.js wasm with its dependencies, and it loads', () => {
    expect(existsSync(join(installed, 'node_modules', 'sql.js', 'dist', 'sql-wasm.wasm'))).toBe(true);
    const script = `const m = await import(${JSON.stringify(join(installed, 'dist', 'src', 'storage', 'database.js'))}); const SQL = await m.loadSqlJs(); const db = new SQL.Database(); console.log(db.exec('select 41 + 1')[0].values[0][0]);`;
    const result = sh(process.execPath, ['--input-type=module', '-e', script]);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('42');
  });

  it('runs commands from the installed package', () => {
    const home = join(work, 'home');
    const env = isolatedEnv(home, {DAEMONEYE_APP__STATE_DIR: join(home, 'state')});
    const health = sh(daemoneye, ['health', '--component', 'config', '--format', 'json'], env);
    expect(health.status, health.stderr).toBe(0);
    expect((JSON.parse(health.stdout) as {status: string}).status).toBe('healthy');
    const snapshot = join(work, 'snapshot.db');
    for (const [id, args] of PACKAGED_RUNS) {
      const result = sh(daemoneye, args(snapshot), env);
      expect(result.status, `${id}: ${result.stderr}`).toBe(0);
      expect(result.stdout.length).toBeGreaterThan(0);
    }
    const report = JSON.parse(sh(daemoneye, ['detect', '--input', snapshot, '--format', 'json'], env).stdout) as {summary: {rules_loaded: number}};
    // Every built-in rule shipped in the package is loaded by the installed CLI.
    expect(report.summary.rules_loaded).toBe(filesUnder(join(ROOT, 'rules')).filter((file) => /\.(ya?ml|sql)$/.test(file) && !file.includes('/lists/')).length);
  });
});
