// Importing an untrusted snapshot file: the file may come from a compromised host, so none of its SQL is
// ever run. Its bytes are attached to a fresh database that never writes to them; the registry's tables
// are found by name (each must be an ordinary table without generated columns), and only their columns
// are copied, by name, into STRICT tables this module creates, so every value is checked against the
// registry's column types as it is copied. Views, triggers, virtual tables, indexes and extra tables of
// the file are never used: a view named like a table, a trigger on `meta` or a planted `list_*` view has
// nothing to act on, and a forged index cannot hide a row (indexes are rebuilt from the copied rows).
import {performance} from 'node:perf_hooks';

import type {Database, SqlJsStatic} from 'sql.js';

import {DaemonEyeError} from '../errors.js';
import type {ColumnSpec} from '../models/columns.js';
import {TABLES, type TableDefinition} from '../models/tables.js';
import {createSnapshotDatabase} from './database.js';
import {openSharedSnapshot} from './shared-bytes.js';
import {loadSqlJs} from './sqljs.js';

/** The schema name the untrusted file is attached under, for the length of the import only. */
const UNTRUSTED = 'untrusted';

/** What the import of one file found. */
export interface ImportedSnapshot {
  /** A fresh database holding `meta` (its `schema_version`) and the registry tables the file had, checked. */
  readonly db: Database;
  /** `schema_version` of the file. */
  readonly schemaVersion: number;
  /** Objects of the file that were not imported (triggers, views, virtual and extra tables), as `type name`. */
  readonly ignored: readonly string[];
}

interface SchemaObject {
  readonly type: string;
  readonly name: string;
  readonly sql: string | null;
}

/** A refusal of the file: exit 2, one line naming it (the caller's `corrupt`). */
export type Refuse = (problem: string, cause?: unknown) => DaemonEyeError;

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** ASCII case folding, as SQLite compares identifiers. */
function foldName(name: string): string {
  return name.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** SQLite found the file's pages damaged (SQLITE_CORRUPT, SQLITE_NOTADB). */
function damaged(error: unknown): boolean {
  return error instanceof Error && /malformed|corrupt|not a database/i.test(error.message);
}

function damagedRefusal(error: unknown, refuse: Refuse): DaemonEyeError {
  return refuse(`damaged database (${(error as Error).message})`, error);
}

/** What a column must hold, in the refusal's words. */
function expected(column: ColumnSpec): string {
  const base = column.boolean
    ? '0 or 1'
    : column.enumValues !== undefined
      ? `one of ${column.enumValues.join(', ')}`
      : column.json
        ? column.jsonShape === 'array'
          ? `a JSON array${column.elementType === undefined ? '' : ` of ${column.elementType}`}`
          : column.jsonShape === 'object'
            ? 'a JSON object'
            : 'JSON'
        : column.sqlType === 'INTEGER'
          ? 'an integer'
          : column.sqlType === 'REAL'
            ? 'a number'
            : 'text';
  return column.nullable ? `${base} or null` : base;
}

function schemaObjects(db: Database): SchemaObject[] {
  const result = db.exec(`SELECT type, name, sql FROM ${UNTRUSTED}.sqlite_master`);
  return (result[0]?.values ?? []).map(([type, name, sql]) => ({type: String(type), name: String(name), sql: typeof sql === 'string' ? sql : null}));
}

/** The objects of the file named `name` that could be read as a table (a table or a view), case folded as SQLite does. */
function objectsNamed(objects: readonly SchemaObject[], name: string): SchemaObject[] {
  return objects.filter((object) => (object.type === 'table' || object.type === 'view') && foldName(object.name) === name);
}

/**
 * The file's table `name` when it is one a reader may select from: an ordinary table (never a view or a
 * virtual table) without generated columns. Returns its columns, or undefined when the file has no such
 * object; refuses anything else.
 */
function ordinaryTable(db: Database, objects: readonly SchemaObject[], name: string, refuse: Refuse): string[] | undefined {
  const [object] = objectsNamed(objects, name);
  if (object === undefined) return undefined;
  if (object.type === 'view') throw refuse(`${name} is a view, not a table: a snapshot's tables are never views`);
  if (object.sql !== null && /^\s*CREATE\s+VIRTUAL\s+TABLE/i.test(object.sql)) {
    throw refuse(`${name} is a virtual table, not an ordinary table: a snapshot never has one`);
  }
  if (object.sql !== null && /\)\s*(?:STRICT\s*,\s*)?WITHOUT\s+ROWID\b[^)]*$/i.test(object.sql)) {
    throw refuse(`${name} is a WITHOUT ROWID table: a snapshot never has one`);
  }
  const info = db.exec(`SELECT name, hidden FROM pragma_table_xinfo(?, '${UNTRUSTED}')`, [object.name]);
  const rows = info[0]?.values ?? [];
  const generated = rows.filter(([, hidden]) => hidden !== 0).map(([column]) => String(column));
  if (generated.length > 0)
    throw refuse(`the ${name} table has generated column${generated.length > 1 ? 's' : ''} ${generated.join(', ')}: a snapshot never has one`);
  return rows.map(([column]) => foldName(String(column)));
}

function readSchemaVersion(db: Database, objects: readonly SchemaObject[], refuse: Refuse): number {
  const columns = ordinaryTable(db, objects, 'meta', refuse);
  if (columns === undefined) throw refuse('a SQLite database but not a DaemonEye snapshot (no meta table)');
  if (!columns.includes('key') || !columns.includes('value')) throw refuse('the meta table lacks its key and value columns');
  const rows = db.exec(`SELECT value FROM ${UNTRUSTED}.meta NOT INDEXED WHERE key COLLATE BINARY = 'schema_version'`)[0]?.values ?? [];
  if (rows.length === 0 || rows[0]?.[0] === null || rows[0]?.[0] === undefined) throw refuse('no schema_version in the meta table');
  if (rows.length > 1) throw refuse('the meta table has more than one schema_version');
  const text = rows[0][0];
  const version = Number(text);
  if ((typeof text !== 'string' && typeof text !== 'number') || !Number.isSafeInteger(version) || version < 0 || String(version) !== String(text).trim()) {
    throw refuse(`schema_version "${String(text).slice(0, 40)}" is not a whole number`);
  }
  return version;
}

/**
 * The first column whose values break the registry's types, found by copying each column alone into a
 * probe table with that column's STRICT type and constraints: the same judgement as the copy that failed,
 * column by column. Only run for a file about to be refused.
 */
function probeColumns(db: Database, table: TableDefinition, columns: readonly ColumnSpec[], refuse: Refuse): void {
  for (const column of columns) {
    const check = columnConstraint(column, 'v');
    db.exec(`CREATE TEMP TABLE probe (v ${column.sqlType}${column.nullable ? '' : ' NOT NULL'}${check === undefined ? '' : ` CHECK (${check})`}) STRICT`);
    try {
      db.exec(`INSERT INTO temp.probe SELECT ${column.name} FROM ${UNTRUSTED}.${quote(table.name)} NOT INDEXED`);
    } catch (error) {
      if (damaged(error)) throw damagedRefusal(error, refuse);
      throw refuse(`${table.name}.${column.name}: a value is not ${expected(column)}`, error);
    } finally {
      db.exec('DROP TABLE temp.probe');
    }
  }
}

/**
 * The time one copy statement aims at: between two, a SIGTERM or SIGINT is handled (sql.js cannot be
 * interrupted), so the rows per statement follow the time the last statement took, whatever a row holds.
 */
const COPY_SLICE_MS = 50;
const FIRST_COPY_ROWS = 256;
const MAX_COPY_ROWS = 200_000;

/**
 * Copy a table's rows, in rowid order and keeping their rowids, a slice at a time, checking the elements of
 * each slice's JSON arrays (checkElements) and yielding to the event loop between slices so a signal ends
 * the run promptly even while a large file is imported. Each slice starts after the largest rowid copied so
 * far, written into the SQL as SQLite's own decimal text (rowids are 64-bit: a JavaScript number would round
 * them). `fileColumns` are the file's own column names: the rowid is reached under a name none of them shadows.
 */
async function copyRows(db: Database, table: TableDefinition, columns: readonly ColumnSpec[], fileColumns: readonly string[], refuse: Refuse): Promise<void> {
  const rowid = ['rowid', '_rowid_', 'oid'].find((name) => !fileColumns.includes(name));
  if (rowid === undefined) throw refuse(`the ${table.name} table has columns named rowid, _rowid_ and oid: a snapshot never has them`);
  const names = columns.map((column) => column.name).join(', ');
  let after: string | undefined;
  let limit = FIRST_COPY_ROWS;
  for (;;) {
    const started = performance.now();
    // A plain comparison (no OR) lets SQLite seek to the slice's first rowid instead of scanning from the start.
    db.run(
      `INSERT INTO main.${table.name} (rowid, ${names}) SELECT ${rowid}, ${names} FROM ${UNTRUSTED}.${quote(table.name)} NOT INDEXED
       ${after === undefined ? '' : `WHERE ${rowid} > ${after}`} ORDER BY ${rowid} LIMIT ${limit}`,
    );
    const copied = db.getRowsModified();
    checkElements(db, table, columns, refuse, after);
    if (copied < limit) return;
    after = String(db.exec(`SELECT CAST(max(rowid) AS TEXT) FROM main.${table.name}`)[0]?.values[0]?.[0]);
    if (!/^-?\d+$/.test(after)) throw new Error(`the largest rowid copied is not an integer (${after})`);
    const elapsed = Math.max(1, performance.now() - started);
    limit = Math.max(1, Math.min(MAX_COPY_ROWS, 2 * limit, Math.round((limit * COPY_SLICE_MS) / elapsed)));
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * `CREATE TABLE … STRICT` of a registry table with only the given columns (the migrations add the rest).
 * STRICT makes SQLite refuse, as each row is copied, a value that cannot be stored losslessly as the
 * column's type, and NOT NULL and the CHECK constraints (from columnConstraint) refuse the rest: the
 * registry's types are enforced in SQLite's own code, at the cost of the copy alone.
 */
function strictTableSql(table: TableDefinition, columns: readonly ColumnSpec[]): string {
  const lines = columns.map((c) => {
    const pk = c.name === table.primaryKey ? ' PRIMARY KEY' : '';
    const check = columnConstraint(c);
    return `  ${c.name} ${c.sqlType}${pk}${!c.nullable && pk === '' ? ' NOT NULL' : ''}${check === undefined ? '' : ` CONSTRAINT ${quote(`${table.name}.${c.name}`)} CHECK (${check})`}`;
  });
  return `CREATE TABLE main.${table.name} (\n${lines.join(',\n')}\n) STRICT`;
}

/**
 * The CHECK a column needs beyond its STRICT type: booleans 0 or 1, an enum's values, JSON of the declared
 * top-level shape. The elements of JSON arrays need a subquery, which a CHECK cannot hold: checkElements.
 */
export function columnConstraint(column: ColumnSpec, c: string = column.name): string | undefined {
  if (column.boolean) return `${c} IN (0, 1)`;
  if (column.enumValues !== undefined) return `${c} COLLATE BINARY IN (${column.enumValues.map((v) => `'${v.replace(/'/g, "''")}'`).join(', ')})`;
  if (!column.json) return undefined;
  const shape = column.jsonShape === 'array' ? `json_type(${c}) = 'array'` : column.jsonShape === 'object' ? `json_type(${c}) = 'object'` : '1';
  // CASE keeps json_type from ever seeing text json_valid refused (it would raise an error, not say no);
  // NULL passes here (json_valid(NULL) is NULL, which would fall to ELSE 0): NOT NULL is its own constraint.
  return `CASE WHEN ${c} IS NULL THEN 1 WHEN json_valid(${c}) THEN ${shape} ELSE 0 END`;
}

/**
 * Every element of the JSON arrays of scalars (argv, the tables a scan collected, …) has the declared type,
 * in the rows after rowid `after` (SQLite's decimal text; all rows when undefined).
 */
function checkElements(db: Database, table: TableDefinition, columns: readonly ColumnSpec[], refuse: Refuse, after?: string): void {
  for (const column of columns) {
    if (column.elementType === undefined) continue;
    const types = column.elementType === 'real' ? "'real', 'integer'" : `'${column.elementType}'`;
    const rows = after === undefined ? '' : `rowid > ${after} AND`;
    const bad = Number(
      db.exec(`SELECT count(*) FROM main.${table.name} WHERE ${rows} EXISTS (SELECT 1 FROM json_each(${column.name}) WHERE type NOT IN (${types}))`)[0]
        ?.values[0]?.[0] ?? 0,
    );
    if (bad > 0) throw refuse(`${table.name}.${column.name}: ${bad} value${bad > 1 ? 's are' : ' is'} not ${expected(column)}`);
  }
}

/**
 * Import snapshot bytes into a fresh in-memory database without running any SQL the file holds. Throws
 * what `refuse` makes for every problem of the file (exit 2); the caller migrates the result and checks
 * that every table and column is there. `maxPages` caps the new database (SQLite's max_page_count). `SQL`:
 * the sql.js module to import into (default this thread's, loadSqlJs; a throw-away one from newSqlJsInstance
 * frees the import's WebAssembly memory with the database).
 */
export async function importSnapshot(bytes: Uint8Array, refuse: Refuse, options: {maxPages: number; SQL?: SqlJsStatic}): Promise<ImportedSnapshot> {
  const SQL = options.SQL ?? (await loadSqlJs());
  let source: Database;
  try {
    // Opened on `bytes` themselves, not a copy (a snapshot's size less to hold): nothing here writes to it.
    source = openSharedSnapshot(SQL, bytes);
  } catch (error) {
    throw refuse(`SQLite cannot open it (${(error as Error).message})`, error);
  }
  const db = new SQL.Database();
  let imported = false;
  try {
    // sql.js keeps every database as a file of its in-memory file system; `filename` names it.
    const file = (source as unknown as {filename?: unknown}).filename;
    if (typeof file !== 'string') throw new Error('sql.js did not name the database file it opened');
    // The file's schema may name functions in views and triggers: none of them is ever run, and this is
    // SQLite's own guard besides. Nothing here writes to the file, so its triggers and CHECKs never fire;
    // its pages are read only through the copy, where damage is an error and the file is refused.
    db.exec(`PRAGMA trusted_schema = OFF; PRAGMA max_page_count = ${Math.max(64, Math.ceil(options.maxPages))}`);
    let objects: SchemaObject[];
    try {
      db.run(`ATTACH ? AS ${UNTRUSTED}`, [file]);
      objects = schemaObjects(db);
    } catch (error) {
      throw damagedRefusal(error, refuse);
    }
    const schemaVersion = readSchemaVersion(db, objects, refuse);
    const plan: {table: TableDefinition; columns: ColumnSpec[]}[] = [];
    const present = new Map<string, string[]>();
    for (const table of TABLES) {
      const names = ordinaryTable(db, objects, table.name, refuse);
      if (names === undefined) continue;
      present.set(table.name, names);
      const columns = table.columns.filter((column) => names.includes(column.name));
      if (columns.length === 0) throw refuse(`the ${table.name} table has none of its columns`);
      plan.push({table, columns});
    }
    db.exec('CREATE TABLE main.meta (key TEXT PRIMARY KEY, value TEXT)');
    db.run("INSERT INTO main.meta (key, value) VALUES ('schema_version', ?)", [String(schemaVersion)]);
    // The other keys a snapshot's meta holds, when they are short text; nothing else of the table is kept.
    db.exec(
      `INSERT INTO main.meta (key, value) SELECT key, value FROM ${UNTRUSTED}.meta NOT INDEXED
       WHERE key COLLATE BINARY IN ('tool_version', 'created') AND typeof(key) = 'text' AND typeof(value) = 'text' AND length(value) <= 64 GROUP BY key`,
    );
    for (const {table, columns} of plan) {
      db.exec(strictTableSql(table, columns));
      try {
        await copyRows(db, table, columns, present.get(table.name) ?? [], refuse);
      } catch (error) {
        if (error instanceof DaemonEyeError) throw error;
        if (damaged(error)) throw damagedRefusal(error, refuse);
        // Name the column (a slower pass, made only for a file being refused); else SQLite's words (a duplicate id).
        probeColumns(db, table, columns, refuse);
        throw refuse(`the ${table.name} table cannot be copied (${(error as Error).message})`, error);
      }
    }
    db.exec(`DETACH ${UNTRUSTED}`);
    const copied = new Set(['meta', ...plan.map(({table}) => table.name)]);
    const ignored = objects
      .filter((object) => object.type !== 'index' && !object.name.startsWith('sqlite_'))
      .filter((object) => !(object.type === 'table' && copied.has(foldName(object.name))))
      .map((object) => `${object.type} ${object.name}`);
    imported = true;
    return {db, schemaVersion, ignored};
  } finally {
    if (!imported) db.close();
    source.close();
  }
}

/**
 * The bytes of a snapshot file as DaemonEye writes them (the registry's plain DDL, no STRICT tables or
 * CHECKs) holding every registry table of `db`, an imported (or any snapshot) database: for writing an
 * imported snapshot back to disk (`EventStore` appends to a file). `db` is left as it is.
 */
export async function exportAsSnapshotFile(db: Database): Promise<Uint8Array> {
  const file = (db as unknown as {filename?: unknown}).filename;
  if (typeof file !== 'string') throw new Error('sql.js did not name the database file it opened');
  const fresh = await createSnapshotDatabase();
  try {
    fresh.run('ATTACH ? AS loaded', [file]);
    try {
      for (const table of TABLES) {
        const names = table.columns.map((column) => column.name).join(', ');
        fresh.exec(`INSERT INTO main.${table.name} (${names}) SELECT ${names} FROM loaded.${table.name}`);
      }
    } finally {
      fresh.exec('DETACH loaded');
    }
    return fresh.export();
  } finally {
    fresh.close();
  }
}
