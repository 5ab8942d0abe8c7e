// `npm run build:binary`: the single executable `daemoneye-linux-x64` (docs/single-executable.md), from the
// compiled tool in dist/ (run `npm run build` first; the npm script does). Steps, all with Node's own single
// executable application (SEA) support and two build-time libraries (esbuild, postject):
//   1. esbuild bundles the CLI's entry (commands/_base/main.ts with the static command index) and, apart, the
//      rule worker, each into one CommonJS file (Node 20's SEA runs CommonJS only). Every `import()` of a
//      command and every `createRequire(import.meta.url)('x')` becomes a bundled require; any other use of
//      import.meta throws when reached, so nothing is ever resolved against the host's disk.
//   2. The assets: the built-in rule pack with its lists and the rule index (`package-files.json`, read by
//      src/package-files.ts), sql.js's wasm and its script (src/storage/sqljs.ts evaluates it afresh for the
//      rules' own sql.js instance), the bundled worker.
//   3. `node --experimental-sea-config` writes the blob (with V8's code cache), postject injects it into a
//      copy of this very `node` binary.
// Usage: tsx scripts/build-binary.ts [--out DIR]   (default: release/)
import {execFileSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {dirname, join, relative, resolve, sep} from 'node:path';
import {parseArgs} from 'node:util';

import type {Plugin} from 'esbuild';

import {ABSENT_MODULES, bundleScript, entryText} from './bundle.js';

const root = resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);

/** The binary's name: what the README's responder recipe downloads. */
export const BINARY_NAME = 'daemoneye-linux-x64';
/** postject's marker in Node's binary that says a SEA blob is present (Node's documented default). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

// Runs before any module of the tool: hands `node:sea` to src/package-files.ts, and makes import.meta a trap.
const BANNER = `${process.env.DAEMONEYE_SEA_TRACE_REQUIRE === '1' ? "{ const r = require; require = (id) => { if (!r('node:module').isBuiltin(id)) process.stderr.write(new Error('require ' + id).stack + '\\n'); return r(id); }; }\n" : ''}globalThis[Symbol.for('daemoneye.sea')] = require('node:sea');
const __daemoneyeImportMeta = new Proxy({}, {get(_, key) { throw new Error('import.meta.' + String(key) + ' is not available in the single executable'); }});`;

/** `createRequire(import.meta.url)('x')` (the tool's lazy synchronous loads) → `require('x')`, which esbuild bundles. */
const lazyRequires: Plugin = {
  name: 'lazy-requires',
  setup(context) {
    context.onLoad({filter: /[\\/]dist[\\/].*\.js$/}, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const contents = text.replace(/createRequire\(import\.meta\.url\)\((['"][^'"]+['"])\)/g, 'require($1)');
      return {contents, loader: 'js'};
    });
  },
};

const absentModules: Plugin = {
  name: 'absent-modules',
  setup(context) {
    const filter = new RegExp(`^(${ABSENT_MODULES.map((m) => m.replace(/[-/\\^$*+?.()|[\]{}]/g, '\\$&')).join('|')})(/.*)?$`);
    context.onResolve({filter}, (args) => ({path: args.path, namespace: 'absent'}));
    context.onLoad({filter: /.*/, namespace: 'absent'}, (args) => ({
      contents: `const error = new Error(${JSON.stringify(`Cannot find module '${args.path}' (not part of the single executable)`)}); error.code = 'MODULE_NOT_FOUND'; throw error;`,
      loader: 'js',
    }));
  },
};

/**
 * oclif checks at import that Node satisfies its own package.json's engines, by requiring that file from beside
 * its code: in the binary that is a path beside the executable on the host's disk (the SEA's require refuses
 * it, with a warning). The binary's Node is the one it was built with, so the check is dropped from the bundle.
 */
const noEngineCheck: Plugin = {
  name: 'no-engine-check',
  setup(context) {
    context.onLoad({filter: /[\\/]@oclif[\\/]core[\\/]lib[\\/]index\.js$/}, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const call = /^checkNodeVersion\(\);$/m;
      if (!call.test(text)) throw new Error(`${args.path}: no checkNodeVersion() call to drop (oclif changed: review scripts/build-binary.ts)`);
      return {contents: text.replace(call, ''), loader: 'js'};
    });
  },
};

/** One bundle of the binary: the shared options (scripts/bundle.ts) with the binary's banner, import.meta trap and plugins. */
async function bundle(entry: {contents: string} | string, outfile: string): Promise<void> {
  await bundleScript({
    entry,
    outfile,
    banner: BANNER,
    define: {
      'import.meta.url': '__daemoneyeImportMeta.url',
      'import.meta.dirname': '__daemoneyeImportMeta.dirname',
      'import.meta.resolve': '__daemoneyeImportMeta.resolve',
    },
    plugins: [lazyRequires, absentModules, noEngineCheck],
  });
}

/** Every file under `dir`, by path relative to the package root (`/`-separated), with its text and mtime. */
function packageFiles(dir: string, into: Record<string, {text: string; mtimeMs: number}>): void {
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) packageFiles(full, into);
    else if (entry.isFile()) into[relative(root, full).split(sep).join('/')] = {text: readFileSync(full, 'utf8'), mtimeMs: Math.round(statSync(full).mtimeMs)};
  }
}

/** Build the binary into `outDir`; returns its path. */
export async function buildBinary(outDir: string): Promise<string> {
  const work = join(outDir, '.sea-build');
  rmSync(work, {recursive: true, force: true});
  mkdirSync(work, {recursive: true});
  for (const needed of ['dist/command-index.js', 'dist/builtin-rules.json', 'dist/src/detection/rule-worker.js']) {
    try {
      statSync(join(root, needed));
    } catch {
      throw new Error(`${needed} is missing: run \`npm run build\` first`);
    }
  }

  const main = join(work, 'main.cjs');
  await bundle({contents: entryText('main')}, main);
  const worker = join(work, 'rule-worker.cjs');
  await bundle(join(root, 'dist', 'src', 'detection', 'rule-worker.js'), worker);

  const files: Record<string, {text: string; mtimeMs: number}> = {};
  packageFiles(join(root, 'rules'), files);
  const index = join(root, 'dist', 'builtin-rules.json');
  files['dist/builtin-rules.json'] = {text: readFileSync(index, 'utf8'), mtimeMs: Math.round(statSync(index).mtimeMs)};
  const packageFilesJson = join(work, 'package-files.json');
  writeFileSync(packageFilesJson, JSON.stringify({files}));

  const wasm = join(dirname(require.resolve('sql.js')), 'sql-wasm.wasm');
  const blob = join(work, 'sea-prep.blob');
  const seaConfig = join(work, 'sea-config.json');
  writeFileSync(
    seaConfig,
    JSON.stringify({
      main,
      output: blob,
      disableExperimentalSEAWarning: true,
      useCodeCache: true,
      useSnapshot: false,
      assets: {'package-files.json': packageFilesJson, 'sql-wasm.wasm': wasm, 'sql-wasm.js': join(dirname(wasm), 'sql-wasm.js'), 'rule-worker.js': worker},
    }),
  );
  execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], {stdio: ['ignore', 'ignore', 'inherit']});

  const binary = join(outDir, BINARY_NAME);
  rmSync(binary, {force: true});
  copyFileSync(process.execPath, binary);
  chmodSync(binary, 0o755);
  const {inject} = await import('postject');
  // postject logs its progress with console.log; the build's output is its own summary.
  const log = console.log;
  console.log = () => undefined;
  try {
    await inject(binary, 'NODE_SEA_BLOB', readFileSync(blob), {sentinelFuse: SEA_FUSE});
  } finally {
    console.log = log;
  }
  rmSync(work, {recursive: true, force: true});
  return binary;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const {values} = parseArgs({options: {out: {type: 'string', default: join(root, 'release')}}});
  const outDir = resolve(values.out);
  mkdirSync(outDir, {recursive: true});
  const binary = await buildBinary(outDir);
  const bytes = readFileSync(binary);
  process.stdout.write(`${relative(process.cwd(), binary) || binary}: ${bytes.length} bytes, sha256 ${createHash('sha256').update(bytes).digest('hex')}\n`);
}
