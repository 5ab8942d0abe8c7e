// "Every command line in the docs is run by a test": each ```sh block of docs/operations/*.md, and every
// command of the CI job files in contrib/ci/ (their install step included: it installs the packed tarball
// into a private npm prefix, so the CLI it runs is the one installed as written), is run with bash in a
// temp environment. A block that uses a command this build does not have yet must be listed in PENDING below,
// and the list must be exact, so a command that lands makes its blocks run (remove it from PENDING).
import {spawnSync} from 'node:child_process';
import {chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {parse} from 'yaml';
import {afterAll, describe, expect, it} from 'vitest';

import {BIN, isolatedEnv, removeDir, ROOT, tempDir} from './helpers/cli.js';
import {CLICKHOUSE_PASSWORD, CLICKHOUSE_USER, startClickHouse} from './helpers/clickhouse.js';

/** Commands the docs use that are not in this build yet (owned by other branches). */
const PENDING: string[] = [];

const DOCS_DIR = join(ROOT, 'docs', 'operations');
const CI_DIR = join(ROOT, 'contrib', 'ci');

interface Block {
  readonly source: string;
  readonly line: number;
  readonly script: string;
  readonly expectedExit: number;
  /** Directory to run in, relative to the page's work directory. */
  readonly cwd: string;
  /** CI job files only: run with a private global npm prefix of this name, its `bin` first on the PATH. */
  readonly npmPrefix?: string;
}

/** Fenced blocks whose info string is `sh` (optionally `sh exit=N`). */
export function extractShellBlocks(markdown: string, source: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```sh(?:\s+(.*))?$/.exec(lines[i] as string);
    if (open === null) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end] !== '```') end++;
    const exit = /exit=(\d+)/.exec(open[1] ?? '');
    blocks.push({source, line: start, script: lines.slice(start, end).join('\n'), expectedExit: exit === null ? 0 : Number(exit[1]), cwd: '.'});
    i = end;
  }
  return blocks;
}

/** Every command of the CI job files, in order: GitHub `run:` steps, GitLab `before_script:` then `script:`. */
function ciBlocks(): Block[] {
  const blocks: Block[] = [];
  for (const name of readdirSync(CI_DIR).sort()) {
    const doc = parse(readFileSync(join(CI_DIR, name), 'utf8')) as Record<string, unknown>;
    const lines: string[] = [];
    const jobs = (doc.jobs ?? doc) as Record<string, {steps?: Array<{run?: string}>; before_script?: string[]; script?: string[]}>;
    for (const job of Object.values(jobs)) {
      if (typeof job !== 'object' || job === null) continue;
      for (const step of job.steps ?? []) if (typeof step.run === 'string') lines.push(step.run);
      for (const line of [...(job.before_script ?? []), ...(job.script ?? [])]) lines.push(line);
    }
    // They run in the rules repository that docs/operations/ci.md builds, each installing into its own prefix.
    blocks.push({source: `contrib/ci/${name}`, line: 0, script: lines.join('\n'), expectedExit: 0, cwd: 'rules-repo', npmPrefix: name});
  }
  return blocks;
}

const available = new Set<string>([
  ...Object.keys((JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>}).commands),
  ...pluginCommandIds(),
]);

function pluginCommandIds(): string[] {
  const plugins = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {oclif: {plugins?: string[]}}).oclif.plugins ?? [];
  return plugins.flatMap((plugin) => {
    const manifest = join(ROOT, 'node_modules', plugin, 'oclif.manifest.json');
    return existsSync(manifest) ? Object.keys((JSON.parse(readFileSync(manifest, 'utf8')) as {commands: Record<string, unknown>}).commands) : [];
  });
}

/** The command ids a script runs (`daemoneye rules test …` → `rules test`); flags alone are not commands. */
export function commandsIn(script: string): string[] {
  const found = new Set<string>();
  for (const match of script.matchAll(/\bdaemoneye\s+([a-z][a-z-]*)(?:\s+([a-z][a-z-]*))?/g)) {
    const [one, two] = [match[1] as string, match[2]];
    const pair = two === undefined ? undefined : `${one}:${two}`;
    found.add(pair !== undefined && (available.has(pair) || PENDING.includes(`${one} ${two}`)) ? `${one} ${two}` : one);
  }
  return [...found];
}

function isAvailable(command: string): boolean {
  return available.has(command.replace(' ', ':'));
}

const pages = readdirSync(DOCS_DIR)
  .filter((name) => name.endsWith('.md'))
  .sort();
const pageBlocks = pages.map((page) => ({page, blocks: extractShellBlocks(readFileSync(join(DOCS_DIR, page), 'utf8'), `docs/operations/${page}`)}));
const ci = ciBlocks();
const allBlocks = [...pageBlocks.flatMap((p) => p.blocks), ...ci];

const root = tempDir('daemoneye-docs-');
afterAll(() => removeDir(root));

/** A work directory per page: `contrib/` of the repository, `daemoneye` on the PATH, private state. */
function workDir(name: string): {dir: string; env: NodeJS.ProcessEnv} {
  const dir = join(root, name);
  const binDir = join(dir, '.bin');
  mkdirSync(binDir, {recursive: true});
  mkdirSync(join(dir, 'units'));
  mkdirSync(join(dir, 'home'));
  symlinkSync(join(ROOT, 'contrib'), join(dir, 'contrib'));
  const shim = join(binDir, 'daemoneye');
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
  chmodSync(shim, 0o755);
  const env = isolatedEnv(join(dir, 'home'), {
    PATH: `${binDir}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    DAEMONEYE_APP__STATE_DIR: join(dir, 'state'),
    DAEMONEYE_CRYPTO__PRIVATE_KEY_PATH: join(dir, 'keys', 'private.key'),
    DAEMONEYE_CRYPTO__PUBLIC_KEY_PATH: join(dir, 'keys', 'public.key'),
    UNIT_DIR: join(dir, 'units'),
    STATE: join(dir, 'state'),
    CHECKOUT: ROOT,
    // The user's npm cache: the CI install step fetches the tarball's dependencies through it.
    npm_config_cache: process.env.npm_config_cache ?? join(process.env.HOME ?? '/root', '.npm'),
  });
  return {dir, env};
}

function runBlock(block: Block, dir: string, env: NodeJS.ProcessEnv): {status: number | null; output: string} {
  if (block.npmPrefix !== undefined) {
    const prefix = join(dir, 'npm-global', block.npmPrefix);
    env = {...env, npm_config_prefix: prefix, PATH: `${join(prefix, 'bin')}:${env.PATH ?? ''}`};
  }
  // maxBuffer: a block may print every process of a crowded host (`scan` rows); past Node's 1 MiB default the
  // shell is killed (status null) and the block fails for the size of the host, not for what it does.
  const result = spawnSync('bash', ['-e', '-o', 'pipefail', '-c', block.script], {
    cwd: join(dir, block.cwd),
    env,
    encoding: 'utf8',
    timeout: 240_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  return {status: result.status, output: `${result.stdout}\n${result.stderr}`.slice(-3000)};
}

describe('command lines in the docs', () => {
  it('finds the runnable blocks', () => {
    expect(allBlocks.length).toBeGreaterThan(15);
    expect(extractShellBlocks('a\n```sh exit=1\nfalse\n```\n```text\nnot run\n```\n', 'x')).toEqual([
      {source: 'x', line: 2, script: 'false', expectedExit: 1, cwd: '.'},
    ]);
  });

  it('uses only commands that exist, except the exact list still pending', () => {
    const missing = new Set(allBlocks.flatMap((block) => commandsIn(block.script)).filter((command) => !isAvailable(command)));
    expect([...missing].sort()).toEqual([...PENDING].sort());
  });

  for (const {page, blocks} of pageBlocks) {
    const runnable = blocks.filter((block) => commandsIn(block.script).every(isAvailable));
    const pageCi = page === 'ci.md' ? ci.filter((block) => commandsIn(block.script).every(isAvailable)) : [];
    if (runnable.length + pageCi.length === 0) continue;
    it(`runs every available block of docs/operations/${page}`, async () => {
      const work = workDir(page.replace(/\.md$/, ''));
      const {dir} = work;
      // fleet.md talks to a real ClickHouse: one on loopback, named by the variables the page uses.
      const clickhouse = page === 'fleet.md' ? await startClickHouse() : undefined;
      const env =
        clickhouse === undefined
          ? work.env
          : {
              ...work.env,
              CLICKHOUSE_URL: clickhouse.url,
              CLICKHOUSE_TCP_PORT: String(clickhouse.tcpPort),
              CLICKHOUSE_USER,
              CLICKHOUSE_PASSWORD,
            };
      try {
        for (const block of [...runnable, ...pageCi]) {
          const result = runBlock(block, dir, env);
          expect(result.status, `${block.source}:${block.line}\n${block.script}\n---\n${result.output}`).toBe(block.expectedExit);
          // The CI jobs ran the CLI their install step put in the private prefix, not the checkout's.
          if (block.npmPrefix !== undefined) expect(existsSync(join(dir, 'npm-global', block.npmPrefix, 'bin', 'daemoneye'))).toBe(true);
        }
      } finally {
        await clickhouse?.stop();
      }
      // A page runs many CLI invocations in sequence (jq.md alone about twenty): give it room on a loaded machine.
    }, 600_000);
  }

  it('refuses a tampered tarball: the CI install step stops at the checksum', () => {
    const {dir, env} = workDir('ci-tampered');
    const [github] = ci;
    const tools = join(dir, 'rules-repo', 'tools');
    mkdirSync(tools, {recursive: true});
    writeFileSync(join(tools, 'daemoneye-0.1.0.tgz'), 'not the tarball that was checked in');
    writeFileSync(join(tools, 'SHA256SUMS'), `${'0'.repeat(64)}  daemoneye-0.1.0.tgz\n`);
    const result = runBlock(github as Block, dir, env);
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/FAILED/);
    expect(existsSync(join(dir, 'npm-global', (github as Block).npmPrefix as string, 'bin', 'daemoneye'))).toBe(false);
  });
});
