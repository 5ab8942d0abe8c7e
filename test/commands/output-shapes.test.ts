// What a pipeline into jq or a SIEM relies on: every command prints NDJSON when piped (one compact JSON value
// per line, never indented JSON), and a field has one shape whichever command and format printed it.
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {FIXTURE_RULES, writeFixtureSnapshot, writeRule} from './detection-fixtures.js';

const home = tempDir();
const env = isolatedEnv(home, {DAEMONEYE_DETECTION__BUILTIN_RULES: 'false'});
const keys = join(home, 'keys');
const signed = join(home, 'report.txt');
const fixture = join(home, 'fixture.db');
const live = join(home, 'live.db');
afterAll(() => removeDir(home));

beforeAll(async () => {
  writeFileSync(signed, 'report\n');
  writeFileSync(join(home, 'config.yaml'), 'app:\n  log_level: info\n');
  await writeFixtureSnapshot(fixture);
  const scan = await runCli(['scan', '--output', live, '--no-hash'], {env});
  expect(scan.code).toBe(0);
});

/** NDJSON: every line one compact JSON value; no line indented or a lone bracket. */
function expectNdjson(stdout: string, lines: number | 'some'): Record<string, unknown>[] {
  const all = stdout.split('\n').filter((line) => line !== '');
  for (const line of all) expect(line).toMatch(/^\{.*\}$/);
  const records = parseNdjson(stdout);
  if (lines === 'some') expect(records.length).toBeGreaterThan(0);
  else expect(records).toHaveLength(lines);
  return records;
}

describe('every command prints NDJSON when piped', () => {
  // The eight commands that printed indented JSON when piped, and the rest of the kind.
  it('keys generate, sign, verify: one line each', async () => {
    const generated = await runCli(['keys', 'generate', '--dir', keys], {env});
    expect(generated.code).toBe(0);
    expect(expectNdjson(generated.stdout, 1)[0]).toHaveProperty('key_id');
    const sign = await runCli(['sign', signed, '--key', join(keys, 'private.key')], {env});
    expect(sign.code).toBe(0);
    expectNdjson(sign.stdout, 1);
    const verify = await runCli(['verify', signed, '--signature', `${signed}.sig`, '--public-key', join(keys, 'public.key')], {env});
    expect(verify.code).toBe(0);
    expect(expectNdjson(verify.stdout, 1)[0]).toMatchObject({valid: true});
  });

  it('config validate and rules validate: one line per file', async () => {
    const config = await runCli(['config', 'validate', join(home, 'config.yaml')], {env});
    expect(config.code).toBe(0);
    expect(expectNdjson(config.stdout, 1)[0]).toMatchObject({valid: true});
    const rules = await runCli(['rules', 'validate', FIXTURE_RULES], {env});
    expect(rules.code).toBe(0);
    expect(expectNdjson(rules.stdout, 3).every((r) => r.valid === true)).toBe(true);
  });

  it('health: one line per component', async () => {
    const health = await runCli(['health'], {env});
    const records = expectNdjson(health.stdout, 'some');
    expect(records.map((r) => r.component)).toContain('config');
  });

  it('audit verify, audit checkpoint, audit show: one line each (the ledger of the runs above)', async () => {
    const audited = {...env, DAEMONEYE_CRYPTO__PRIVATE_KEY_PATH: join(keys, 'private.key'), DAEMONEYE_CRYPTO__PUBLIC_KEY_PATH: join(keys, 'public.key')};
    expect((await runCli(['sign', signed, '--output', join(home, 'again.sig')], {env: audited})).code).toBe(0);
    const verify = await runCli(['audit', 'verify'], {env: audited});
    expect(verify.code).toBe(0);
    expect(expectNdjson(verify.stdout, 1)[0]).toMatchObject({valid: true});
    const checkpoint = await runCli(['audit', 'checkpoint'], {env: audited});
    expect(checkpoint.code).toBe(0);
    expectNdjson(checkpoint.stdout, 1);
    // The one-line checkpoint is still a checkpoint file `audit verify --checkpoint` reads.
    const shipped = join(home, 'checkpoint.json');
    writeFileSync(shipped, checkpoint.stdout);
    expect((await runCli(['audit', 'verify', '--checkpoint', shipped, '--strict'], {env: audited})).code).toBe(0);
    expectNdjson((await runCli(['audit', 'show'], {env: audited})).stdout, 'some');
  });

  it('--format json is still one indented document', async () => {
    const result = await runCli(['health', '--format', 'json'], {env});
    expect(result.stdout.startsWith('{\n')).toBe(true);
    expect(JSON.parse(result.stdout)).toHaveProperty('components');
  });
});

describe('one shape per field', () => {
  it('query prints JSON columns as arrays/objects and booleans as true/false, like scan and export', async () => {
    const sql = 'SELECT id, pid, command_line, platform_data, file_exists, accessible, kernel_thread FROM processes ORDER BY pid';
    const query = await runCli(['query', sql, '--input', live], {env});
    expect(query.code).toBe(0);
    const exported = await runCli(['export', '--input', live], {env});
    expect(exported.code).toBe(0);
    const byId = new Map(parseNdjson(exported.stdout).map((r) => [r.id, r]));
    const rows = expectNdjson(query.stdout, 'some');
    for (const row of rows) {
      const record = byId.get(row.id) as Record<string, unknown> & {platform_data: Record<string, unknown>};
      expect(Array.isArray(row.command_line)).toBe(true);
      expect(row.command_line).toEqual(record.command_line);
      expect(row.platform_data).toEqual(record.platform_data);
      // A boolean, or null (unknown) for a process whose exe link could not be read, which is then not accessible.
      if (row.file_exists === null) expect(row.accessible).toBe(false);
      else expect(typeof row.file_exists).toBe('boolean');
      expect(row.file_exists).toBe(record.file_exists);
      expect(row.accessible).toBe(record.accessible);
      expect(row.kernel_thread).toBe(record.platform_data.kernel_thread);
    }
  });

  it("alerts' alert_data rows carry booleans and the argv array; the description reads as one sentence", async () => {
    const rules = join(home, 'shape-rules');
    writeRule(
      rules,
      'deleted.yaml',
      'id: shape-deleted\nname: Deleted\ndescription: A deleted binary is running.\nseverity: low\nsql_query: SELECT pid, name, command_line, exe_deleted, file_exists FROM processes WHERE exe_deleted = 1\n',
    );
    const result = await runCli(['detect', '--input', fixture, '--rules', rules, '--rule', 'shape-deleted'], {env});
    const [alert] = expectNdjson(result.stdout, 1) as {alert_data: {processes: Record<string, unknown>[]}; description: string}[];
    expect(alert?.alert_data.processes).toEqual([{pid: 12, name: expect.any(String), command_line: expect.any(Array), exe_deleted: true, file_exists: false}]);
    expect(alert?.description).toMatch(/^A deleted binary is running: 1 process \(/);
  });

  it('scan --format csv and export --format csv print the same columns with the same values', async () => {
    const exported = await runCli(['export', '--input', live, '--format', 'csv'], {env});
    expect(exported.code).toBe(0);
    const scan = await runCli(['scan', '--format', 'csv', '--pid', '1', '--no-hash'], {env});
    expect(scan.code).toBe(0);
    const [exportHeader, ...exportRows] = exported.stdout.trimEnd().split('\r\n');
    const [scanHeader, scanRow] = scan.stdout.trimEnd().split('\r\n');
    expect(scanHeader).toBe(exportHeader);
    const columns = (scanHeader ?? '').split(',');
    // Every boolean cell is true/false (never 0/1) in both.
    const booleanColumns = ['accessible', 'file_exists', 'kernel_thread', 'exe_deleted', 'exe_memfd', 'exe_replaced', 'environ_readable'];
    const cellsOf = (line: string): string[] => line.match(/("([^"]|"")*"|[^,]*)(,|$)/g)?.map((cell) => cell.replace(/,$/, '')) ?? [];
    for (const line of [scanRow ?? '', ...exportRows]) {
      const cells = cellsOf(line);
      for (const name of booleanColumns) expect(['true', 'false', '']).toContain(cells[columns.indexOf(name)]);
    }
  });
});
