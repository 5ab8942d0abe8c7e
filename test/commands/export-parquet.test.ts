// `daemoneye export --format parquet` end to end: real scans of this host (every table) and a detect run with
// alerts, written as a Parquet lake, read back with three real readers (hyparquet; DuckDB with Hive
// partitioning; current ClickHouse in-process, chdb, into the tables of `schema --dialect clickhouse`) and
// compared value by value with the snapshot file itself (sqlite3); bad inputs refused.
import {existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {parquetMetadata, parquetReadObjects, parquetSchema} from 'hyparquet';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {fleetColumns} from '../../src/models/fleet-table.js';
import {TABLE_NAMES, TABLES, tableDefinition} from '../../src/models/tables.js';
import {clickhouseType} from '../../src/storage/clickhouse.js';
import {isolatedEnv, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {chdb, ddlStatements, duckdb, parquetReadType, sqliteJson, writeInitRule} from '../helpers/fleet.js';

const home = tempDir();
const env = isolatedEnv(home, {DAEMONEYE_COLLECTION__DECORATIONS: '{"env": "ci"}'});
const snapshot = join(home, 'snap.db');
const store = join(home, 'store');
const rules = join(home, 'rules');
const machineId = readFileSync('/etc/machine-id', 'utf8').trim();
afterAll(() => removeDir(home));

beforeAll(async () => {
  writeInitRule(rules, 'test-parquet-init');
  const scan = await runCli(['scan', '--tables', 'all', '--output', snapshot], {env});
  expect(scan.code, scan.stderr).toBe(0);
  const detect = await runCli(['detect', '--rules', rules, '--rule', 'test-parquet-init', '--store', store], {env});
  expect(detect.code, detect.stderr).toBe(0);
}, 120_000);

const readParquet = async (path: string): Promise<Record<string, unknown>[]> => {
  const bytes = readFileSync(path);
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return (await parquetReadObjects({file})) as Record<string, unknown>[];
};

/** A Parquet value as SQLite stores it: INT64 bigint → number, BOOLEAN → 0/1. */
const asSql = (value: unknown): unknown => (typeof value === 'bigint' ? Number(value) : typeof value === 'boolean' ? (value ? 1 : 0) : value);

describe('export --format parquet', () => {
  it('writes every table of a real scan in the lake layout, typed, each row equal to the snapshot row with its host', async () => {
    const lake = join(home, 'lake');
    const result = await runCli(['export', '--input', snapshot, '--format', 'parquet', '--output', lake], {env});
    expect(result.code, result.stderr).toBe(0);
    const [scan] = sqliteJson(snapshot, 'SELECT id, start_time, hostname, host_id, tables FROM scans');
    const date = new Date(Number(scan?.start_time)).toISOString().slice(0, 10);
    const files = result.stdout.trim().split('\n');
    // Every table the scan holds (all of them but alerts: a scan alone raises none), one file each.
    expect(files.sort()).toEqual(
      TABLE_NAMES.filter((t) => t !== 'alerts')
        .map((t) => `table=${t}/date=${date}/host_key=${machineId}/${String(scan?.id)}.parquet`)
        .sort(),
    );
    for (const relative of files) {
      const table = /^table=([a-z_]+)\//.exec(relative)?.[1] as string;
      const spec = tableDefinition(table)!;
      const path = join(lake, relative);
      expect(statSync(path).mode & 0o777).toBe(0o640);
      // Types mapped exactly, nullability kept.
      const bytes = readFileSync(path);
      const metadata = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      const schema = parquetSchema(metadata).children.map((c) => [c.element.name, c.element.type, c.element.repetition_type]);
      expect(schema).toEqual(
        fleetColumns(spec).map((c) => [
          c.name,
          c.boolean ? 'BOOLEAN' : c.sqlType === 'INTEGER' ? 'INT64' : c.sqlType === 'REAL' ? 'DOUBLE' : 'BYTE_ARRAY',
          c.nullable ? 'OPTIONAL' : 'REQUIRED',
        ]),
      );
      const rows = await readParquet(path);
      const expected = sqliteJson(snapshot, `SELECT * FROM ${table} ORDER BY ${spec.exportOrder}`);
      expect(rows.length, table).toBe(expected.length);
      expect(rows.length, table).toBeGreaterThan(table === 'process_fd_peers' || table === 'listening_ports' ? -1 : 0);
      rows.forEach((row, i) => {
        if (table === 'scans') {
          expect(Object.fromEntries(Object.entries(row).map(([k, v]) => [k, asSql(v)])), `${table} row ${i}`).toEqual(expected[i]);
          return;
        }
        const {host_id: hostId, hostname, scan_time: scanTime, ...own} = row;
        expect(Object.fromEntries(Object.entries(own).map(([k, v]) => [k, asSql(v)])), `${table} row ${i}`).toEqual(expected[i]);
        expect([hostId, hostname, asSql(scanTime)]).toEqual([machineId, scan?.hostname, scan?.start_time]);
      });
    }
  }, 120_000);

  it('writes a store with alerts; DuckDB reads the lake with its Hive partitions and the exact types', async () => {
    const lake = join(home, 'store-lake');
    const result = await runCli(['export', '--input', store, '--format', 'parquet', '--output', lake], {env});
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^table=alerts\/date=\d{4}-\d\d-\d\d\/host_key=[0-9a-f]{32}\/\d+\.parquet$/m);
    const {query} = await duckdb();
    const alerts = await query(
      `SELECT host_key, date, rule_id, attack_techniques, host_id, json_extract_string(host, '$.decorations.env') AS env
       FROM read_parquet('${lake}/table=alerts/*/*/*.parquet', hive_partitioning = true)`,
    );
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({host_key: machineId, rule_id: 'test-parquet-init', attack_techniques: '["T1059.004"]', host_id: machineId, env: 'ci'});
    const types = await query(`DESCRIBE SELECT * FROM read_parquet('${lake}/table=processes/*/*/*.parquet', hive_partitioning = true)`);
    const typeOf = Object.fromEntries(types.map((t) => [t.column_name, t.column_type]));
    expect(typeOf).toMatchObject({pid: 'BIGINT', cpu_usage: 'DOUBLE', file_exists: 'BOOLEAN', name: 'VARCHAR', scan_time: 'BIGINT', host_key: 'VARCHAR'});
    const counts = await query(
      `SELECT count(*) AS n, count(DISTINCT scan_id) AS scans FROM read_parquet('${lake}/table=processes/*/*/*.parquet', hive_partitioning = true)`,
    );
    const storeFiles = readdirSync(store).filter((f) => f.endsWith('.db'));
    const expected = storeFiles.reduce((n, f) => n + Number(sqliteJson(join(store, f), 'SELECT count(*) AS n FROM processes')[0]?.n), 0);
    expect(counts[0]).toEqual({n: String(expected), scans: String(storeFiles.length)});
    // Exported again (cron): the same files, rewritten whole, nothing added.
    const again = await runCli(['export', '--input', store, '--format', 'parquet', '--output', lake], {env});
    expect(again.stdout).toBe(result.stdout);
    expect((await query(`SELECT count(*) AS n FROM read_parquet('${lake}/table=processes/*/*/*.parquet')`))[0]).toEqual({n: String(expected)});
  }, 120_000);

  it('current ClickHouse (chdb) reads every file with the types of `schema --dialect clickhouse`, into its tables, row for row', async () => {
    const lake = join(home, 'chdb-lake');
    const result = await runCli(['export', '--input', snapshot, '--format', 'parquet', '--output', lake], {env});
    expect(result.code, result.stderr).toBe(0);
    const ddl = await runCli(['schema', '--dialect', 'clickhouse'], {env});
    expect(ddl.code, ddl.stderr).toBe(0);
    const engine = chdb();
    try {
      for (const statement of ddlStatements(ddl.stdout)) engine.query(statement);
      const files = result.stdout.trim().split('\n');
      for (const table of TABLES.filter((t) => files.some((f) => f.startsWith(`table=${t.name}/`)))) {
        const glob = `${lake}/table=${table.name}/*/*/*.parquet`;
        // The file's own schema, as ClickHouse infers it, is the DDL's column for column (booleans read as Bool),
        // and ClickHouse sees the lake's Hive partitions as columns, as DuckDB does.
        const described = engine.query(`DESCRIBE file('${glob}', Parquet)`);
        const columns = fleetColumns(table);
        expect(
          described.map((c) => [c.name, c.type]),
          table.name,
        ).toEqual([
          ...columns.map((c) => [c.name, parquetReadType(clickhouseType(c))]),
          ['date', 'Date'],
          ['host_key', 'LowCardinality(String)'],
          ['table', 'LowCardinality(String)'],
        ]);
        const names = columns.map((c) => c.name).join(', ');
        engine.query(`INSERT INTO daemoneye.${table.name} (${names}) SELECT ${names} FROM file('${glob}', Parquet)`);
        const count = Number(sqliteJson(snapshot, `SELECT count(*) AS n FROM ${table.name}`)[0]?.n);
        expect(Number(engine.query(`SELECT count() AS n FROM daemoneye.${table.name}`)[0]?.n), table.name).toBe(count);
      }
      // Row for row, exact (floats included): what ClickHouse holds is the snapshot's, with its host and time.
      const spec = tableDefinition('processes')!;
      const [scan] = sqliteJson(snapshot, 'SELECT start_time, hostname FROM scans');
      const rows = engine.query('SELECT * FROM daemoneye.processes ORDER BY pid');
      const expected = sqliteJson(snapshot, 'SELECT * FROM processes ORDER BY pid');
      expect(rows).toHaveLength(expected.length);
      rows.forEach((row, i) => {
        const {host_id: hostId, hostname, scan_time: scanTime, ...own} = row;
        const normal = Object.fromEntries(
          spec.columns.map((c) => [c.name, c.sqlType === 'INTEGER' && typeof own[c.name] === 'string' ? Number(own[c.name]) : own[c.name]]),
        );
        expect(normal, `processes row ${i}`).toEqual(expected[i]);
        expect([hostId, hostname, Number(scanTime)]).toEqual([machineId, scan?.hostname, scan?.start_time]);
      });
    } finally {
      engine.close();
    }
  }, 120_000);

  it('refuses bad input with one line and the right exit code, writing nothing', async () => {
    const cases: [string[], number, RegExp][] = [
      [['--input', snapshot, '--format', 'parquet'], 2, /--format parquet writes files: it needs --output DIR/],
      [['--input', snapshot, '--format', 'parquet', '--output', snapshot], 2, /is a file, not a directory/],
      [['--input', snapshot, '--format', 'parquet', '--output', join(home, 'x'), '--pid', '1'], 2, /--pid does not apply to --format parquet/],
      [['--input', snapshot, '--format', 'parquet', '--output', join(home, 'x'), '--table', 'nope'], 2, /Expected --table=nope to be one of/],
    ];
    for (const [args, code, message] of cases) {
      const result = await runCli(['export', ...args], {env});
      expect(result.code, result.stderr).toBe(code);
      expect(result.stderr).toMatch(message);
      expect(result.stdout).toBe('');
    }
    expect(existsSync(join(home, 'x'))).toBe(false);
    const corrupt = join(home, 'corrupt.db');
    writeFileSync(corrupt, 'SQLite format 3\0'.padEnd(4096, 'x'));
    const bad = await runCli(['export', '--input', corrupt, '--format', 'parquet', '--output', join(home, 'y')], {env});
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(new RegExp(`${corrupt.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    // The lake it would have made is removed with its temp files: nothing is left of a failed export.
    expect(existsSync(join(home, 'y'))).toBe(false);
    // A directory this user may not write: exit 3, named.
    const locked = join(home, 'locked');
    mkdirSync(locked, {mode: 0o755});
    const denied = await runCli(['export', '--input', snapshot, '--format', 'parquet', '--output', join(locked, 'lake')], {env, asUser: 65534});
    expect(denied.code, denied.stderr).toBe(3);
    expect(denied.stderr).toMatch(/cannot create .*locked\/lake: permission denied/);
  }, 120_000);
});
