import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {HOSTILE_SQL} from '../detection/hostile-sql.js';
import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {writeFixtureSnapshot} from './detection-fixtures.js';

const dir = tempDir();
const snapshot = join(dir, 'snapshot.db');
const env = isolatedEnv(join(dir, 'home'));

beforeAll(async () => writeFixtureSnapshot(snapshot));
afterAll(() => removeDir(dir));

describe('daemoneye query', () => {
  it('runs a read-only query: ndjson, csv and json', async () => {
    const sql = 'SELECT pid, name, uid FROM processes WHERE pid < 12 ORDER BY pid';
    const ndjson = await runCli(['query', sql, '--input', snapshot], {env});
    expect(ndjson.code).toBe(0);
    const rows = parseNdjson(ndjson.stdout);
    // Each row names its host (the input's one scan's); the query's own columns come first.
    expect(rows.every((row) => (row.host as {hostname: string}).hostname === 'fixture')).toBe(true);
    expect(rows.map(({host: _host, ...row}) => row)).toEqual([
      {pid: 1, name: 'systemd', uid: 0},
      {pid: 5, name: 'evil', uid: 1000},
      {pid: 10, name: 'nginx', uid: 1000},
      {pid: 11, name: 'bash', uid: 1000},
    ]);
    const csv = await runCli(['query', sql, '--input', snapshot, '--format', 'csv'], {env});
    expect(csv.stdout).toBe('pid,name,uid\r\n1,systemd,0\r\n5,evil,1000\r\n10,nginx,1000\r\n11,bash,1000\r\n');
    const json = await runCli(['query', '-', '--input', snapshot, '--format', 'json'], {
      env,
      input: "SELECT count(*) AS n FROM processes WHERE name LIKE 'a%'",
    });
    expect((JSON.parse(json.stdout) as Record<string, unknown>[]).map(({host: _host, ...row}) => row)).toEqual([{n: 30}]);
  });

  it('a query past detection.rule_timeout_ms is killed (exit 3)', async () => {
    const result = await runCli(
      ['query', 'SELECT count(*) AS n FROM processes a, processes b, processes c, processes d, processes e, processes f, processes g', '--input', snapshot],
      {
        env: {...env, DAEMONEYE_DETECTION__RULE_TIMEOUT_MS: '800'},
      },
    );
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/query timed out: killed after 800 ms/);
  });
});

describe.concurrent('daemoneye query refuses hostile SQL (exit 2, nothing on stdout)', () => {
  it.each(HOSTILE_SQL)('$name', async ({sql}) => {
    const result = await runCli(['query', '-', '--input', snapshot, '--format', 'json'], {env, input: sql});
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const error = JSON.parse(result.stderr.trim().split('\n').at(-1) ?? '{}') as {error: {code: string; message: string}};
    expect(error.error.code).toBe('SQL_REFUSED');
    expect(error.error.message).toMatch(/^SQL refused: /);
  });
});
