// The CLI bundled into one script by esbuild, for both builds that start from one file:
//   - the npm install (`npm run build` runs this file): dist/daemoneye.cjs, then its V8 code cache
//     dist/daemoneye.cjs.v8cache, written by a plain `node` after loading every command from the bundle (so a
//     command whose modules fail to load in the bundle fails the build). bin/run.js starts from them
//     (commands/_base/bundle.ts); without them it loads dist/'s modules.
//   - the single executable (scripts/build-binary.ts), which adds its own banner and plugins.
// Both bundle the entry (commands/_base/main.ts with the static command index) into CommonJS, the only form
// node:vm and Node 20's single executable compile with a code cache; every command's `import()` becomes a lazy
// bundled module, so a command still evaluates only its own modules.
// Usage: tsx scripts/bundle.ts   (after tsc and scripts/command-index.ts: dist/ must be built)
import {execFileSync} from 'node:child_process';
import {readFileSync, statSync} from 'node:fs';
import {dirname, join, relative, resolve, sep} from 'node:path';

import {build, type Plugin} from 'esbuild';

const root = resolve(import.meta.dirname, '..');

/** The npm install's bundle (commands/_base/bundle.ts reads it from beside dist/commands/). */
export const NPM_BUNDLE = join(root, 'dist', 'daemoneye.cjs');

/**
 * Modules a bundled library requires only on paths the tool never takes: oclif's TypeScript support
 * (typescript, ts-node: development only; auto-transpiling is off), systeminformation's macOS sensors. Bundled,
 * TypeScript alone would add 9 MB.
 */
export const ABSENT_MODULES = ['typescript', 'ts-node', 'source-map-support', 'osx-temperature-sensor', 'macos-temperature-sensor'];

/** The entry's text: `run(argv)` and `loadEveryCommand()` from the index and main.ts (paths from the package root). */
export function entryText(kind: 'exports' | 'main'): string {
  const imports = `import {COMMAND_INDEX} from './dist/command-index.js';
import {main} from './dist/commands/_base/main.js';
`;
  if (kind === 'main')
    return `${imports}main(process.argv.slice(2), COMMAND_INDEX).catch((error) => {
  process.stderr.write(String(error?.stack ?? error) + '\\n');
  process.exitCode = 1;
});
`;
  return `${imports}export const run = (argv) => main(argv, COMMAND_INDEX);
export async function loadEveryCommand() {
  let loaded = 0;
  for (const plugin of COMMAND_INDEX) {
    for (const load of [...Object.values(plugin.commands), ...Object.values(plugin.hooks)]) {
      await load();
      loaded++;
    }
  }
  return loaded;
}
`;
}

/** esbuild over the compiled tool: one minified CommonJS file for Node 20, names kept (stack traces, `this.id`). */
export async function bundleScript(options: {
  entry: {contents: string} | string;
  outfile: string;
  banner: string;
  plugins: Plugin[];
  define?: Record<string, string>;
  external?: string[];
  supported?: Record<string, boolean>;
}): Promise<void> {
  const result = await build({
    ...(typeof options.entry === 'string'
      ? {entryPoints: [options.entry]}
      : {stdin: {contents: options.entry.contents, resolveDir: root, sourcefile: 'bundle-entry.js', loader: 'js'}}),
    outfile: options.outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    keepNames: true,
    legalComments: 'none',
    banner: {js: options.banner},
    define: options.define,
    external: options.external,
    supported: options.supported,
    plugins: options.plugins,
    logLevel: 'silent',
    logOverride: {'require-resolve-not-external': 'silent'},
  });
  for (const warning of result.warnings) process.stderr.write(`esbuild: ${warning.text} (${warning.location?.file ?? ''}:${warning.location?.line ?? ''})\n`);
}

/**
 * `import.meta` (and a dependency's `__dirname`, `__filename`) of each bundled file, answered as in that file: `__daemoneyeImportMeta("src/x.js")` gives the
 * url, filename, dirname and resolve() of dist/src/x.js (paths relative to the bundle's directory, resolved
 * against its `__dirname` at run time, so the installed package may move). The tool's lazy loads
 * (`createRequire(import.meta.url)('yaml')`, sql.js's files, the rule worker) then find the same files as
 * dist/'s modules do.
 */
const NPM_BANNER = `const __daemoneyeImportMeta = (path) => {
  const filename = require('node:path').join(__dirname, path);
  const {pathToFileURL} = require('node:url');
  return {filename, dirname: require('node:path').dirname(filename), url: pathToFileURL(filename).href, resolve: (specifier) => pathToFileURL(require('node:module').createRequire(filename).resolve(specifier)).href};
};`;

function locationOfFile(outDir: string): Plugin {
  return {
    name: 'location-of-file',
    setup(context) {
      context.onLoad({filter: /\.[cm]?js$/}, (args) => {
        const text = readFileSync(args.path, 'utf8');
        const meta = text.includes('import.meta');
        // A CommonJS dependency's __dirname and __filename (oclif reads its package.json beside its code):
        // declared in the module's own scope, so only its code sees them (ejs writes them into template strings).
        const cjsLocation = args.path.includes(`${sep}node_modules${sep}`) && /\b__(?:dirname|filename)\b/.test(text);
        if (!meta && !cjsLocation) return undefined;
        const path = JSON.stringify(relative(outDir, args.path).split(sep).join('/'));
        let contents = meta ? text.replace(/\bimport\.meta\b/g, `__daemoneyeImportMeta(${path})`) : text;
        if (cjsLocation)
          contents = `var __filename = __daemoneyeImportMeta(${path}).filename, __dirname = __daemoneyeImportMeta(${path}).dirname;\n${contents}`;
        return {contents, loader: 'js'};
      });
    },
  };
}

/** Build dist/daemoneye.cjs and its code cache; returns the number of commands and hooks the training loaded. */
export async function buildNpmBundle(outfile: string = NPM_BUNDLE): Promise<number> {
  for (const needed of ['dist/command-index.js', 'dist/commands/_base/bundle.js']) statSync(join(root, needed));
  await bundleScript({
    entry: {contents: entryText('exports')},
    outfile,
    banner: NPM_BANNER,
    plugins: [locationOfFile(dirname(outfile))],
    // Not installed in production, required by nothing the tool runs: left to Node's require, as from dist/.
    // sql.js too: its script must be the installed one, of the same version as the wasm read beside it.
    external: [...ABSENT_MODULES, 'sql.js'],
    // import() of those becomes require(): Node 20 before 20.12 cannot import() from a node:vm script.
    supported: {'dynamic-import': false},
  });
  // A plain node (no tsx hooks, no V8 flags of this process), as bin/run.js runs.
  const loader = join(root, 'dist', 'commands', '_base', 'bundle.js');
  const script = `import(${JSON.stringify(loader)}).then(async (m) => { process.stdout.write(String(await m.writeBundleCache(${JSON.stringify(outfile)}))); process.exit(0); })`;
  return Number(execFileSync(process.execPath, ['-e', script], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']}));
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const loaded = await buildNpmBundle();
  process.stdout.write(`wrote ${relative(root, NPM_BUNDLE)} and its code cache (${loaded} commands and hooks loaded)\n`);
}
