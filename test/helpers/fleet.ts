// The engines the fleet tests read DaemonEye's output with, set up once here: sqlite3 on a snapshot file, DuckDB
// (in memory, for Parquet lakes), current ClickHouse in-process (chdb, with the DDL of `schema --dialect
// clickhouse`), and the pid-1 rule that raises one real alert. Debian's clickhouse-server (the HTTP protocol)
// is test/helpers/clickhouse.ts.
import {execFileSync} from 'node:child_process';
import {mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {DuckDBInstance} from '@duckdb/node-api';
import {Session} from 'chdb';

import {removeDir, tempDir} from './cli.js';

/** Rows of `sql` run by sqlite3 on a snapshot file, as sqlite3 -json prints them. */
export function sqliteJson(file: string, sql: string): Record<string, unknown>[] {
  const out = execFileSync('sqlite3', ['-json', file, sql], {encoding: 'utf8', maxBuffer: 1 << 28});
  return out.trim() === '' ? [] : (JSON.parse(out) as Record<string, unknown>[]);
}

/**
 * Write a rule `id` that fires once per scan on pid 1 (high, ATT&CK T1059.004 / execution) into `dir` (created),
 * so a real `detect` raises a real alert. Returns `dir`.
 */
export function writeInitRule(dir: string, id: string): string {
  mkdirSync(dir, {recursive: true});
  writeFileSync(
    join(dir, `${id}.yaml`),
    `id: ${id}
name: The init process
description: pid 1, for the fleet tests
version: 1
severity: high
category: execution
tags: [attack.t1059.004, attack.execution]
author: DaemonEye tests
enabled: true
references: []
false_positives: []
sql_query: |
  SELECT pid, name, executable_path, scan_id FROM processes WHERE pid = 1
tests: []
`,
  );
  return dir;
}

export type Rows = Record<string, unknown>[];

/** A DuckDB database in memory: `query(sql)` → rows as JSON values (BIGINT as strings). */
export async function duckdb(): Promise<{query(sql: string): Promise<Rows>}> {
  const connection = await (await DuckDBInstance.create(':memory:')).connect();
  return {query: async (sql) => (await connection.runAndReadAll(sql)).getRowObjectsJson() as Rows};
}

/** The statements of `schema --dialect clickhouse` output (separated by `;` at a line end). */
export function ddlStatements(ddl: string): string[] {
  return ddl.split(';\n').filter((statement) => statement.trim() !== '');
}

export interface Chdb {
  /** Run one statement; the rows of a SELECT (JSONEachRow, Int64 quoted). Throws ClickHouse's error. */
  query(sql: string): Rows;
  /** The ClickHouse version (e.g. 26.7.2.1). */
  readonly version: string;
  close(): void;
}

/**
 * Current ClickHouse in-process (npm chdb: the ClickHouse engine as a library), with its data in a temp
 * directory removed by close(). One session per test file (chdb keeps one engine per process).
 */
export function chdb(): Chdb {
  const dir = tempDir('daemoneye-chdb-');
  const session = new Session(dir);
  const query = (sql: string): Rows =>
    session
      .query(sql, 'JSONEachRow')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    query,
    version: String(query('SELECT version() AS v')[0]?.v),
    close: () => {
      session.cleanup();
      removeDir(dir);
    },
  };
}

/** The ClickHouse type a Parquet column of ours reads as (`file(…, Parquet)`): booleans are `Bool`, not the DDL's UInt8. */
export function parquetReadType(ddlType: string): string {
  return ddlType.replace(/\bUInt8\b/, 'Bool');
}
