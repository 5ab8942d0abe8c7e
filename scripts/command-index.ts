// `npm run build`, after `oclif manifest`: writes dist/command-index.js, the static command index both the npm
// install (bin/run.js) and the single executable start from (commands/_base/main.ts). For the tool and each
// oclif plugin it lists: the package.json fields oclif reads (name, version, type, the `oclif` block), the
// oclif manifest (every command's flags, arguments and help, so listing commands loads none of them), and per
// command and hook a function importing its module by a literal specifier, which a bundler follows. So oclif
// never globs the package for commands, never reads a package.json or a manifest at run time, and the two
// builds share one command map.
import {readFileSync, writeFileSync} from 'node:fs';
import {dirname, join, relative} from 'node:path';

const root = join(import.meta.dirname, '..');
const dist = join(root, 'dist');
const readJson = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

interface OclifBlock {
  commands?: string | {target: string};
  hooks?: Record<string, string | string[]>;
  plugins?: string[];
  [key: string]: unknown;
}

/** The package.json fields oclif reads of a plugin (not its dependencies: no plugin is loaded from disk). */
function pjsonOf(pkg: Record<string, unknown>): Record<string, unknown> {
  const oclif = {...(pkg.oclif as OclifBlock)};
  delete oclif.hooks;
  delete oclif.plugins;
  delete oclif.devPlugins;
  return {name: pkg.name, version: pkg.version, type: pkg.type, description: pkg.description, oclif};
}

const literal = (value: string): string => JSON.stringify(value);

/** `import(...)` of a plugin's file: by its path relative to dist/, else (a hoisted install) beside the package's main. */
function pluginImport(name: string, pluginRoot: string, mainFile: string, file: string): string {
  const fromDist = relative(dist, join(pluginRoot, file)).split('\\').join('/');
  const besideMain = relative(dirname(join(pluginRoot, mainFile)), join(pluginRoot, file))
    .split('\\')
    .join('/');
  return `import(${literal(fromDist)}).catch((error) => fromPackage(error, ${literal(name)}, ${literal(`./${besideMain}`)}))`;
}

const pkg = readJson(join(root, 'package.json'));
const oclif = pkg.oclif as OclifBlock;
const manifest = readJson(join(root, 'oclif.manifest.json')) as {commands: Record<string, unknown>};
const commandsDir = (typeof oclif.commands === 'string' ? oclif.commands : (oclif.commands?.target ?? './dist/commands')).replace(/^\.\/dist\//, './');

const entries: string[] = [];
const rootCommands = Object.keys(manifest.commands)
  .sort()
  .map((id) => `    ${literal(id)}: () => import(${literal(`${commandsDir}/${id.split(':').join('/')}.js`)}),`);
const rootHooks = Object.entries(oclif.hooks ?? {}).map(([event, target]) => {
  const file = (Array.isArray(target) ? target : [target]).map((t) => t.replace(/^\.\/dist\//, './'));
  if (file.length !== 1) throw new Error(`hook ${event}: one module per event is supported, found ${file.length}`);
  return `    ${literal(event)}: () => import(${literal(file[0] as string)}),`;
});
entries.push(`  {
    pjson: ${JSON.stringify(pjsonOf(pkg))},
    manifest: ${JSON.stringify(manifest)},
    commands: {
${rootCommands.join('\n')}
    },
    hooks: {
${rootHooks.join('\n')}
    },
  },`);

for (const name of oclif.plugins ?? []) {
  const pluginRoot = join(root, 'node_modules', ...name.split('/'));
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
      return `    ${literal(id)}: () => ${pluginImport(name, pluginRoot, mainFile, file)},`;
    });
  entries.push(`  {
    pjson: ${JSON.stringify(pjsonOf(pluginPkg))},
    manifest: ${JSON.stringify(pluginManifest)},
    commands: {
${commands.join('\n')}
    },
    hooks: {},
  },`);
}

const target = join(dist, 'command-index.js');
writeFileSync(
  target,
  `// Generated by \`npm run build\` (scripts/command-index.ts): do not edit.
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
`,
);
console.log(`wrote ${relative(root, target)}`);
