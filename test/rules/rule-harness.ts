// Runs built-in rule files against hand-written snapshots in a real sql.js database, the way the engine
// does: the snapshot DDL, rows completed by completeProcessRow, named lists as `list_<name>(value)` tables
// and the engine's UDFs (regexp, basename, dirname). Also checks each rule's metadata and that its SQL
// parses with node-sql-parser (the validator's parser) and calls only allow-listed functions.
import {readdirSync, readFileSync} from 'node:fs';
import {join, relative} from 'node:path';

import pkg from 'node-sql-parser/build/sqlite.js';
import type {Database} from 'sql.js';
import {parse as parseYaml} from 'yaml';
import {z} from 'zod';

import {completeProcessRow} from '../../src/models/process-fixture.js';
import type {ProcessRecord} from '../../src/models/process.js';
import type {ScanRecord} from '../../src/models/scan.js';
import {createSnapshotDatabase, insertProcesses, insertScan, selectAll} from '../../src/storage/database.js';
import {ROOT} from '../helpers/cli.js';

const {Parser} = pkg;

export const RULES_DIR = join(ROOT, 'rules');

const TestCaseSchema = z
  .object({
    name: z.string().min(1),
    processes: z.array(z.record(z.string(), z.unknown())).min(1),
    expect: z.array(z.int()),
  })
  .strict();

export const RuleFileSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/),
    name: z.string().min(1),
    description: z.string().min(1),
    version: z.int().positive(),
    severity: z.enum(['low', 'medium', 'high', 'critical']),
    category: z.string().min(1),
    tags: z.array(z.string().regex(/^attack\.(t\d{4}(\.\d{3})?|[a-z_]+)$/)).min(1),
    author: z.string().min(1),
    enabled: z.boolean(),
    sql_query: z.string().min(1),
    references: z.array(z.url()).min(1),
    false_positives: z.array(z.string().min(1)).min(1),
    group_by: z.array(z.string()).optional(),
    tests: z.array(TestCaseSchema).min(2),
  })
  .strict();
export type RuleFile = z.infer<typeof RuleFileSchema> & {readonly path: string};

/** Every rule file under rules/, parsed and checked against the rule-file shape. */
export function loadRuleFiles(dir = RULES_DIR): RuleFile[] {
  const files: string[] = [];
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, {withFileTypes: true})) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.yaml')) files.push(path);
    }
  };
  walk(dir);
  return files.sort().map((path) => {
    const parsed = RuleFileSchema.safeParse(parseYaml(readFileSync(path, 'utf8')));
    if (!parsed.success) throw new Error(`${relative(ROOT, path)}: ${z.prettifyError(parsed.error)}`);
    return {...parsed.data, path};
  });
}

/** The functions the engine's validator allows (the detection issue's list plus the UDFs). */
export const ALLOWED_FUNCTIONS = new Set([
  'count',
  'sum',
  'avg',
  'min',
  'max',
  'length',
  'substr',
  'upper',
  'lower',
  'datetime',
  'strftime',
  'coalesce',
  'ifnull',
  'instr',
  'trim',
  'replace',
  'json_extract',
  'json_array_length',
  'iif',
  'abs',
  'regexp',
  'basename',
  'dirname',
]);

/** Names of the functions a query calls, and the tables it reads (from the parser's AST). */
export function sqlFacts(sql: string): {functions: Set<string>; tables: Set<string>} {
  const parser = new Parser();
  const ast = parser.astify(sql, {database: 'sqlite'});
  const statements = Array.isArray(ast) ? ast : [ast];
  if (statements.length !== 1 || statements[0]?.type !== 'select') throw new Error('expected exactly one SELECT statement');
  const functions = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (record.type === 'function') {
      const name = record.name as {name?: {value?: string}[]} | string | undefined;
      const text = typeof name === 'string' ? name : (name?.name?.map((part) => part.value).join('.') ?? '');
      // The parser reads `NOT (…)` as a call to NOT: an operator, not a function.
      if (text.toLowerCase() !== 'not') functions.add(text.toLowerCase());
    }
    if (record.type === 'aggr_func' && typeof record.name === 'string') functions.add(record.name.toLowerCase());
    for (const value of Object.values(record)) visit(value);
  };
  visit(statements[0]);
  const tables = new Set(parser.tableList(sql, {database: 'sqlite'}).map((entry) => entry.split('::')[2] ?? entry));
  return {functions, tables};
}

/** Named lists referenced by a query (`list_<name>` tables). */
export function listNames(sql: string): string[] {
  return [...new Set([...sql.matchAll(/\blist_([a-z0-9_]+)\b/g)].map((match) => match[1] as string))].sort();
}

// The engine's fixture scan id and clock (src/detection/fixture-snapshot.ts), so cases behave the same in both.
const NOW = 1_700_000_000_000;
const SCAN_ID = 1;

export function completeRows(rows: readonly Record<string, unknown>[], scanId = SCAN_ID, now = NOW): ProcessRecord[] {
  return rows.map((row) => completeProcessRow(row, {scanId, now}));
}

function basename(path: unknown): string | null {
  if (typeof path !== 'string') return null;
  return path.slice(path.lastIndexOf('/') + 1);
}

function dirname(path: unknown): string | null {
  if (typeof path !== 'string') return null;
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '.' : slash === 0 ? '/' : path.slice(0, slash);
}

const regexCache = new Map<string, RegExp>();

/** A snapshot database holding `records`, the lists (empty tables for every referenced list) and the UDFs. */
export async function snapshotDatabase(
  records: readonly ProcessRecord[],
  lists: Readonly<Record<string, readonly string[]>> = {},
  scan: Partial<ScanRecord> | null = null,
): Promise<Database> {
  const db = await createSnapshotDatabase();
  db.create_function('regexp', (pattern: unknown, text: unknown) => {
    if (typeof pattern !== 'string' || typeof text !== 'string') return null;
    let regex = regexCache.get(pattern);
    if (regex === undefined) {
      regex = new RegExp(pattern);
      regexCache.set(pattern, regex);
    }
    return regex.test(text) ? 1 : 0;
  });
  db.create_function('basename', basename);
  db.create_function('dirname', dirname);
  insertProcesses(db, records);
  const scanId = records[0]?.scan_id ?? SCAN_ID;
  insertScan(db, {
    id: scanId,
    hostname: 'fixture-host',
    os: 'Debian GNU/Linux 12',
    kernel: '6.1.0-18-amd64',
    arch: 'x64',
    boot_time: NOW - 86_400_000,
    boot_id: null,
    start_time: NOW,
    end_time: NOW + 50,
    process_count: records.length,
    collector: 'procfs',
    tool_version: '0.1.0',
    ld_so_preload: null,
    errors: [],
    ...scan,
  });
  for (const [name, values] of Object.entries(lists)) {
    db.exec(`CREATE TABLE list_${name} (value TEXT)`);
    const insert = db.prepare(`INSERT INTO list_${name} (value) VALUES (?)`);
    for (const value of values) insert.run([value]);
    insert.free();
  }
  return db;
}

/** Runs a rule on a database, creating an empty table for every list it references that is not there. */
export function runRule(db: Database, sql: string): Record<string, unknown>[] {
  for (const name of listNames(sql)) db.exec(`CREATE TABLE IF NOT EXISTS list_${name} (value TEXT)`);
  return selectAll(db, sql);
}

/** The pids a rule flags on the given partial rows. */
export async function flaggedPids(
  rule: Pick<RuleFile, 'sql_query'>,
  rows: readonly Record<string, unknown>[],
  lists: Readonly<Record<string, readonly string[]>> = {},
  scan: Partial<ScanRecord> | null = null,
): Promise<number[]> {
  const db = await snapshotDatabase(completeRows(rows), lists, scan);
  try {
    return [...new Set(runRule(db, rule.sql_query).map((row) => Number(row.pid)))].sort((a, b) => a - b);
  } finally {
    db.close();
  }
}
