// The hunts of docs/operations/fleet.md, run as written over 1,000 hosts: a real scan of this host (with a real
// alert; its first processes, to keep the run short) is the template of 1,000 synthetic hosts (each its own
// machine id, hostname and scan), planted with a deleted binary on 10 hosts, a rare executable on 3 and recent
// alerts on 5 (older ones on 5 more). The store is shipped with `daemoneye ship` into Debian's ClickHouse
// server (18.16, over HTTP) and exported as a Parquet lake with `export --format parquet`, which current
// ClickHouse (chdb, in-process) loads into the tables of `schema --dialect clickhouse` and DuckDB reads in
// place; each hunt's ClickHouse form (on both ClickHouse versions) and DuckDB form must return exactly the
// planted answer.
import {execFileSync} from 'node:child_process';
import {copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {CLICKHOUSE_PASSWORD, CLICKHOUSE_USER, type ClickHouseServer, startClickHouse} from '../helpers/clickhouse.js';
import {isolatedEnv, parseNdjson, removeDir, ROOT, runCli, tempDir} from '../helpers/cli.js';
import {type Chdb, chdb, ddlStatements, duckdb, writeInitRule} from '../helpers/fleet.js';

const HOSTS = 1000;
const FILES = 4;
const PER_FILE = HOSTS / FILES;
const DAY = 86_400_000;
const DELETED = (n: number): boolean => n % 100 === 7;
const RARE = new Set([13, 500, 987]);
const RECENT_ALERT = (n: number): boolean => n % 200 === 0;
const OLD_ALERT = (n: number): boolean => n % 200 === 100;
const hostname = (n: number): string => `host-${String(n).padStart(4, '0')}`;
const hostId = (n: number): string => (n + 1).toString(16).padStart(32, '0');
/** Processes of the template scan kept on each host (beside pid 1 and any whose executable is deleted). */
const TEMPLATE_PROCESSES = 30;
/** The tables the hunts read. */
const HUNTED = ['processes', 'scans', 'alerts'];

/** The hunts of the page: `sql <engine> hunt=<name>` blocks. */
function hunts(): Map<string, string> {
  const page = readFileSync(join(ROOT, 'docs', 'operations', 'fleet.md'), 'utf8');
  const found = new Map<string, string>();
  for (const match of page.matchAll(/^```sql (clickhouse|duckdb) hunt=([a-z-]+)\n([\s\S]*?)\n```$/gm)) found.set(`${match[1]}:${match[2]}`, match[3] as string);
  return found;
}

const home = tempDir();
const env = isolatedEnv(home, {CH_PASSWORD: CLICKHOUSE_PASSWORD});
const fleet = join(home, 'fleet');
const lake = join(home, 'lake');
let server: ClickHouseServer;
let current: Chdb;
let deletedPerHost = 0;

/** The SQL that turns a copy of the template file into hosts first … first + PER_FILE - 1. */
function fleetSql(first: number, now: number): string {
  const lines = [
    'CREATE TEMP TABLE s AS SELECT * FROM scans; CREATE TEMP TABLE p AS SELECT * FROM processes; CREATE TEMP TABLE a AS SELECT * FROM alerts;',
    'DELETE FROM alerts; DELETE FROM processes; DELETE FROM scans;',
  ];
  for (let n = first; n < first + PER_FILE; n++) {
    const name = hostname(n);
    const id = hostId(n);
    lines.push(
      `INSERT INTO scans SELECT * FROM s; UPDATE scans SET id = id + ${n + 1}, host_id = '${id}', hostname = '${name}' WHERE id = (SELECT id FROM s);`,
      `INSERT INTO processes SELECT * FROM p; UPDATE processes SET id = id || '-${n}', scan_id = scan_id + ${n + 1} WHERE scan_id = (SELECT id FROM s);`,
    );
    const plant = (path: string, exists: number): string =>
      `INSERT INTO processes SELECT * FROM p WHERE pid = 1; UPDATE processes SET id = id || '-${n}-x', scan_id = scan_id + ${n + 1}, pid = 31337, name = '${path.split('/').pop()}', ` +
      `executable_path = '${path}', exe_name = '${path.split('/').pop()}', file_exists = ${exists} WHERE scan_id = (SELECT id FROM s);`;
    if (DELETED(n)) lines.push(plant('/tmp/.cache/kdevtmpfsi', 0));
    if (RARE.has(n)) lines.push(plant('/opt/vendor/rare-agent', 1));
    if (RECENT_ALERT(n) || OLD_ALERT(n)) {
      const time = RECENT_ALERT(n) ? now - 2 * 3_600_000 : now - 3 * DAY;
      lines.push(
        `INSERT INTO alerts SELECT * FROM a; UPDATE alerts SET id = id || '-${n}', scan_id = scan_id + ${n + 1}, alert_time = ${time}, ` +
          `host = json_set(host, '$.id', '${id}', '$.hostname', '${name}') WHERE scan_id = (SELECT id FROM s);`,
      );
    }
  }
  return lines.join('\n');
}

beforeAll(async () => {
  server = await startClickHouse();
  current = chdb();
  const rules = writeInitRule(join(home, 'rules'), 'test-fleet-init');
  const template = join(home, 'template');
  const detect = await runCli(['detect', '--rules', rules, '--rule', 'test-fleet-init', '--store', template], {env});
  expect(detect.code, detect.stderr).toBe(0);
  const [file] = readdirSync(template);
  const source = join(template, file as string);
  execFileSync('sqlite3', [
    source,
    `DELETE FROM processes WHERE pid <> 1 AND file_exists <> 0 AND pid NOT IN (SELECT pid FROM processes ORDER BY pid LIMIT ${TEMPLATE_PROCESSES}); VACUUM;`,
  ]);
  deletedPerHost = Number(
    execFileSync('sqlite3', [source, 'SELECT count(*) FROM processes WHERE file_exists = 0 AND executable_path IS NOT NULL'], {encoding: 'utf8'}),
  );
  mkdirSync(fleet);
  const now = Date.now();
  for (let k = 0; k < FILES; k++) {
    const target = join(fleet, (file as string).replace(/\.db$/, `-${k + 1}.db`));
    copyFileSync(source, target);
    execFileSync('sqlite3', [target], {input: fleetSql(k * PER_FILE, now)});
  }
  const config = join(home, 'fleet.yaml');
  writeFileSync(
    config,
    [
      'alerting:',
      '  sinks:',
      '    - {name: fleet, type: clickhouse, url: "' + server.url + '", user: ' + CLICKHOUSE_USER + ', password: "${CH_PASSWORD}"}',
      '',
    ].join('\n'),
  );
  const ddl = await runCli(['schema', '--dialect', 'clickhouse'], {env});
  for (const statement of ddlStatements(ddl.stdout)) {
    await server.query(statement);
    current.query(statement);
  }
  const ship = await runCli(['ship', '--config', config, '--input', fleet, ...HUNTED.flatMap((t) => ['--table', t])], {env, timeoutMs: 600_000});
  expect(ship.code, ship.stderr).toBe(0);
  expect((JSON.parse(ship.stdout) as {scan_ids: number[]}).scan_ids).toHaveLength(HOSTS);
  // Every table the scans hold (processes, scans, alerts): one export, as the cron job of the page does.
  const exported = await runCli(['export', '--input', fleet, '--format', 'parquet', '--output', lake], {env, timeoutMs: 600_000});
  expect(exported.code, exported.stderr).toBe(0);
  expect(exported.stdout.split('\n').filter((line) => line.startsWith('table=processes/'))).toHaveLength(HOSTS);
  // The lake into current ClickHouse's tables, column by name.
  for (const table of HUNTED) {
    const names = current
      .query(`SELECT name FROM system.columns WHERE database = 'daemoneye' AND table = '${table}' ORDER BY position`)
      .map((c) => c.name)
      .join(', ');
    current.query(`INSERT INTO daemoneye.${table} (${names}) SELECT ${names} FROM file('${lake}/table=${table}/*/*/*.parquet', Parquet)`);
  }
}, 1_200_000);
afterAll(async () => {
  await server?.stop();
  current?.close();
  removeDir(home);
});

describe('the fleet hunts of docs/operations/fleet.md, over 1,000 hosts', () => {
  const all = hunts();
  /** The hunt's answer in each engine: ClickHouse 18.16 (shipped), current ClickHouse and DuckDB (the lake). */
  const answers = async (name: string): Promise<Record<string, unknown>[][]> => {
    const sql = all.get(`clickhouse:${name}`) as string;
    const duck = await duckdb();
    return [
      parseNdjson(await server.query(`${sql}\nFORMAT JSONEachRow`)),
      current.query(sql),
      await duck.query((all.get(`duckdb:${name}`) as string).replaceAll('/srv/lake', lake)),
    ];
  };

  it('are on the page, each in both engines', () => {
    expect([...all.keys()].sort()).toEqual(['deleted-binaries', 'rarest-executables', 'rules-fired'].flatMap((h) => [`clickhouse:${h}`, `duckdb:${h}`]).sort());
    expect(readdirSync(join(lake, 'table=processes')).length).toBeGreaterThan(0);
  });

  it('which hosts run a deleted binary', async () => {
    for (const rows of await answers('deleted-binaries')) {
      const planted = rows.filter((r) => r.executable_path === '/tmp/.cache/kdevtmpfsi');
      expect(planted.map((r) => r.hostname)).toEqual(
        Array.from({length: HOSTS}, (_, n) => n)
          .filter(DELETED)
          .map(hostname),
      );
      expect(planted.map((r) => r.host_id)).toEqual(
        Array.from({length: HOSTS}, (_, n) => n)
          .filter(DELETED)
          .map(hostId),
      );
      // The template host's own deleted executables (memfd and the like) are on every synthetic host.
      expect(rows).toHaveLength(HOSTS * deletedPerHost + planted.length);
    }
  }, 120_000);

  it('the rarest executables across the fleet', async () => {
    for (const rows of await answers('rarest-executables')) {
      expect(rows.slice(0, 2).map((r) => [r.executable_path, Number(r.hosts)])).toEqual([
        ['/opt/vendor/rare-agent', 3],
        ['/tmp/.cache/kdevtmpfsi', 10],
      ]);
      expect(rows.slice(2).every((r) => Number(r.hosts) === HOSTS)).toBe(true);
    }
  }, 120_000);

  it('hosts where a rule fired in the last day', async () => {
    for (const rows of await answers('rules-fired')) {
      expect(rows.map((r) => [r.hostname, r.rule_id, r.severity, Number(r.alerts)])).toEqual(
        Array.from({length: HOSTS}, (_, n) => n)
          .filter(RECENT_ALERT)
          .map((n) => [hostname(n), 'test-fleet-init', 'high', 1]),
      );
    }
  }, 120_000);
});
