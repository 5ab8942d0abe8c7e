// `daemoneye tables [TABLE]`: what it lists is exactly what the query validator accepts, column for column.
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {TABLES} from '../../src/models/tables.js';
import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';

const dir = tempDir();
const snapshot = join(dir, 'all-tables.db');
const env = isolatedEnv(join(dir, 'home'), {DAEMONEYE_DETECTION__LISTS__TEAM_ADMINS__VALUES: '["alice"]'});

interface TableRow {
  name: string;
  kind: string;
  columns: number;
}
interface ColumnRow {
  table: string;
  column: string;
  type: string;
  nullable: boolean;
  description: string;
}

beforeAll(async () => {
  const scan = await runCli(['scan', '--no-hash', '--tables', 'all', '--output', snapshot, '--format', 'ndjson'], {env});
  expect(scan.code, scan.stderr).toBe(0);
});
afterAll(() => removeDir(dir));

describe('daemoneye tables', () => {
  it('lists every table of the registry and every named list, shipped and configured', async () => {
    const result = await runCli(['tables', '--format', 'ndjson'], {env});
    expect(result.code, result.stderr).toBe(0);
    const tables = parseNdjson<TableRow>(result.stdout);
    expect(tables.filter((t) => t.kind !== 'list' && t.kind !== 'view').map((t) => t.name)).toEqual(TABLES.map((t) => t.name));
    expect(tables.find((t) => t.name === 'processes')?.kind).toBe('snapshot');
    // The view of the shared rule predicates: every column of processes and one per predicate.
    const processes = tables.find((t) => t.name === 'processes');
    const traits = tables.find((t) => t.name === 'process_traits');
    expect(traits?.kind).toBe('view');
    expect(traits?.columns).toBeGreaterThan(processes?.columns ?? Number.POSITIVE_INFINITY);
    expect(tables.find((t) => t.name === 'process_open_sockets')?.kind).toBe('live-response');
    const lists = tables.filter((t) => t.kind === 'list').map((t) => t.name);
    expect(lists).toContain('list_shells');
    expect(lists).toContain('list_team_admins');
  });

  it('gives each table columns that a query over a real snapshot of every table accepts, and no others', async () => {
    const all = parseNdjson<TableRow>((await runCli(['tables', '--format', 'ndjson'], {env})).stdout);
    // Every table of the registry, the view, and one named list (they are all alike).
    const tables = [...all.filter((t) => t.kind !== 'list'), ...all.filter((t) => t.name === 'list_team_admins')];
    for (const table of tables) {
      const described = await runCli(['tables', table.name, '--format', 'json'], {env});
      expect(described.code, described.stderr).toBe(0);
      const columns = JSON.parse(described.stdout) as ColumnRow[];
      expect(columns.length, table.name).toBe(table.columns);
      for (const column of columns) expect(column.description, `${table.name}.${column.column}`).not.toBe('');
      // Quoted: some column names (`end`, `offset`) are SQL keywords.
      const select = `SELECT ${columns.map((c) => `"${c.column}"`).join(', ')} FROM ${table.name} LIMIT 1`;
      const query = await runCli(['query', select, '--input', snapshot, '--format', 'json'], {env});
      expect(query.code, `${select}\n${query.stderr}`).toBe(0);
    }
    // A column it does not list is refused by the same validator.
    const unknown = await runCli(['query', 'SELECT not_a_column FROM process_open_sockets', '--input', snapshot], {env});
    expect(unknown.code).toBe(2);
  }, 240_000);

  it('describes baseline_<table> as its table, and names the closest table for a typo (exit 2)', async () => {
    const baseline = JSON.parse((await runCli(['tables', 'baseline_processes', '--format', 'json'], {env})).stdout) as ColumnRow[];
    const processes = JSON.parse((await runCli(['tables', 'processes', '--format', 'json'], {env})).stdout) as ColumnRow[];
    expect(baseline.map((c) => c.column)).toEqual(processes.map((c) => c.column));
    const traits = JSON.parse((await runCli(['tables', 'process_traits', '--format', 'json'], {env})).stdout) as ColumnRow[];
    expect(traits.map((c) => c.column)).toEqual([
      ...processes.map((c) => c.column),
      'is_kernel_thread',
      'is_user_process',
      'is_shell',
      'is_interpreter',
      'exe_path_trusted',
      'exe_system_file',
    ]);
    expect(traits.find((c) => c.column === 'is_shell')).toMatchObject({type: 'INTEGER', nullable: false});
    const typo = await runCli(['tables', 'proceses'], {env});
    expect(typo.code).toBe(2);
    expect(typo.stdout).toBe('');
    expect(typo.stderr).toMatch(/no table proceses \(did you mean processes\?\)/);
  });

  it('prints a table with types that read as the docs do, and csv with a header', async () => {
    const table = await runCli(['tables', 'process_open_sockets', '--format', 'table'], {env});
    expect(table.stdout).toMatch(/^COLUMN\s+TYPE\s+NULL\s+DESCRIPTION/);
    expect(table.stdout).toMatch(/family\s+text \(AF_INET \| AF_INET6/);
    const csv = await runCli(['tables', '--format', 'csv'], {env});
    expect(csv.stdout.split('\r\n')[0]).toBe('name,kind,columns,description');
  });
});
