// Secrets stay secret, end to end: real processes with secrets in argv and environment, a real HTTP endpoint,
// configuration files with credentials, run through bin/run.js; no password, token or key may appear in any
// output, report, log line, error message or evidence bundle (docs/redaction.md).
import {execFileSync} from 'node:child_process';
import {createServer, type Server} from 'node:http';
import type {AddressInfo} from 'node:net';
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {parquetReadObjects} from 'hyparquet';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {LiveProcesses, SLEEP, waitForExe} from '../collect/live-processes.js';
import {isolatedEnv, removeDir, runCli, tempDir} from '../helpers/cli.js';

const dir = tempDir();
const env = isolatedEnv(join(dir, 'home'));
const live = new LiveProcesses();
const GH = `ghp_${'Zq9x'.repeat(9)}`;
// Every secret a process below holds: none of these strings may appear in anything the tool writes.
const SECRETS = ['p@ss', 'pa/ss', 'hunter2', 'bearertok123', 'curlpw', GH, 'querytok9', 'javapw7', 'sudopw5', 'envtok3', 'mysqlpw'];
let argvPid = 0;
let envPid = 0;
let server: Server;
let port = 0;

function leaks(text: string): string[] {
  return SECRETS.filter((secret) => text.includes(secret));
}

beforeAll(async () => {
  argvPid = live.spawn('/bin/sh', [
    '-c',
    'sleep 1000; :',
    'sh',
    'https://user:p@ss@host.invalid/x',
    'https://user:pa/ss@host.invalid/x',
    'bash -c "mysql --password=hunter2 -pmysqlpw"',
    '-H',
    'Authorization: Bearer bearertok123',
    '--user',
    'bob:curlpw',
    `https://${GH}@github.com/o/r.git`,
    'https://h.invalid/x?token=querytok9&page=2',
    '-Ddb.Password=javapw7',
  ]).pid!;
  envPid = live.spawn(SLEEP, ['1000'], {
    env: {PATH: '/usr/bin:/bin', SUDO_COMMAND: '/usr/bin/app --password=sudopw5 --port 80', API_TOKEN: 'envtok3', HISTFILE: '/dev/null'},
  }).pid!;
  await waitForExe(argvPid, () => true);
  await waitForExe(envPid, (target) => target.endsWith('sleep'));
  server = createServer((_request, response) => void response.writeHead(401).end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => {
  live.killAll();
  server.close();
  removeDir(dir);
});

describe('argv and environment of live processes', () => {
  it('scan: every form of secret in argv is redacted, the rest kept', async () => {
    const result = await runCli(['scan', '--pid', String(argvPid), '--no-hash', '--format', 'json'], {env});
    expect(result.code).toBe(0);
    expect(leaks(result.stdout + result.stderr)).toEqual([]);
    const [record] = JSON.parse(result.stdout) as {command_line: string[]}[];
    expect(record?.command_line.slice(4)).toEqual([
      'https://user:[REDACTED]@host.invalid/x',
      'https://user:[REDACTED]@host.invalid/x',
      'bash -c "mysql --password=[REDACTED] -p[REDACTED]"',
      '-H',
      'Authorization: Bearer [REDACTED]',
      '--user',
      'bob:[REDACTED]',
      'https://[REDACTED]@github.com/o/r.git',
      'https://h.invalid/x?token=[REDACTED]&page=2',
      '-Ddb.Password=[REDACTED]',
    ]);
  });

  it('scan --no-redact keeps argv as read (the operator asked)', async () => {
    const result = await runCli(['scan', '--pid', String(argvPid), '--no-hash', '--no-redact', '--format', 'json'], {env});
    expect(result.stdout).toContain('hunter2');
  });

  it('process_envs: a command line in SUDO_COMMAND and a token variable', async () => {
    const sql = `SELECT key, value FROM process_envs WHERE pid = ${envPid} ORDER BY key`;
    const result = await runCli(['query', sql, '--format', 'json'], {
      env: {...env, DAEMONEYE_COLLECTION__ENV_VARIABLES: '[SUDO_COMMAND, API_TOKEN, HISTFILE]'},
    });
    expect(result.code).toBe(0);
    expect(leaks(result.stdout + result.stderr)).toEqual([]);
    const rows = (JSON.parse(result.stdout) as {key: string; value: string}[]).map(({key, value}) => ({key, value}));
    expect(rows).toEqual([
      {key: 'API_TOKEN', value: '[REDACTED]'},
      {key: 'HISTFILE', value: '/dev/null'},
      {key: 'SUDO_COMMAND', value: '/usr/bin/app --password=[REDACTED] --port 80'},
    ]);
  });

  it('a snapshot saved with --no-redact: alerts from it carry no secret to stdout or a sink', async () => {
    const snapshot = join(dir, 'raw.db');
    expect((await runCli(['scan', '--pid', String(argvPid), '--no-hash', '--no-redact', '--output', snapshot], {env})).code).toBe(0);
    const rules = join(dir, 'rules');
    mkdirSync(rules, {recursive: true});
    writeFileSync(
      join(rules, 'secret-args.yaml'),
      `id: secret-args\nname: Secret arguments\ndescription: A process with a password in its arguments\nseverity: high\nsql_query: |\n  SELECT pid, name, cmdline, command_line FROM processes WHERE cmdline LIKE '%password%'\n`,
    );
    const sinkFile = join(dir, 'alerts.ndjson');
    const config = join(dir, 'sink.yaml');
    writeFileSync(config, `alerting:\n  sinks:\n    - {name: file, type: file, path: ${sinkFile}}\n`);
    const result = await runCli(['detect', '--input', snapshot, '--rules', rules, '--config', config, '--fail-on', 'high', '--format', 'json', '--no-audit'], {
      env,
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('secret-args');
    expect(leaks(result.stdout + result.stderr)).toEqual([]);
    expect(leaks(readFileSync(sinkFile, 'utf8'))).toEqual([]);
    expect(readFileSync(sinkFile, 'utf8')).toContain('--password=[REDACTED]');
  });
});

describe('evidence bundles', () => {
  it('collect: cmdline.json, environ.json and the manifest redacted, and the manifest says what', async () => {
    const out = join(dir, 'case');
    const result = await runCli(['collect', '--pid', String(argvPid), '--pid', String(envPid), '--output', out, '--no-audit'], {env});
    expect(result.code).toBe(0);
    const cmdline = readFileSync(join(out, `proc-${argvPid}`, 'cmdline.json'), 'utf8');
    const environ = readFileSync(join(out, `proc-${envPid}`, 'environ.json'), 'utf8');
    const manifestText = readFileSync(join(out, 'manifest.json'), 'utf8');
    expect(leaks(cmdline + environ + manifestText + result.stdout + result.stderr)).toEqual([]);
    expect(JSON.parse(cmdline)).toContain('Authorization: Bearer [REDACTED]');
    expect(JSON.parse(environ)).toMatchObject({SUDO_COMMAND: '/usr/bin/app --password=[REDACTED] --port 80', API_TOKEN: '[REDACTED]'});
    const manifest = JSON.parse(manifestText) as {redaction: {enabled: boolean; policy: string; files: {path: string; values: number}[]}};
    expect(manifest.redaction.enabled).toBe(true);
    expect(manifest.redaction.policy).toBe('docs/redaction.md');
    expect(manifest.redaction.files).toContainEqual({path: `proc-${argvPid}/cmdline.json`, values: 8});
    expect(manifest.redaction.files).toContainEqual({path: `proc-${envPid}/environ.json`, values: 2});
  });

  it('collect --no-redact: the secrets are kept, the manifest and a warning say so, the ledger records it', async () => {
    const out = join(dir, 'case-raw');
    const result = await runCli(['collect', '--pid', String(envPid), '--output', out, '--no-redact'], {env});
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/redaction is off \(--no-redact or collection.redaction.enabled: false\): .*secrets included/);
    expect(readFileSync(join(out, `proc-${envPid}`, 'environ.json'), 'utf8')).toContain('sudopw5');
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as {redaction: {enabled: boolean; note: string}};
    expect(manifest.redaction).toMatchObject({enabled: false, note: expect.stringContaining('--no-redact') as unknown});
    const ledger = await runCli(['audit', 'show', '--action', 'evidence_collection', '--format', 'json'], {env});
    expect(ledger.stdout).toMatch(/"redacted":\s*false/);
  });
});

describe('configuration, health, logs and errors', () => {
  const webhook = (url: string): string => `alerting:\n  sinks:\n    - name: hook\n      type: webhook\n      url: "${url}"\n`;

  it('config show: URL passwords and query tokens, in every format', async () => {
    const config = join(dir, 'show.yaml');
    writeFileSync(config, webhook('https://alice:hunter2@siem.invalid/in?token=querytok9&x=1'));
    for (const format of ['json', 'ndjson', 'table']) {
      const result = await runCli(['config', 'show', '--config', config, '--format', format], {env});
      expect(result.code).toBe(0);
      expect(leaks(result.stdout + result.stderr)).toEqual([]);
      expect(result.stdout).toContain('https://alice:[REDACTED]@siem.invalid/in?token=[REDACTED]&x=1');
    }
  });

  it('config validate: an invalid webhook URL is quoted without its password', async () => {
    const config = join(dir, 'invalid.yaml');
    writeFileSync(config, webhook('ht tp://alice:hunter2@exa mple/?token=querytok9'));
    for (const format of ['json', 'table']) {
      const result = await runCli(['config', 'validate', config, '--format', format], {env});
      expect(result.code).toBe(1);
      expect(leaks(result.stdout + result.stderr)).toEqual([]);
      expect(result.stderr).toContain('Invalid URL');
    }
  });

  it('health --format json: neither the invalid configuration nor the sink probe shows a credential', async () => {
    const invalid = join(dir, 'invalid-health.yaml');
    writeFileSync(invalid, webhook('ht tp://alice:hunter2@exa mple/'));
    const bad = await runCli(['health', '--config', invalid, '--format', 'json'], {env});
    expect(bad.code).toBe(1);
    expect(leaks(bad.stdout + bad.stderr)).toEqual([]);
    const refused = join(dir, 'refused-health.yaml');
    writeFileSync(refused, webhook(`http://alice:hunter2@127.0.0.1:${port}/in?token=querytok9`));
    const probe = await runCli(['health', '--config', refused, '--component', 'sinks', '--format', 'json'], {env});
    expect(probe.code).toBe(1);
    expect(leaks(probe.stdout + probe.stderr)).toEqual([]);
    expect(probe.stdout).toMatch(/HTTP 401/);
  });

  it('an error message naming a token (a missing file), in text and JSON logs', async () => {
    for (const format of ['text', 'json']) {
      const result = await runCli(['query', 'SELECT 1 AS pid', '--input', join(dir, `${GH}.db`), '--log-format', format], {env});
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('[REDACTED]');
      expect(leaks(result.stderr + result.stdout)).toEqual([]);
    }
  });
});

describe('a snapshot saved with --no-redact, read back: every reader redacts by column kind unless told --no-redact', () => {
  const raw = join(dir, 'raw-read.db');
  const old = join(dir, 'old-read.db');
  const lake = join(dir, 'lake');
  const envs = {...env, DAEMONEYE_COLLECTION__ENV_VARIABLES: '[SUDO_COMMAND, API_TOKEN, HISTFILE]'};
  const processes = (): string => `SELECT pid, cmdline, command_line FROM processes WHERE pid IN (${argvPid}, ${envPid})`;

  beforeAll(async () => {
    const saved = await runCli(
      ['scan', '--pid', String(argvPid), '--pid', String(envPid), '--no-hash', '--no-redact', '--tables', 'processes,process_envs', '--output', raw],
      {
        env: envs,
      },
    );
    expect(saved.code, saved.stderr).toBe(0);
    expect(saved.stderr).toContain('redaction is off');
    // The file holds the secrets (else nothing below could fail): argv and environment values as read.
    const stored = execFileSync('sqlite3', [raw, 'SELECT cmdline FROM processes; SELECT value FROM process_envs;'], {encoding: 'utf8'});
    expect(leaks(stored).sort()).toEqual([...SECRETS].sort());
    // An older scan without the two processes: `diff old raw` shows them added, with their columns.
    expect((await runCli(['scan', '--pid', '1', '--no-hash', '--output', old], {env})).code).toBe(0);
  });

  // One reader per code path: export's json and ocsf share ndjson's and ecs's reading, `scan --input --format
  // tree` shares `scan --input`'s (the tree of `detect --input` is another command's).
  const readers: readonly (readonly [string, () => string[]])[] = [
    ['query processes', () => ['query', processes(), '--input', raw, '--format', 'json']],
    ['query process_envs', () => ['query', `SELECT key, value FROM process_envs`, '--input', raw, '--format', 'csv']],
    ...(['ndjson', 'csv', 'ecs'] as const).map((format) => [`export --format ${format}`, () => ['export', '--input', raw, '--format', format]] as const),
    ['export --table process_envs', () => ['export', '--input', raw, '--table', 'process_envs', '--format', 'ndjson']],
    ['diff', () => ['diff', old, raw, '--format', 'json']],
    ['scan --input', () => ['scan', '--input', raw, '--format', 'json']],
    ['detect --input --format tree', () => ['detect', '--input', raw, '--rules', join(dir, 'no-rules'), '--format', 'tree']],
  ];

  for (const [name, args] of readers) {
    it(`${name}: no secret, [REDACTED] in its place; with --no-redact the stored values, and a warning`, async () => {
      mkdirSync(join(dir, 'no-rules'), {recursive: true});
      const result = await runCli([...args(), '--no-audit'], {env});
      expect(result.code, result.stderr).toBe(0);
      expect(leaks(result.stdout + result.stderr)).toEqual([]);
      expect(result.stdout).toContain('REDACTED');
      expect(result.stderr).not.toContain('redaction is off');
      if (name.startsWith('detect')) return;
      const shown = await runCli([...args(), '--no-audit', '--no-redact'], {env});
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).toMatch(name.includes('envs') ? /envtok3/ : /hunter2/);
      expect(shown.stderr).toContain('redaction is off (--no-redact');
    });
  }

  it('export --format parquet: the lake holds no secret; --no-redact writes them as stored', async () => {
    const result = await runCli(['export', '--input', raw, '--format', 'parquet', '--output', lake, '--no-audit'], {env});
    expect(result.code, result.stderr).toBe(0);
    const values = async (root: string): Promise<string> => {
      const files = result.stdout.split('\n').filter((line) => line !== '');
      let text = '';
      for (const file of files) {
        const bytes = readFileSync(join(root, file));
        const rows = await parquetReadObjects({file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)});
        text += JSON.stringify(rows, (_key, value: unknown) => (typeof value === 'bigint' ? Number(value) : value));
      }
      return text;
    };
    const redacted = await values(lake);
    expect(leaks(redacted)).toEqual([]);
    expect(redacted).toContain('--password=[REDACTED]');
    const asStored = join(dir, 'lake-raw');
    const shown = await runCli(['export', '--input', raw, '--format', 'parquet', '--output', asStored, '--no-audit', '--no-redact'], {env});
    expect(shown.stderr).toContain('redaction is off');
    expect(await values(asStored)).toContain('hunter2');
  });
  it('detect with collection.redaction.enabled false: said once on stderr (JSON stdout stays JSON); argv columns still redacted, a derived value as docs/redaction.md says', async () => {
    const rules = join(dir, 'derive-rules');
    mkdirSync(rules, {recursive: true});
    writeFileSync(
      join(rules, 'derived.yaml'),
      [
        'id: derived-secret',
        'name: A value derived from a secret argument',
        'description: The seven characters after --password=, beside the command line',
        'severity: high',
        'sql_query: |',
        "  SELECT pid, cmdline, substr(cmdline, instr(cmdline, '--password=') + 11, 7) AS derived FROM processes WHERE cmdline LIKE '%--password=%'",
        '',
      ].join('\n'),
    );
    const run = (extra: NodeJS.ProcessEnv) => runCli(['detect', '--input', raw, '--rules', rules, '--format', 'json', '--no-audit'], {env: {...env, ...extra}});
    const on = await run({});
    expect(on.code, on.stderr).toBe(0);
    expect(on.stderr).not.toContain('redaction is off');
    expect(leaks(on.stdout + on.stderr)).toEqual([]);
    const off = await run({DAEMONEYE_COLLECTION__REDACTION__ENABLED: 'false'});
    expect(off.code, off.stderr).toBe(0);
    expect(off.stderr.match(/redaction is off/g)).toHaveLength(1);
    expect(off.stderr).toContain('a value a rule derives from a secret');
    const report = JSON.parse(off.stdout) as {alerts: {alert_data: {processes: {cmdline: string; derived: string}[]}}[]};
    const [row] = report.alerts[0]?.alert_data.processes ?? [];
    // The argv column is redacted again in the alert; the derived value is what the rule computed (documented).
    expect(row?.cmdline).toContain('--password=[REDACTED]');
    expect(row?.derived).toBe('hunter2');
  });
});
