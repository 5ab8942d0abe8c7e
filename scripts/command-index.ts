// The static command index of the tool and its oclif plugins, which every start-up reads (commands/_base/main.ts).
// For the tool and each plugin it lists: the package.json fields oclif reads (name, version, type, the `oclif`
// block), the oclif manifest (every command's flags, arguments and help, so listing commands loads none of them),
// and per command and hook the module to import. So oclif never globs the package for commands, never reads a
// package.json or a manifest at run time, and every build shares one command map:
//   - `npm run build` (after `oclif manifest`) runs this file, writing dist/command-index.js with a literal lazy
//     `import()` per module, which the npm install (bin/run.js) imports and a bundler follows (the single
//     executable, scripts/build-binary.ts);
//   - development mode (bin/dev.js) calls `sourceCommandIndex()`: the same index, importing the TypeScript
//     sources (through tsx) instead of dist/.
import {readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {dirname, join, relative, resolve, sep} from 'node:path';
import {pathToFileURL} from 'node:url';

import type {CommandIndex, IndexedPlugin} from '../commands/_base/main.js';

const root = join(import.meta.dirname, '..');
const dist = join(root, 'dist');
const readJson = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

interface OclifBlock {
  commands?: string | {target: string; globPatterns?: string[]};
  hooks?: Record<string, string | string[]>;
  plugins?: string[];
  [key: string]: unknown;
}

/** Where a module of the index is: a file of the tool's dist/, or a file of an oclif plugin's package. */
type ModuleRef =
  | {readonly kind: 'tool'; readonly file: string}
  | {readonly kind: 'plugin'; readonly name: string; readonly root: string; readonly main: string; readonly file: string};

/** One plugin of the index before its loaders are made: package.json fields, manifest, module of each command and hook. */
interface PluginSource {
  readonly pjson: Record<string, unknown>;
  readonly manifest: {commands: Record<string, unknown>};
  readonly commands: ReadonlyArray<readonly [string, ModuleRef]>;
  readonly hooks: ReadonlyArray<readonly [string, ModuleRef]>;
}

/** The package.json fields oclif reads of a plugin (not its dependencies: no plugin is loaded from disk). */
function pjsonOf(pkg: Record<string, unknown>): Record<string, unknown> {
  const oclif = {...(pkg.oclif as OclifBlock)};
  delete oclif.hooks;
  delete oclif.plugins;
  delete oclif.devPlugins;
  return {name: pkg.name, version: pkg.version, type: pkg.type, description: pkg.description, oclif};
}

const posix = (path: string): string => path.split(sep).join('/');
const fromDist = (file: string, packageRoot = root): string => posix(relative(join(packageRoot, 'dist'), file));

/** The index's plugins, from package.json, oclif.manifest.json and the installed plugins' own manifests. */
function indexSources(packageRoot = root): PluginSource[] {
  const pkg = readJson(join(packageRoot, 'package.json'));
  const oclif = pkg.oclif as OclifBlock;
  const manifest = readJson(join(packageRoot, 'oclif.manifest.json')) as {commands: Record<string, unknown>};
  const commandsTarget = typeof oclif.commands === 'string' ? oclif.commands : (oclif.commands?.target ?? './dist/commands');
  const sources: PluginSource[] = [
    {
      pjson: pjsonOf(pkg),
      manifest,
      commands: Object.keys(manifest.commands)
        .sort()
        .map((id) => [id, {kind: 'tool', file: join(packageRoot, commandsTarget, ...id.split(':')) + '.js'}] as const),
      hooks: Object.entries(oclif.hooks ?? {}).map(([event, target]) => {
        const files = Array.isArray(target) ? target : [target];
        if (files.length !== 1) throw new Error(`hook ${event}: one module per event is supported, found ${files.length}`);
        return [event, {kind: 'tool', file: join(packageRoot, files[0] as string)}] as const;
      }),
    },
  ];
  for (const name of oclif.plugins ?? []) {
    const pluginRoot = join(packageRoot, 'node_modules', ...name.split('/'));
    const pluginPkg = readJson(join(pluginRoot, 'package.json'));
    const pluginManifest = readJson(join(pluginRoot, 'oclif.manifest.json')) as {commands: Record<string, unknown>; version: string};
    if (pluginManifest.version !== pluginPkg.version)
      throw new Error(`${name}: oclif.manifest.json is of version ${pluginManifest.version}, the package ${String(pluginPkg.version)}`);
    const mainFile = String(typeof pluginPkg.exports === 'string' ? pluginPkg.exports : (pluginPkg.main ?? 'index.js'));
    const pluginOclif = pluginPkg.oclif as OclifBlock;
    const target = typeof pluginOclif.commands === 'string' ? pluginOclif.commands : pluginOclif.commands?.target;
    if (target === undefined) throw new Error(`${name}: no oclif.commands directory`);
    const commands = Object.keys(pluginManifest.commands)
      .sort()
      .map((id) => {
        // A command `a:b` is <target>/a/b.js, or <target>/a/index.js when `a` is a topic with its own command.
        const parts = id.split(':');
        const candidates = [join(target, ...parts) + '.js', join(target, ...parts, 'index.js')];
        const file = candidates.find((candidate) => {
          try {
            readFileSync(join(pluginRoot, candidate));
            return true;
          } catch {
            return false;
          }
        });
        if (file === undefined) throw new Error(`${name}: no module for command ${id} (looked for ${candidates.join(', ')})`);
        return [id, {kind: 'plugin', name, root: pluginRoot, main: mainFile, file}] as const;
      });
    sources.push({pjson: pjsonOf(pluginPkg), manifest: pluginManifest, commands, hooks: []});
  }
  return sources;
}

const literal = (value: string): string => JSON.stringify(value);

/**
 * The `import()` expression of a module in dist/command-index.js: a tool file by its path relative to dist/; a
 * plugin file by its path relative to dist/ (the plugin installed under the package), else (a hoisted install,
 * the plugin beside the package) beside the package's resolved main.
 */
function importExpression(ref: ModuleRef): string {
  const relativeToDist = fromDist(ref.kind === 'tool' ? ref.file : join(ref.root, ref.file));
  if (ref.kind === 'tool') return `import(${literal(`./${relativeToDist}`)})`;
  const besideMain = posix(relative(dirname(join(ref.root, ref.main)), join(ref.root, ref.file)));
  return `import(${literal(relativeToDist)}).catch((error) => fromPackage(error, ${literal(ref.name)}, ${literal(`./${besideMain}`)}))`;
}

/** The text of dist/command-index.js. */
function indexModule(sources: readonly PluginSource[]): string {
  const entries = sources.map(
    (source) => `  {
    pjson: ${JSON.stringify(source.pjson)},
    manifest: ${JSON.stringify(source.manifest)},
    commands: {
${source.commands.map(([id, ref]) => `    ${literal(id)}: () => ${importExpression(ref)},`).join('\n')}
    },
    hooks: {
${source.hooks.map(([event, ref]) => `    ${literal(event)}: () => ${importExpression(ref)},`).join('\n')}
    },
  },`,
  );
  return `// Generated by \`npm run build\` (scripts/command-index.ts): do not edit.
// The static command index of the tool and its oclif plugins (commands/_base/main.ts reads it).

/** A plugin file the relative path did not reach (the dependency was installed elsewhere): beside its package's main. */
async function fromPackage(error, name, file) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
  return import(new URL(file, import.meta.resolve(name)).href);
}

/** @type {import('../commands/_base/main.js').CommandIndex} */
export const COMMAND_INDEX = [
${entries.join('\n')}
];
`;
}

/** The tool's command modules in the source tree, by command id (the package's command glob, over `.ts`). */
function sourceCommandIds(packageRoot: string): string[] {
  const commandsDir = join(packageRoot, 'commands');
  return readdirSync(commandsDir, {recursive: true, encoding: 'utf8'})
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.split(sep).some((part) => part.startsWith('_')))
    .map((file) => file.slice(0, -'.ts'.length).split(sep).join(':'))
    .sort();
}

/**
 * Development mode's command index (bin/dev.js, run under tsx): the build's index, each tool module imported
 * from the TypeScript sources (commands/…, not dist/commands/…), each plugin module from its package. The
 * manifest is the committed oclif.manifest.json (regenerated by `npm run build`), so a command added or removed
 * in commands/ since the last build is refused, naming the fix, rather than silently missing from the index.
 * `packageRoot`: the checkout (default: this one). Throws Error (one line) on that mismatch.
 */
export function sourceCommandIndex(packageRoot = root): CommandIndex {
  const sources = indexSources(packageRoot);
  const [tool] = sources;
  const listed = tool?.commands.map(([id]) => id) ?? [];
  const present = sourceCommandIds(packageRoot);
  const added = present.filter((id) => !listed.includes(id));
  const removed = listed.filter((id) => !present.includes(id));
  if (added.length > 0 || removed.length > 0) {
    const change = [...added.map((id) => `${id} is new`), ...removed.map((id) => `${id} is gone`)].join(', ');
    throw new Error(`oclif.manifest.json does not match commands/ (${change}): run \`npm run build\` to regenerate it`);
  }
  const loader = (ref: ModuleRef): (() => Promise<Record<string, unknown>>) => {
    const file = ref.kind === 'tool' ? join(packageRoot, fromDist(ref.file, packageRoot)) : join(ref.root, ref.file);
    return async () => (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  };
  return sources.map((source): IndexedPlugin => ({
    pjson: source.pjson as unknown as IndexedPlugin['pjson'],
    manifest: source.manifest as unknown as IndexedPlugin['manifest'],
    commands: Object.fromEntries(source.commands.map(([id, ref]) => [id, loader(ref)])),
    hooks: Object.fromEntries(source.hooks.map(([event, ref]) => [event, loader(ref)])),
  }));
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const target = join(dist, 'command-index.js');
  writeFileSync(target, indexModule(indexSources()));
  console.log(`wrote ${relative(root, target)}`);
}
