// The static command index (dist/command-index.js, scripts/command-index.ts) is the one command map of the
// npm install and the single executable: it must hold every command of the manifest and of each oclif
// plugin, and each loader must reach that command's class.
import {spawnSync} from 'node:child_process';
import {readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';

import {describe, expect, it} from 'vitest';

import {BUNDLE_WRAPPER_START} from '../../../commands/_base/bundle.js';
import type {CommandIndex} from '../../../commands/_base/main.js';
import {BIN, isolatedEnv, removeDir, ROOT, tempDir} from '../../helpers/cli.js';

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

/**
 * What a live `detect` (default configuration, no configuration file, no DAEMONEYE_* variable) must not load:
 * code only other commands, formats or inputs use (docs/performance.md, "What a detect run does").
 */
const NOT_IN_A_LIVE_DETECT: ReadonlyArray<readonly [string, RegExp]> = [
  ['the ECS mapping (--format ecs, ECS sinks)', /\/dist\/src\/output\/ecs\.js$/],
  ['the OCSF mapping', /\/dist\/src\/output\/ocsf\.js$/],
  ['the snapshot-file importer (--input, --store)', /\/dist\/src\/storage\/snapshot-import\.js$/],
  ['the schema migrations of old snapshot files', /\/dist\/src\/storage\/migrations\.js$/],
  ['yaml (configuration files and DAEMONEYE_* values only)', /\/node_modules\/yaml\//],
  ['node-sql-parser (rules outside the build-time index)', /\/node_modules\/node-sql-parser\//],
  ['systeminformation (health and host facts)', /\/node_modules\/systeminformation\//],
  ['semver (oclif’s engine check)', /\/node_modules\/semver\//],
  ['the rule formats’ parsers (rule files outside the build-time index)', /\/dist\/src\/detection\/rule-(format|file|source)\.js$/],
  ['the Sigma compiler', /\/dist\/src\/detection\/sigma\/(?!casefold\.js$)[^/]+$/],
  ['the rule test cases’ fixtures', /\/dist\/src\/models\/process-fixture\.js$/],
  ['the configuration editor (rules enable|disable)', /\/dist\/src\/detection\/config-edit\.js$/],
  ['a sink kind no configuration names', /\/dist\/src\/alerting\/sinks\/(?!sink-kinds\.js$)[^/]+$/],
  ['the HTTP clients (webhook, ClickHouse)', /\/dist\/src\/(util\/http|storage\/clickhouse)\.js$/],
  ['the ledger verifier (audit verify, health)', /\/dist\/src\/audit\/verify\.js$/],
];

/**
 * The same in the bundle bin/run.js runs, where every module is one script: the code defining each of these
 * functions and classes (its module's top level, where esbuild's keepNames marks it `"name")`) must not run
 * in a live detect, and the code defining the others must (so the check can tell).
 */
const BUNDLE_NOT_EVALUATED = [
  'validateRuleText',
  'validateNativeRuleText',
  'testCaseProblems',
  'looksLikeSigma',
  'compileSigmaRule',
  'completeProcessRow',
  'setRuleEnabled',
  'FileSink',
  'StdoutSink',
  'SyslogSink',
  'WebhookSink',
  'ClickHouseSink',
  'backoffMs',
  'verifyLedger',
];
const BUNDLE_EVALUATED = ['runRulesOverSnapshots', 'builtinRuleFromIndex', 'loadSinkKinds', 'detectionRuleOf'];

/**
 * From V8's coverage of one run (NODE_V8_COVERAGE=dir), whether the bundle's code defining each name ran: the
 * count of the innermost range holding its keepNames marker.
 */
function bundleNamesRun(coverageDir: string, names: readonly string[]): Record<string, boolean> {
  const bundle = join(ROOT, 'dist', 'daemoneye.cjs');
  const text = readFileSync(bundle, 'utf8');
  const url = pathToFileURL(bundle).href;
  type Range = {startOffset: number; endOffset: number; count: number};
  const ranges: Range[] = [];
  for (const file of readdirSync(coverageDir)) {
    const {result} = JSON.parse(readFileSync(join(coverageDir, file), 'utf8')) as {result: {url: string; functions: {ranges: Range[]}[]}[]};
    for (const script of result.filter((s) => s.url === url)) ranges.push(...script.functions.flatMap((f) => f.ranges));
  }
  expect(ranges.length, 'no coverage of the bundle').toBeGreaterThan(0);
  return Object.fromEntries(
    names.map((name) => {
      const marker = `"${name}")`;
      const at = text.indexOf(marker);
      expect([at >= 0, text.indexOf(marker, at + 1)], `one keepNames marker of ${name} in the bundle`).toEqual([true, -1]);
      const offset = BUNDLE_WRAPPER_START.length + at;
      const innermost = ranges
        .filter((r) => r.startOffset <= offset && offset < r.endOffset)
        .sort((a, b) => a.endOffset - a.startOffset - (b.endOffset - b.startOffset))[0];
      return [name, (innermost?.count ?? 0) > 0];
    }),
  );
}

/** The dist/ modules `file` imports statically, directly or through others (relative specifiers only). */
function staticImports(file: string): Set<string> {
  const seen = new Set<string>([file]);
  const queue = [file];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    const text = readFileSync(next, 'utf8');
    for (const match of text.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'|^import\s+'(\.[^']+)'/gm)) {
      const target = join(dirname(next), match[1] ?? match[2] ?? '');
      if (!seen.has(target)) {
        seen.add(target);
        queue.push(target);
      }
    }
  }
  return seen;
}

describe('what a command imports', () => {
  it('scan evaluates the ECS and OCSF mappings only for --format ecs|ocsf: its command module does not import them', () => {
    const imported = [...staticImports(join(ROOT, 'dist', 'commands', 'scan.js'))];
    expect(imported).toContain(join(ROOT, 'dist', 'src', 'collect', 'process-view.js'));
    expect(imported.filter((file) => /\/dist\/src\/output\/(ecs|ocsf)\.js$/.test(file))).toEqual([]);
  });
});

describe('start-up', () => {
  it('bin/run.js starts from the bundle; a live detect loads only what it uses; oclif’s engine check is skipped and leaves no trace in the environment', () => {
    const dir = tempDir();
    try {
      // Preloaded before the CLI: at exit, the CommonJS modules loaded and the environment a child would inherit.
      const probe = join(dir, 'probe.cjs');
      writeFileSync(
        probe,
        "process.on('exit', () => process.stderr.write('PROBE ' + JSON.stringify({cjs: Object.keys(require.cache), oclif: Object.keys(require.cache).filter((k) => k.includes('/@oclif/core/') && k.endsWith('.js')).length, env: process.env.OCLIF_DISABLE_ENGINE_WARNING ?? null}) + '\\n'));\n",
      );
      // Every ES module loaded, through Node's module hooks (their own thread), appended to a file.
      const loaded = join(dir, 'esm.txt');
      writeFileSync(
        join(dir, 'hooks.mjs'),
        "import {appendFileSync} from 'node:fs';\nlet out;\nexport function initialize(data) { out = data; }\nexport async function load(url, context, next) { appendFileSync(out, url + '\\n'); return next(url, context); }\n",
      );
      const register = join(dir, 'register.mjs');
      writeFileSync(
        register,
        `import {register} from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)}, {data: ${JSON.stringify(loaded)}});\n`,
      );
      // dist/'s modules, as bin/run.js loads them when there is no bundle (a development build): the bundle
      // evaluates the same modules (each command's through its lazy import), which only this form shows.
      const modules = join(dir, 'modules.mjs');
      writeFileSync(
        modules,
        `const {COMMAND_INDEX} = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist', 'command-index.js')).href)});
const {main} = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist', 'commands', '_base', 'main.js')).href)});
await main(process.argv.slice(2), COMMAND_INDEX);
`,
      );
      const env = isolatedEnv(join(dir, 'home'));
      delete env.OCLIF_DISABLE_ENGINE_WARNING;
      const run = spawnSync(process.execPath, ['--require', probe, '--import', register, modules, 'detect', '--format', 'json'], {env, encoding: 'utf8'});
      expect(run.status, run.stderr).toBe(0);
      expect((JSON.parse(run.stdout) as {summary: {rules_loaded: number}}).summary.rules_loaded).toBeGreaterThan(40);
      const report = JSON.parse(/PROBE (.*)/.exec(run.stderr)?.[1] ?? 'null') as {cjs: string[]; oclif: number; env: string | null};
      expect(report.oclif).toBeGreaterThan(0);
      expect(report.env).toBeNull();
      const esm = readFileSync(loaded, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((url) => (url.startsWith('file:') ? fileURLToPath(url) : url));
      expect(esm).toContain(join(ROOT, 'dist', 'commands', 'detect.js'));
      const all = [...esm, ...report.cjs];
      for (const [what, pattern] of NOT_IN_A_LIVE_DETECT)
        expect(
          all.filter((file) => pattern.test(file)),
          what,
        ).toEqual([]);
      // bin/run.js runs the bundle: no module of oclif is loaded from node_modules (with the check on, its engine
      // check reads oclif's package.json). A switch the user set stays as it was. The bundle's live detect runs
      // none of the code above either (V8's coverage of the run).
      const coverage = join(dir, 'coverage');
      const kept = spawnSync(process.execPath, ['--require', probe, BIN, 'detect', '--format', 'json'], {
        env: {...env, OCLIF_DISABLE_ENGINE_WARNING: 'false', NODE_V8_COVERAGE: coverage},
        encoding: 'utf8',
      });
      expect(kept.status, kept.stderr).toBe(0);
      expect(JSON.parse(/PROBE (.*)/.exec(kept.stderr)?.[1] ?? 'null')).toMatchObject({oclif: 0, env: 'false'});
      expect((JSON.parse(kept.stdout) as {summary: {rules_loaded: number}}).summary.rules_loaded).toBeGreaterThan(40);
      expect(bundleNamesRun(coverage, [...BUNDLE_NOT_EVALUATED, ...BUNDLE_EVALUATED])).toEqual({
        ...Object.fromEntries(BUNDLE_NOT_EVALUATED.map((name) => [name, false])),
        ...Object.fromEntries(BUNDLE_EVALUATED.map((name) => [name, true])),
      });
    } finally {
      removeDir(dir);
    }
  });
});
