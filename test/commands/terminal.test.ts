// Nothing the tool prints can drive the terminal it prints to: every output format and every message, run on a
// real pseudo-terminal (test/helpers/pty.ts) against processes, files and rules whose names and arguments hold
// ESC sequences (CSI, OSC), BEL, CR, backspace, C1 controls and bidi overrides.
import {copyFileSync, mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {LiveProcesses, SLEEP, waitForExe} from '../collect/live-processes.js';
import {isolatedEnv, removeDir, tempDir} from '../helpers/cli.js';
import {runCliInPty, unsafeCharacters} from '../helpers/pty.js';

// OSC 0 (window title), BEL, CR (overwrite the line), backspace, CSI 2J (clear screen), C1 CSI, RLO.
const EVIL = 'ev\u001b]0;PWNED\u0007\r\b\u001b[2J\u009b31m\u202ex';
const live = new LiveProcesses();
const dir = tempDir();
const env = isolatedEnv(join(dir, 'home'), {TERM: 'xterm-256color', NO_COLOR: '1'});
const colourEnv = {...isolatedEnv(join(dir, 'home')), TERM: 'xterm-256color'};
let commPid = 0;
let argvPid = 0;

beforeAll(async () => {
  // comm comes from the executable's name (its first 15 bytes), argv[0] from the exec call.
  const evilSleep = join(dir, EVIL);
  copyFileSync(SLEEP, evilSleep);
  const byName = live.spawn(evilSleep, ['1000'], {argv0: `${EVIL}-argv0`});
  const byArgs = live.spawn('/bin/sh', [
    '-c',
    'sleep 1000; :',
    'sh',
    `--name=${EVIL}`,
    '\u001b[31mred\u001b[0m',
    `\u001b]52;c;${Buffer.from('rm -rf ~').toString('base64')}\u0007`,
  ]);
  commPid = byName.pid ?? 0;
  argvPid = byArgs.pid ?? 0;
  await waitForExe(commPid, (target) => target.includes('PWNED'));
  await waitForExe(argvPid, () => true);
  // A rule that flags them (detect's formats) and a rule file whose name and SQL comment hold the same.
  mkdirSync(join(dir, 'rules'));
  writeFileSync(
    join(dir, 'rules', 'evil.yaml'),
    `id: evil-names\nname: "Evil \\e]0;T\\a name \\u202e"\ndescription: "d \\e[2J"\nseverity: high\nsql_query: |\n  SELECT pid, name, cmdline FROM processes -- \u001b]0;in sql\u0007\n  WHERE pid IN (${commPid}, ${argvPid})\n`,
  );
}, 30_000);
afterAll(() => {
  live.killAll();
  removeDir(dir);
});

async function expectSafe(args: readonly string[], options: {colour?: boolean; mustShow?: RegExp} = {}): Promise<string> {
  const result = await runCliInPty(args, options.colour === true ? colourEnv : env);
  expect(unsafeCharacters(result.output), `${args.join(' ')}\n${result.output.slice(0, 2000)}`).toEqual([]);
  // The hostile text did reach the output, made visible (else the check proves nothing).
  expect(result.output).toMatch(options.mustShow ?? /\\x1b|\\u001b/);
  return result.output;
}

describe('every output format on a terminal is free of control characters', () => {
  for (const format of ['table', 'tree', 'csv', 'json', 'ndjson']) {
    it(`scan --format ${format}: argv and comm`, async () => {
      const output = await expectSafe(['scan', '--pid', String(commPid), '--pid', String(argvPid), '--no-hash', '--format', format]);
      expect(output).toContain('PWNED');
    });
  }

  it('scan on a terminal with colour on: only the palette reaches it', async () => {
    await expectSafe(['scan', '--pid', String(commPid), '--no-hash'], {colour: true});
  });

  for (const format of ['csv', 'json', 'ndjson']) {
    it(`scan --format ${format} with colour on: not even a palette colour from argv passes`, async () => {
      const output = await expectSafe(['scan', '--pid', String(argvPid), '--no-hash', '--format', format], {colour: true});
      expect(output).not.toContain('\u001b[31m');
    });
  }

  for (const format of ['table', 'csv', 'json', 'ndjson']) {
    it(`query --format ${format}`, async () => {
      await expectSafe(['query', `SELECT pid, name, cmdline, command_line FROM processes WHERE pid IN (${commPid}, ${argvPid})`, '--format', format]);
    });
  }

  for (const format of ['text', 'table', 'tree', 'json', 'ndjson']) {
    it(`detect --format ${format} (alerts naming the processes)`, async () => {
      await expectSafe(['detect', '--rules', join(dir, 'rules'), '--no-audit', '--format', format], {colour: format === 'table'});
    });
  }

  it('rules list --format csv and rules convert (a rule file is user text)', async () => {
    await expectSafe(['rules', 'list', '--rules', join(dir, 'rules'), '--format', 'csv']);
    await expectSafe(['rules', 'convert', join(dir, 'rules', 'evil.yaml')]);
  });
});

describe('config validate on a terminal: file names and YAML keys', () => {
  const file = join(dir, `conf${EVIL}.yaml`);
  beforeAll(() => writeFileSync(file, 'app:\n  "lo\\e]0;K\\a\\u202eg": 1\n'));

  for (const format of ['table', 'json', 'ndjson']) {
    it(`--format ${format}, with its problem lines on stderr`, async () => {
      const output = await expectSafe(['config', 'validate', file, '--format', format]);
      expect(output).toContain('unknown key');
    });
  }
});

describe('messages on a terminal: errors, warnings, usage errors', () => {
  it('a file that does not exist, named with escapes', async () => {
    await expectSafe(['query', 'SELECT 1 AS pid', '--input', join(dir, `missing${EVIL}.db`)]);
  });

  it('a bad flag value and an unknown command', async () => {
    await expectSafe(['scan', '--pid', `1${EVIL}`]);
    await expectSafe([`sca\u001b]0;x\u0007n`]);
  });

  it('JSON logs', async () => {
    await expectSafe(['query', 'SELECT 1 AS pid', '--input', join(dir, `missing${EVIL}.db`), '--log-format', 'json']);
  });
});
