// Every file a flag or the configuration names may come from a hostile host (snapshot files have their own
// test, test/storage/untrusted-input-cli.test.ts). Each hostile file below is refused at once with one line
// naming the file and the fix, the command's exit code, and no stack trace; a hang fails the test at the
// harness's timeout instead of stalling the suite.
import {spawn} from 'node:child_process';
import {mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it, vi} from 'vitest';

import {BIN, isolatedEnv, killGroups, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {ALIAS_BOMB, deepJson, linkToDevZero, makeFifo} from '../helpers/hostile-files.js';

vi.setConfig({testTimeout: 120_000});
const dir = tempDir();
afterAll(() => removeDir(dir));
const env = isolatedEnv(dir);

const fifo = makeFifo(join(dir, 'fifo'));
const zero = linkToDevZero(join(dir, 'zero'));
const data = join(dir, 'data.txt');
writeFileSync(data, 'hello\n');
const deep = join(dir, 'deep.json');
writeFileSync(deep, deepJson());
const aliasConfig = join(dir, 'alias.yaml');
writeFileSync(aliasConfig, ALIAS_BOMB);
const deepConfig = join(dir, 'deep.yaml');
writeFileSync(deepConfig, `app:\n  log_level: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`);
const aliasRule = join(dir, 'alias-rule.yaml');
writeFileSync(aliasRule, `id: bomb-rule\nname: x\nseverity: low\nsql_query: SELECT 1\n${ALIAS_BOMB.replace('a:', 'xa:')}`);
const deepRule = join(dir, 'deep-rule.yaml');
writeFileSync(deepRule, `id: deep-rule\nname: x\nseverity: low\nsql_query: SELECT 1\ntags:\n  ${'- '.repeat(50_000)}x\n`);

const run = (args: string[]) => runCli([...args, '--no-audit'], {env, timeoutMs: 60_000});

/** One line on stderr (the refusal), no stack trace. */
function oneLine(stderr: string): string {
  expect(stderr).not.toMatch(/\n\s+at /);
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  return lines[0] as string;
}

const notRegular = (path: string, kind: string, what: string) =>
  `daemoneye: error: ${path}: is a ${kind}, not a regular file: ${what} is never read from one (give the path of a regular ${what.replace(/^an? /, '')})`;

describe('a FIFO or a link to /dev/zero named by a flag is refused at once (exit 2)', () => {
  const cases: readonly [string, string[], string][] = [
    ['config validate --config FIFO', ['config', 'validate', '--config', fifo], notRegular(fifo, 'FIFO (named pipe)', 'a configuration file')],
    ['scan --config /dev/zero', ['scan', '--config', zero, '--pid', String(process.pid)], notRegular(zero, 'character device', 'a configuration file')],
    ['sign --key FIFO', ['sign', data, '--key', fifo], notRegular(fifo, 'FIFO (named pipe)', 'a key file')],
    ['verify --public-key /dev/zero', ['verify', data, '--signature', data, '--public-key', zero], notRegular(zero, 'character device', 'a key file')],
    ['audit verify --ledger FIFO', ['audit', 'verify', '--ledger', fifo], notRegular(fifo, 'FIFO (named pipe)', 'an audit ledger')],
    ['collect --alerts FIFO', ['collect', '--alerts', fifo, '--output', join(dir, 'case')], notRegular(fifo, 'FIFO (named pipe)', 'an alerts file')],
  ];
  for (const [name, args, line] of cases) {
    it(name, async () => {
      const result = await run(args);
      expect(result.code, result.stderr).toBe(2);
      expect(oneLine(result.stderr)).toBe(line);
    });
  }

  it('sign FILE: a file to sign that is a device is refused, not read forever', async () => {
    const key = join(dir, 'keys', 'private.key');
    const generated = await run(['keys', 'generate', '--dir', join(dir, 'keys')]);
    expect(generated.code, generated.stderr).toBe(0);
    const result = await run(['sign', zero, '--key', key]);
    expect(result.code).toBe(2);
    expect(oneLine(result.stderr)).toBe(notRegular(zero, 'character device', 'a file to sign or verify'));
  });
});

describe('JSON nested 100,000 deep is refused before anything walks it (exit 2)', () => {
  it('audit verify-proof', async () => {
    const result = await run(['audit', 'verify-proof', deep]);
    expect(result.code).toBe(2);
    expect(oneLine(result.stderr)).toBe(
      `daemoneye: error: ${deep} is not JSON: nested deeper than 64 levels (give the JSON that \`daemoneye audit prove\` printed)`,
    );
  });

  it('collect --alerts', async () => {
    const result = await run(['collect', '--alerts', deep, '--output', join(dir, 'case2')]);
    expect(result.code).toBe(2);
    expect(oneLine(result.stderr)).toMatch(/deep\.json: not JSON or NDJSON \(JSON nested deeper than 64 levels\)/);
  });
});

describe('YAML bombs in configuration, rule and rows files', () => {
  it('config validate: an alias bomb and a depth bomb are each one problem at their line and column (exit 1)', async () => {
    for (const [file, where, what] of [
      [aliasConfig, '2:8', 'aliases expand past 100 nodes (an alias bomb)'],
      [deepConfig, '2:76', 'nested deeper than 64 levels (a depth bomb)'],
    ] as const) {
      const result = await run(['config', 'validate', '--config', file, '--format', 'json']);
      expect(result.code, result.stderr).toBe(1);
      const report = JSON.parse(result.stdout) as {valid: boolean; files: {errors: {message: string}[]}[]};
      expect(report.valid).toBe(false);
      expect(report.files.flatMap((f) => f.errors.map((e) => e.message))).toEqual([expect.stringContaining(`${file}:${where}: invalid YAML: ${what}`)]);
    }
  });

  it('a command run with a bomb as its configuration refuses it (exit 2, one line)', async () => {
    const result = await run(['scan', '--config', aliasConfig, '--pid', String(process.pid)]);
    expect(result.code).toBe(2);
    expect(oneLine(result.stderr)).toMatch(/alias\.yaml:2:8: invalid YAML: aliases expand past 100 nodes/);
  });

  it('a configuration whose alias sits inside the value it names is one line at that alias (exit 2), not a stack overflow', async () => {
    const cyclic = join(dir, 'cyclic.yaml');
    writeFileSync(cyclic, 'collection:\n  env_variables: &a [PATH, *a]\n');
    for (const args of [
      ['scan', '--pid', String(process.pid)],
      ['detect', '--input', '/nonexistent.db'],
    ]) {
      const result = await run([...args, '--config', cyclic]);
      expect(result.code, result.stderr).toBe(2);
      expect(oneLine(result.stderr)).toMatch(/cyclic\.yaml:2:28: invalid YAML: alias \*a is inside the value it names/);
    }
  });

  it('rules validate: an alias bomb and a depth bomb in rule files are invalid rules (exit 1)', async () => {
    const result = await run(['rules', 'validate', aliasRule, deepRule, '--format', 'json']);
    expect(result.code, result.stderr).toBe(1);
    const text = result.stdout;
    expect(text).toContain(`${aliasRule}:6:8: invalid YAML: aliases expand past 100 nodes (an alias bomb)`);
    expect(text).toMatch(new RegExp(`${deepRule.replaceAll('.', '\\.')}:6:\\d+: invalid YAML: nested deeper than 64 levels`));
  });

  it('rules test --input: an alias bomb as process rows (exit 2, one line)', async () => {
    const result = await run(['rules', 'test', '--input', aliasConfig]);
    expect(result.code).toBe(2);
    expect(oneLine(result.stderr)).toMatch(/alias\.yaml: cannot read process rows: 2:8: aliases expand past 100 nodes/);
  });
});

describe('hostile Sigma conditions (trial 8 F6, F9): a file:line:col refusal at once, and SIGTERM ends the run', () => {
  /** A Sigma rule file in its own directory: one selection named `name`, the condition `condition`. */
  function sigmaRule(label: string, name: string, condition: string, id = '11111111-1111-1111-1111-111111111119'): string {
    const ruleDir = join(dir, `sigma-${label}`);
    mkdirSync(ruleDir, {recursive: true});
    const text = [
      `title: t`,
      `id: ${id}`,
      `status: test`,
      `logsource:\n  product: linux\n  category: process_creation`,
      `detection:\n  ${name}:\n    Image|endswith: /bash\n  condition: ${condition}`,
      `level: high\n`,
    ].join('\n');
    writeFileSync(join(ruleDir, `${label}.yml`), text);
    return ruleDir;
  }

  it.each([
    [
      'deepparen',
      'sel',
      `${'('.repeat(100_000)}sel${')'.repeat(100_000)}`,
      /:10:3: detection\.condition: condition: the condition is 200003 characters long; at most 4096 are read/,
    ],
    ['deepnot', 'sel', `${'not '.repeat(100_000)}sel`, /:10:3: detection\.condition: condition: the condition is 400003 characters long/],
    ['stars', 'sel', `1 of ${'*'.repeat(50_000)}x`, /:10:3: detection\.condition: condition: the condition is 50006 characters long/],
    ['nested', 'sel', `${'('.repeat(65)}sel${')'.repeat(65)}`, /:10:3: detection\.condition: condition: "\(" and "not" nest more than 64 deep/],
    [
      'backtrack',
      'a'.repeat(1000),
      '1 of *a*a*a*c',
      /:8:3: detection\.a{60}… \(1000 characters\): the search identifier "a{60}… \(1000 characters\)" is 1000 characters long; at most 256/,
    ],
    ['backtrack256', 'a'.repeat(256), `1 of ${'*a'.repeat(8)}*c`, /:10:3: detection\.condition: "(\*a){8}\*c" matches no search identifier/],
  ])('detect --rules: %s is refused with one short line naming the file (exit 2)', async (label, name, condition, expected) => {
    const ruleDir = sigmaRule(label, name, condition);
    const start = performance.now();
    const result = await run(['detect', '--rules', ruleDir]);
    expect(performance.now() - start).toBeLessThan(30_000);
    expect(result.code, result.stderr).toBe(2);
    const line = oneLine(result.stderr);
    expect(line).toContain(join(ruleDir, `${label}.yml`));
    expect(line).toMatch(expected);
    expect(line.length).toBeLessThan(500);
  });

  it('rules validate on 3,000 rules with x-of patterns that backtracked ends at SIGTERM', async () => {
    const ruleDir = join(dir, 'sigma-many');
    mkdirSync(ruleDir);
    for (let i = 0; i < 3000; i++) {
      const id = `11111111-1111-1111-1111-${String(i).padStart(12, '0')}`;
      writeFileSync(
        join(ruleDir, `r${i}.yml`),
        `title: t${i}\nid: ${id}\nstatus: test\nlogsource:\n  product: linux\n  category: process_creation\ndetection:\n  ${'a'.repeat(256)}:\n    Image|endswith: /bash\n  sel_b:\n    CommandLine|contains: x${i}\n  condition: 1 of ${'*a'.repeat(8)}*c or sel_b\nlevel: high\n`,
      );
    }
    const child = spawn(process.execPath, [BIN, 'rules', 'validate', ruleDir, '--no-audit'], {env, stdio: 'ignore', detached: true});
    try {
      const ended = new Promise<{code: number | null; signal: NodeJS.Signals | null; at: number}>((resolve) =>
        child.on('close', (code, signal) => resolve({code, signal, at: performance.now()})),
      );
      // Validating 3,000 files takes seconds of CPU (0.9 ms each, measured): at 1 s the run is under way.
      await new Promise((r) => setTimeout(r, 1000));
      const sent = performance.now();
      child.kill('SIGTERM');
      const timeout = new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 10_000).unref());
      const outcome = await Promise.race([ended, timeout]);
      expect(outcome).not.toBe('still running');
      if (outcome === 'still running') return;
      expect(outcome.signal).toBe('SIGTERM');
      expect(outcome.at - sent).toBeLessThan(10_000);
    } finally {
      killGroups([child]);
    }
  });
});
