// ClickHouse as the fleet's engine, end to end against a real clickhouse-server on loopback: the DDL of
// `schema --dialect clickhouse` creates every table with the exact types (there, and in current ClickHouse
// in-process, chdb); `ship` inserts a real scan's tables
// (every row equal to the snapshot's, with its host); the `clickhouse` sink inserts alerts from `detect`, spools
// them when the server is down and delivers them later; refused credentials and a schema mismatch are named,
// exit 3, and the password never shows.
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {fleetColumns} from '../../src/models/fleet-table.js';
import {TABLES, tableDefinition} from '../../src/models/tables.js';
import {clickhouseMessage, clickhouseType} from '../../src/storage/clickhouse.js';
import {CLICKHOUSE_PASSWORD, CLICKHOUSE_USER, type ClickHouseServer, startClickHouse} from '../helpers/clickhouse.js';
import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {chdb, ddlStatements, sqliteJson as sqliteOf, writeInitRule} from '../helpers/fleet.js';
import {closedPort} from './helpers.js';

const home = tempDir();
const env = isolatedEnv(home, {CH_PASSWORD: CLICKHOUSE_PASSWORD});
const snapshot = join(home, 'snap.db');
const rules = join(home, 'rules');
const machineId = readFileSync('/etc/machine-id', 'utf8').trim();
let server: ClickHouseServer;

function configFile(name: string, url: string, password = '${CH_PASSWORD}'): string {
  const path = join(home, name);
  writeFileSync(
    path,
    [
      'alerting:',
      `  state_dir: ${join(home, `alerts-${name}`)}`,
      '  delivery_deadline_ms: 5000',
      '  sinks:',
      '    - name: fleet',
      '      type: clickhouse',
      `      url: ${url}`,
      `      user: ${CLICKHOUSE_USER}`,
      `      password: "${password}"`,
      '      retry_attempts: 1',
      '',
    ].join('\n'),
  );
  return path;
}

const json = async (sql: string): Promise<Record<string, unknown>[]> => parseNdjson(await server.query(`${sql} FORMAT JSONEachRow`));
const sqliteJson = (sql: string): Record<string, unknown>[] => sqliteOf(snapshot, sql);

beforeAll(async () => {
  server = await startClickHouse();
  writeInitRule(rules, 'test-clickhouse-init');
  const scan = await runCli(['scan', '--tables', 'all', '--output', snapshot], {env});
  expect(scan.code, scan.stderr).toBe(0);
}, 120_000);
afterAll(async () => {
  await server?.stop();
  removeDir(home);
});

describe('schema --dialect clickhouse', () => {
  it('creates every table of the registry in a real ClickHouse, each column with its exact type', async () => {
    const ddl = await runCli(['schema', '--dialect', 'clickhouse'], {env});
    expect(ddl.code, ddl.stderr).toBe(0);
    // Debian's 18.16 (the oldest the DDL keeps to) and current ClickHouse (chdb) alike.
    const current = chdb();
    try {
      const engines: [string, (sql: string) => Promise<Record<string, unknown>[]>][] = [
        ['clickhouse-server 18.16', json],
        [`chdb ${current.version}`, async (sql) => current.query(sql)],
      ];
      for (const [engine, query] of engines) {
        for (const statement of ddlStatements(ddl.stdout)) await query(statement);
        expect((await query('SHOW TABLES FROM daemoneye')).map((t) => t.name).sort(), engine).toEqual(TABLES.map((t) => t.name).sort());
        for (const table of TABLES) {
          // Each column's exact type, and (where DESCRIBE shows comments: not 18.16) its description.
          const described = await query(`DESCRIBE TABLE daemoneye.${table.name}`);
          const comments = described.some((c) => 'comment' in c);
          expect(
            described.map((c) => [c.name, c.type, ...(comments ? [c.comment] : [])]),
            `${engine}: ${table.name}`,
          ).toEqual(fleetColumns(table).map((c) => [c.name, clickhouseType(c), ...(comments ? [c.description] : [])]));
        }
        // Partitioned by day, ordered by host and time, as the DDL says.
        const [engineOf] = await query(`SELECT engine, partition_key, sorting_key FROM system.tables WHERE database = 'daemoneye' AND name = 'processes'`);
        expect(engineOf, engine).toEqual({
          engine: 'MergeTree',
          partition_key: 'toDate(toDateTime(intDiv(scan_time, 1000)))',
          sorting_key: 'hostname, scan_time',
        });
      }
    } finally {
      current.close();
    }
    expect(ddl.stdout).toMatch(/ENGINE = MergeTree\nPARTITION BY toDate\(toDateTime\(intDiv\(scan_time, 1000\)\)\)\nORDER BY \(hostname, scan_time\)/);
    const sqlite = await runCli(['schema', '--dialect', 'sqlite'], {env});
    expect(sqlite.stdout).toContain('CREATE TABLE processes (');
    const bad = await runCli(['schema', '--database', 'x; DROP'], {env});
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/x; DROP is not a ClickHouse database name/);
  });
});

describe('ship', () => {
  it('inserts every table of a real scan, each row as in the snapshot with its host and scan time', async () => {
    const config = configFile('ship.yaml', server.url);
    const result = await runCli(['ship', '--config', config, '--input', snapshot], {env});
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(CLICKHOUSE_PASSWORD);
    const shipped = JSON.parse(result.stdout) as {rows: Record<string, number>; scan_ids: number[]; server: string};
    expect(shipped.server).toBe(server.url);
    const [scan] = sqliteJson('SELECT id, start_time, hostname FROM scans');
    for (const table of TABLES) {
      const count = Number(sqliteJson(`SELECT count(*) AS n FROM ${table.name}`)[0]?.n);
      expect(shipped.rows[table.name], table.name).toBe(count);
      expect(Number((await json(`SELECT count() AS n FROM daemoneye.${table.name}`))[0]?.n), table.name).toBe(count);
    }
    // Row for row: the processes ClickHouse holds are the snapshot's (Int64 comes back quoted in JSON).
    const spec = tableDefinition('processes')!;
    const rows = await json('SELECT * FROM daemoneye.processes ORDER BY pid');
    const expected = sqliteJson(`SELECT * FROM processes ORDER BY pid`);
    expect(rows).toHaveLength(expected.length);
    rows.forEach((row, i) => {
      const {host_id: hostId, hostname, scan_time: scanTime, ...own} = row;
      const normal = Object.fromEntries(
        spec.columns.map((c) => [c.name, typeof own[c.name] === 'string' && c.sqlType === 'INTEGER' ? Number(own[c.name]) : own[c.name]]),
      );
      // ClickHouse 18.16 parses some JSON floats one unit in the last place off (1.91 → 1.9100000000000001).
      const {cpu_usage: cpu, ...rest} = normal;
      const {cpu_usage: expectedCpu, ...expectedRest} = expected[i] as Record<string, unknown>;
      expect(rest).toEqual(expectedRest);
      if (expectedCpu === null) expect(cpu).toBeNull();
      else expect(cpu as number).toBeCloseTo(expectedCpu as number, 12);
      expect([hostId, hostname, Number(scanTime)]).toEqual([machineId, scan?.hostname, scan?.start_time]);
    });
    const day = new Date(Number(scan?.start_time)).toISOString().slice(0, 10).replace(/-/g, '');
    expect(await json('SELECT DISTINCT _partition_id AS p FROM daemoneye.processes')).toEqual([{p: day}]);
  }, 120_000);

  it('names a schema mismatch (table and column), refused credentials, a down server and a missing sink; exit 3 or 2', async () => {
    await server.query('CREATE DATABASE IF NOT EXISTS drifted');
    await server.query('CREATE TABLE drifted.scans (id Int64, hostname String, start_time Int64) ENGINE = MergeTree ORDER BY (hostname, start_time)');
    const drifted = configFile('drifted.yaml', server.url);
    writeFileSync(drifted, readFileSync(drifted, 'utf8').replace('      retry_attempts: 1', '      database: drifted\n      retry_attempts: 1'));
    const mismatch = await runCli(['ship', '--config', drifted, '--input', snapshot, '--table', 'scans'], {env});
    expect(mismatch.code).toBe(3);
    expect(mismatch.stderr).toMatch(
      /refused the rows for drifted\.scans: HTTP 500, ClickHouse code 117: Unknown field found while parsing JSONEachRow format: host_id/,
    );
    expect(mismatch.stderr).toMatch(/schema --dialect clickhouse/);
    const wrong = await runCli(['ship', '--config', configFile('wrong.yaml', server.url, 'not-the-password'), '--input', snapshot], {env});
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toMatch(/HTTP 401, ClickHouse code 193: .*check the clickhouse sink's user and password/s);
    expect(wrong.stderr).not.toContain('not-the-password');
    const down = await runCli(['ship', '--config', configFile('down.yaml', `http://127.0.0.1:${await closedPort()}/`), '--input', snapshot], {env});
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/ECONNREFUSED \(inserting into daemoneye\.processes\); no scan was shipped .*ship again with --since/);
    const none = await runCli(['ship', '--input', snapshot], {env});
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no sink of type clickhouse is configured/);
    expect(`${mismatch.stderr}${down.stderr}${wrong.stderr}`).not.toContain(CLICKHOUSE_PASSWORD);
  }, 120_000);
});

describe('the clickhouse sink', () => {
  it('inserts detect alerts; when the server is down they are spooled (exit 3) and delivered later', async () => {
    const port = await closedPort();
    const downConfig = configFile('sink.yaml', `http://127.0.0.1:${port}/`);
    const args = ['detect', '--input', snapshot, '--rules', rules, '--rule', 'test-clickhouse-init', '--config', downConfig];
    const failed = await runCli(args, {env});
    expect(failed.code, failed.stderr).toBe(3);
    expect(failed.stderr).toMatch(/fleet/);
    expect(failed.stdout + failed.stderr).not.toContain(CLICKHOUSE_PASSWORD);
    // The same configuration, now pointing at the server: `alerts deliver` sends the spooled alert.
    writeFileSync(downConfig, readFileSync(downConfig, 'utf8').replace(`http://127.0.0.1:${port}/`, server.url));
    const before = Number((await json('SELECT count() AS n FROM daemoneye.alerts'))[0]?.n);
    const delivered = await runCli(['alerts', 'deliver', '--config', downConfig], {env});
    expect(delivered.code, delivered.stderr).toBe(0);
    const alerts = await json(
      `SELECT rule_id, attack_techniques, attack_tactics, host_id, hostname, severity FROM daemoneye.alerts WHERE rule_id = 'test-clickhouse-init'`,
    );
    expect(Number((await json('SELECT count() AS n FROM daemoneye.alerts'))[0]?.n)).toBe(before + 1);
    expect(alerts).toEqual([
      {
        rule_id: 'test-clickhouse-init',
        attack_techniques: '["T1059.004"]',
        attack_tactics: '["execution"]',
        host_id: machineId,
        hostname: sqliteJson('SELECT hostname FROM scans')[0]?.hostname,
        severity: 'high',
      },
    ]);
    // A live run delivers at once.
    const live = await runCli(args, {env});
    expect(live.code, live.stderr).toBe(0);
    expect(Number((await json(`SELECT count() AS n FROM daemoneye.alerts WHERE rule_id = 'test-clickhouse-init'`))[0]?.n)).toBe(2);
    const health = await runCli(['health', '--config', downConfig, '--component', 'sinks', '--format', 'json'], {env});
    expect(health.stdout, health.stdout + health.stderr).toMatch(/daemoneye\.alerts holds \d+ alert/);
  }, 120_000);

  it("reduces ClickHouse's error text to one safe line", () => {
    expect(clickhouseMessage('Code: 117, e.displayText() = DB::Exception: Unknown field found: zz: (at row 1)\n, e.what() = DB::Exception\n')).toBe(
      'Unknown field found: zz: (at row 1)',
    );
    expect(clickhouseMessage('\u001b[31mboom\u0007')).toBe('\\x1b[31mboom\\x07');
    expect(clickhouseMessage('')).toBe('(no message)');
    expect(clickhouseMessage('x'.repeat(400))).toHaveLength(300);
  });
});
