// The map checks itself: the layer table of docs/architecture.md is read as data and the code is held to it.
// A file of `src/` imports only its own layer and the layers listed above it; every `src/` directory (and
// top-level file) is in the table; `src/` never imports oclif or `commands/`; every `index.ts` is a barrel;
// a function that returns a View lives in a `*-view.ts` file.
import {readdirSync, readFileSync, statSync} from 'node:fs';
import {dirname, join, relative, resolve} from 'node:path';

import {describe, expect, it} from 'vitest';

import {ROOT} from './helpers/cli.js';

/** The layer table: one entry per row, in order (lowest first); each row lists `src/dir/`, `src/file.ts` or `commands/`. */
export function parseLayerTable(markdown: string): string[][] {
  const section = markdown.split(/^## /m).find((part) => part.startsWith('Layers'));
  if (section === undefined) throw new Error('docs/architecture.md has no "## Layers" section');
  const rows = section
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2); // header and separator
  return rows.map((row) => [...(row.split('|')[1] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1] as string));
}

/** The layer of a repository path: `src/<dir>/`, `src/<file>.ts`, `commands/`, or null outside them. */
export function layerOf(path: string): string | null {
  const parts = path.split('/');
  if (parts[0] === 'commands') return 'commands/';
  if (parts[0] !== 'src' || parts.length < 2) return null;
  return parts.length === 2 ? `src/${parts[1]}` : `src/${parts[1]}/`;
}

/** Module specifiers a TypeScript file imports: static imports and re-exports, and dynamic `import()`. */
export function importsOf(text: string): string[] {
  const found = [
    ...text.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'/gm),
    ...text.matchAll(/^import\s+'([^']+)'/gm),
    ...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
  ];
  return found.map((m) => m[1] as string);
}

export interface Violation {
  readonly file: string;
  readonly problem: string;
}

/**
 * Check files (repository path → text) against the layer table. A relative import is resolved to its
 * layer, which must be the file's own or one listed above it.
 */
export function layerViolations(files: ReadonlyMap<string, string>, table: readonly (readonly string[])[]): Violation[] {
  const level = new Map<string, number>();
  table.forEach((row, index) => row.forEach((layer) => level.set(layer, index)));
  const problems: Violation[] = [];
  for (const [file, text] of files) {
    const from = layerOf(file);
    if (from === null) continue;
    const own = level.get(from);
    if (own === undefined) {
      problems.push({file, problem: `its layer ${from} is not in the layer table of docs/architecture.md`});
      continue;
    }
    for (const specifier of importsOf(text)) {
      if (!specifier.startsWith('.')) {
        if (from !== 'commands/' && specifier.startsWith('@oclif/')) problems.push({file, problem: `src/ imports oclif (${specifier})`});
        continue;
      }
      const target = relative(ROOT, resolve(ROOT, dirname(file), specifier)).replace(/\.js$/, '.ts');
      const to = layerOf(target);
      if (to === null || to === from) continue;
      if (from !== 'commands/' && to === 'commands/') {
        problems.push({file, problem: `src/ imports commands/ (${specifier})`});
        continue;
      }
      const theirs = level.get(to);
      if (theirs === undefined) problems.push({file, problem: `imports ${specifier}, whose layer ${to} is not in the layer table`});
      else if (theirs > own) problems.push({file, problem: `imports ${specifier}: ${from} may not import ${to}, a layer above it`});
    }
  }
  return problems;
}

/** Top-level entries of src/ (directories as `src/x/`, files as `src/x.ts`) the table does not list, and listed ones that do not exist. */
export function unlistedLayers(entries: readonly string[], table: readonly (readonly string[])[]): {unlisted: string[]; missing: string[]} {
  const listed = new Set(table.flat());
  return {
    unlisted: entries.filter((entry) => !listed.has(entry)),
    missing: [...listed].filter((layer) => layer.startsWith('src/') && !entries.includes(layer)),
  };
}

/** An index.ts holds only comments and `export … from` statements. */
export function isBarrel(text: string): boolean {
  const code = text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '')
    .replace(/^export\s+(?:type\s+)?(?:\*(?:\s+as\s+\w+)?|\{[^}]*\})\s+from\s+'[^']+';$/gm, '');
  return code.trim() === '';
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : name.endsWith('.ts') ? [path] : [];
  });
}

const table = parseLayerTable(readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8'));
const sources = new Map(
  [...walk(join(ROOT, 'src')), ...walk(join(ROOT, 'commands'))].map((path) => [relative(ROOT, path), readFileSync(path, 'utf8')] as const),
);
const topLevel = readdirSync(join(ROOT, 'src')).map((name) => (statSync(join(ROOT, 'src', name)).isDirectory() ? `src/${name}/` : `src/${name}`));

describe('the layer table of docs/architecture.md', () => {
  it('is read as a list of layers, lowest first', () => {
    expect(table.length).toBeGreaterThan(10);
    expect(table[0]).toEqual(['src/errors.ts', 'src/version.ts', 'src/build-info.ts', 'src/package-files.ts']);
    expect(table.at(-1)).toEqual(['commands/']);
  });

  it('lists every directory and file of src/, and nothing that is not there', () => {
    expect(unlistedLayers(topLevel, table)).toEqual({unlisted: [], missing: []});
  });

  it('holds: no file imports a layer above its own, src/ never imports oclif or commands/', () => {
    expect(layerViolations(sources, table)).toEqual([]);
  });

  it('fails on an upward import, an unlisted layer, oclif in src/ and an import of commands/', () => {
    const rows = [['src/errors.ts'], ['src/models/'], ['src/detection/'], ['src/alerting/'], ['commands/']];
    const files = new Map([
      ['src/detection/run.ts', "import {a} from '../models/a.js';\nimport type {B} from '../alerting/b.js';\n"],
      ['src/detection/lazy.ts', "const m = await import('../alerting/c.js');\n"],
      ['src/models/x.ts', "export {y} from './y.js';\nexport * from '../errors.js';\n"],
      ['src/tree/t.ts', "import {a} from '../models/a.js';\n"],
      ['src/alerting/o.ts', "import {Command} from '@oclif/core';\nimport {flags} from '../../commands/_base/flags.js';\n"],
      ['commands/scan.ts', "import {Flags} from '@oclif/core';\nimport {run} from '../src/alerting/o.js';\n"],
    ]);
    expect(layerViolations(files, rows)).toEqual([
      {file: 'src/detection/run.ts', problem: 'imports ../alerting/b.js: src/detection/ may not import src/alerting/, a layer above it'},
      {file: 'src/detection/lazy.ts', problem: 'imports ../alerting/c.js: src/detection/ may not import src/alerting/, a layer above it'},
      {file: 'src/tree/t.ts', problem: 'its layer src/tree/ is not in the layer table of docs/architecture.md'},
      {file: 'src/alerting/o.ts', problem: 'src/ imports oclif (@oclif/core)'},
      {file: 'src/alerting/o.ts', problem: 'src/ imports commands/ (../../commands/_base/flags.js)'},
    ]);
    expect(unlistedLayers(['src/errors.ts', 'src/models/', 'src/tree/'], rows)).toEqual({
      unlisted: ['src/tree/'],
      missing: ['src/detection/', 'src/alerting/'],
    });
  });
});

describe('index.ts', () => {
  it('is a barrel only: comments and `export … from`, never logic', () => {
    const logic = [...sources].filter(([file, text]) => file.endsWith('/index.ts') && !isBarrel(text)).map(([file]) => file);
    expect(logic).toEqual([]);
  });

  it('is told apart from a file with logic', () => {
    expect(isBarrel("// the barrel\nexport * from './a.js';\nexport {b, type C} from './b.js';\nexport {\n  d,\n  e,\n} from './d.js';\n")).toBe(true);
    expect(isBarrel("export * from './a.js';\nexport function f(): number {\n  return 1;\n}\n")).toBe(false);
    expect(isBarrel("import {a} from './a.js';\nexport const b = a;\n")).toBe(false);
  });
});

describe('views', () => {
  it('live in *-view.ts files beside their data (src/output/ holds the generic ones)', () => {
    const misplaced = [...sources]
      .filter(([file, text]) => file.startsWith('src/') && !file.startsWith('src/output/') && !file.endsWith('-view.ts') && /\):\s*View</.test(text))
      .map(([file]) => file);
    expect(misplaced).toEqual([]);
  });
});

/**
 * What a command file (commands/, but for the shared base in commands/_base/) may not do itself: the base
 * command presents a command's outcome, sets the exit code and appends to the audit ledger, and stdout and
 * stderr are written by the base and its logger only (docs/architecture.md, "How to add a command").
 */
const COMMAND_RULES: readonly {readonly pattern: RegExp; readonly problem: string}[] = [
  {pattern: /\bprocess\.exit\b/, problem: 'calls process.exit: return the exit code in the outcome'},
  {pattern: /\bprocess\.exitCode\b/, problem: 'sets process.exitCode: return the exit code in the outcome'},
  {pattern: /\bthis\.exit\(/, problem: 'calls this.exit: return the exit code in the outcome'},
  {pattern: /\bsetExitCode\(/, problem: 'sets the exit code: return it in the outcome'},
  {pattern: /\bthis\.audit\(|\brecordAudit\(/, problem: 'appends to the audit ledger: return the audit decision in the outcome'},
  {pattern: /\bprocess\.(?:stdout|stderr)\.write\(/, problem: 'writes to stdout or stderr itself: return the output, use the report lines or the logger'},
  {pattern: /^\s+(?:public\s+|override\s+)*(?:async\s+)?run\(\)/m, problem: 'defines run(): implement execute() and return the outcome'},
];

/** A command file's breaches of COMMAND_RULES, and flags declared by hand under the name of a configuration flag. */
export function commandViolations(files: ReadonlyMap<string, string>, configFlagNames: readonly string[]): Violation[] {
  const problems: Violation[] = [];
  for (const [file, text] of files) {
    if (!file.startsWith('commands/') || file.startsWith('commands/_base/')) continue;
    for (const rule of COMMAND_RULES) if (rule.pattern.test(text)) problems.push({file, problem: rule.problem});
    for (const name of configFlagNames) {
      if (new RegExp(`^\\s+'?${name}'?: Flags\\.`, 'm').test(text)) {
        problems.push({file, problem: `declares --${name} by hand: take configFlags('${name}') (commands/_base/config-flags.ts)`});
      }
    }
  }
  return problems;
}

describe('commands', () => {
  it('return their outcome: none writes stdout or stderr, sets the exit code, audits or defines run() itself', async () => {
    const {CONFIG_FLAGS} = await import('../commands/_base/config-flags.js');
    expect(commandViolations(sources, Object.keys(CONFIG_FLAGS))).toEqual([]);
  });

  it('take a flag that overrides configuration from its one declaration, whose key the schema describes', async () => {
    const {CONFIG_FLAGS, configSummary} = await import('../commands/_base/config-flags.js');
    for (const {key, flag} of Object.values(CONFIG_FLAGS)) expect((flag as {summary?: string}).summary).toBe(configSummary(key));
    expect(() => configSummary('collection.no_such_key')).toThrow(/not a described key/);
  });

  it('are told apart from a command that does the base command’s work', () => {
    const files = new Map([
      ['commands/good.ts', 'protected async execute(): Promise<CommandOutcome> {\n    return {output: null, exitCode: ExitCode.Success, audit: null};\n  }\n'],
      ['commands/_base/base-command.ts', 'async run(): Promise<void> {\n process.exitCode = 1; process.stdout.write(x);\n'],
      [
        'commands/bad.ts',
        "  async run(): Promise<void> {\n    process.stdout.write('x');\n    this.setExitCode(1);\n    await this.audit('sign', {});\n    process.exit(2);\n  }\n  static flags = {\n    redact: Flags.boolean({allowNo: true}),\n  };\n",
      ],
    ]);
    expect(commandViolations(files, ['redact', 'hash']).map((v) => `${v.file}: ${v.problem}`)).toEqual([
      'commands/bad.ts: calls process.exit: return the exit code in the outcome',
      'commands/bad.ts: sets the exit code: return it in the outcome',
      'commands/bad.ts: appends to the audit ledger: return the audit decision in the outcome',
      'commands/bad.ts: writes to stdout or stderr itself: return the output, use the report lines or the logger',
      'commands/bad.ts: defines run(): implement execute() and return the outcome',
      "commands/bad.ts: declares --redact by hand: take configFlags('redact') (commands/_base/config-flags.ts)",
    ]);
  });
});
