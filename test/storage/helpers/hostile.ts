// Hostile snapshot files: a good snapshot edited with the stock sqlite3 CLI the way an attacker on the host
// that wrote it could (planted triggers, views named like tables, virtual and extra tables, generated
// columns, wrong types, malformed and deeply nested JSON, huge values). Used by the storage tests, the
// CLI tests and the seeded mutation test.
import {execFileSync} from 'node:child_process';
import {copyFileSync} from 'node:fs';

/** An edit of a good snapshot file and what reading it must give. */
export interface HostileEdit {
  readonly name: string;
  /** SQL run by sqlite3 on a copy of a good snapshot. */
  readonly sql: string;
  /** `refused`: exit 2 naming the file, with this problem; `read`: read, warning about these objects. */
  readonly expect: {readonly refused: RegExp} | {readonly read: RegExp | null};
}

/** A query that never ends (and grows nothing: a counter). */
const ENDLESS = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c';

/** Replace `table` by a copy without constraints (CREATE TABLE AS keeps names and declared types only). */
function unconstrained(table: string): string {
  return `CREATE TABLE tmp_${table} AS SELECT * FROM ${table}; DROP TABLE ${table}; ALTER TABLE tmp_${table} RENAME TO ${table};`;
}

export const HOSTILE_EDITS: readonly HostileEdit[] = [
  {
    // Before this was fixed, the in-memory migration's UPDATE of meta fired it and every command hung.
    name: 'trigger on meta (older version, so a migration would write meta)',
    sql: `UPDATE meta SET value = '4' WHERE key = 'schema_version'; CREATE TRIGGER meta_t AFTER UPDATE ON meta BEGIN SELECT count(*) FROM (${ENDLESS}); END;`,
    expect: {read: /trigger meta_t/},
  },
  {
    name: 'triggers on every write to processes and scans',
    sql: `CREATE TRIGGER p_i AFTER INSERT ON processes BEGIN SELECT count(*) FROM (${ENDLESS}); END; CREATE TRIGGER p_d BEFORE DELETE ON processes BEGIN SELECT count(*) FROM (${ENDLESS}); END; CREATE TRIGGER s_u AFTER UPDATE ON scans BEGIN SELECT count(*) FROM (${ENDLESS}); END;`,
    expect: {read: /trigger p_i, trigger p_d, trigger s_u/},
  },
  {
    name: 'view named processes with an endless CTE',
    sql: `ALTER TABLE processes RENAME TO real_processes; CREATE VIEW processes AS SELECT p.* FROM real_processes p, (${ENDLESS});`,
    expect: {refused: /processes is a view, not a table/},
  },
  {
    name: 'view named scans as a cross join that grows past memory',
    sql: 'ALTER TABLE scans RENAME TO real_scans; CREATE VIEW scans AS SELECT s.* FROM real_scans s, processes a, processes b, processes c, processes d;',
    expect: {refused: /scans is a view, not a table/},
  },
  {
    name: 'view named meta',
    sql: `ALTER TABLE meta RENAME TO real_meta; CREATE VIEW meta AS SELECT m.key, m.value FROM real_meta m, (${ENDLESS});`,
    expect: {refused: /meta is a view, not a table/},
  },
  {
    name: 'view named in upper case (SQLite names are case-insensitive)',
    sql: `ALTER TABLE processes RENAME TO real_processes; CREATE VIEW PROCESSES AS SELECT p.* FROM real_processes p, (${ENDLESS});`,
    expect: {refused: /processes is a view, not a table/},
  },
  {
    // Before: every rule failed (the rule worker could not create its list table over the view).
    name: 'view named list_shells',
    sql: `CREATE VIEW list_shells AS SELECT x AS value FROM (${ENDLESS});`,
    expect: {read: /view list_shells/},
  },
  {
    name: 'virtual table named alerts',
    sql: 'DROP TABLE alerts; CREATE VIRTUAL TABLE alerts USING fts4(id, rule_id);',
    expect: {refused: /alerts is a virtual table/},
  },
  {
    name: 'extra table with an expensive generated column',
    sql: "CREATE TABLE planted (a, b AS (length(printf('%.*c', 50000000, 'x'))) NOT NULL); INSERT INTO planted (a) VALUES (1), (2);",
    expect: {read: /table planted/},
  },
  {
    name: 'generated column in processes',
    sql: "ALTER TABLE processes ADD COLUMN planted AS (length(printf('%.*c', 300000000, 'x')));",
    expect: {refused: /processes table has generated column planted/},
  },
  {
    name: 'extra tables, views and indexes of all kinds',
    sql: `CREATE TABLE notes (x); CREATE INDEX notes_x ON notes (x); CREATE VIEW v AS SELECT * FROM processes; CREATE INDEX planted_idx ON processes (pid DESC, name);`,
    expect: {read: /table notes, view v/},
  },
  {
    name: 'processes as a WITHOUT ROWID table',
    sql: `${unconstrained('processes')} CREATE TABLE p3 (id TEXT PRIMARY KEY, x) WITHOUT ROWID; DROP TABLE processes; ALTER TABLE p3 RENAME TO processes;`,
    expect: {refused: /processes is a WITHOUT ROWID table/},
  },
  {
    name: 'text in an integer column',
    sql: `${unconstrained('processes')} UPDATE processes SET pid = 'not a pid' WHERE rowid = (SELECT min(rowid) FROM processes);`,
    expect: {refused: /processes\.pid: a value is not an integer/},
  },
  {
    name: 'a real in an integer column',
    sql: `${unconstrained('processes')} UPDATE processes SET ppid = 1.5 WHERE rowid = (SELECT min(rowid) FROM processes);`,
    expect: {refused: /processes\.ppid: a value is not an integer or null/},
  },
  {
    name: 'a blob in a text column',
    sql: `${unconstrained('processes')} UPDATE processes SET name = x'00ff00' WHERE rowid = (SELECT min(rowid) FROM processes);`,
    expect: {refused: /processes\.name: a value is not text/},
  },
  {
    name: 'null in a NOT NULL column',
    sql: `${unconstrained('processes')} UPDATE processes SET name = NULL WHERE rowid = (SELECT min(rowid) FROM processes);`,
    expect: {refused: /processes\.name: a value is not text/},
  },
  {
    name: 'a boolean that is neither 0 nor 1',
    sql: 'UPDATE processes SET accessible = 7 WHERE rowid = (SELECT min(rowid) FROM processes);',
    expect: {refused: /processes\.accessible: a value is not 0 or 1/},
  },
  {
    name: 'a value outside an enum',
    sql: "UPDATE scans SET collector = 'planted';",
    expect: {refused: /scans\.collector: a value is not one of procfs, systeminformation/},
  },
  {
    // Before: `command_line.join is not a function`.
    name: 'an object where argv is a JSON array',
    sql: `UPDATE processes SET command_line = '{"a": 1}' WHERE rowid = (SELECT min(rowid) FROM processes);`,
    expect: {refused: /processes\.command_line: a value is not a JSON array of text/},
  },
  {
    name: 'numbers inside argv',
    sql: "UPDATE processes SET command_line = '[1, 2, null]' WHERE rowid = (SELECT min(rowid) FROM processes);",
    expect: {refused: /processes\.command_line: 1 value is not a JSON array of text/},
  },
  {
    name: 'malformed JSON in argv',
    sql: `UPDATE processes SET command_line = '["bash", "-c"' WHERE rowid = (SELECT min(rowid) FROM processes);`,
    expect: {refused: /processes\.command_line: a value is not a JSON array of text/},
  },
  {
    // Before: a stack overflow.
    name: 'JSON nested 100,000 deep in scans.tables',
    sql: "UPDATE scans SET tables = printf('%.*c', 100000, '[') || printf('%.*c', 100000, ']');",
    expect: {refused: /scans\.tables: a value is not a JSON array of text/},
  },
  {
    name: 'JSON nested 900 deep in platform_data (within SQLite JSON limit)',
    sql: `UPDATE processes SET platform_data = '{"planted": ' || printf('%.*c', 900, '[') || printf('%.*c', 900, ']') || '}' WHERE rowid = (SELECT min(rowid) FROM processes);`,
    expect: {read: null},
  },
  {
    name: 'an array where platform_data is an object',
    sql: "UPDATE processes SET platform_data = '[]' WHERE rowid = (SELECT min(rowid) FROM processes);",
    expect: {refused: /processes\.platform_data: a value is not a JSON object or null/},
  },
  {
    name: 'a 4 MB argument',
    sql: "UPDATE processes SET command_line = json_array('/bin/sh', printf('%.*c', 4000000, 'A')) WHERE rowid = (SELECT min(rowid) FROM processes);",
    expect: {read: null},
  },
  {
    name: 'the largest 64-bit integers',
    sql: 'UPDATE processes SET pid = 9223372036854775807, memory_usage = -9223372036854775808 WHERE rowid = (SELECT min(rowid) FROM processes);',
    expect: {read: null},
  },
  {
    name: 'two processes with one id',
    sql: `${unconstrained('processes')} INSERT INTO processes SELECT * FROM processes LIMIT 1;`,
    expect: {refused: /processes table cannot be copied \(UNIQUE constraint failed: processes\.id\)/},
  },
  {
    name: 'columns named rowid, _rowid_ and oid',
    sql: 'ALTER TABLE alerts ADD COLUMN rowid; ALTER TABLE alerts ADD COLUMN _rowid_; ALTER TABLE alerts ADD COLUMN oid;',
    expect: {refused: /alerts table has columns named rowid, _rowid_ and oid/},
  },
  {
    name: 'schema_version that is not a number',
    sql: "UPDATE meta SET value = '5; DROP TABLE processes' WHERE key = 'schema_version';",
    expect: {refused: /schema_version .* is not a whole number/},
  },
  {
    name: 'a second schema_version',
    sql: `${unconstrained('meta')} INSERT INTO meta VALUES ('schema_version', '0');`,
    expect: {refused: /more than one schema_version/},
  },
  {
    name: 'a registry table with none of its columns',
    sql: 'DROP TABLE process_envs; CREATE TABLE process_envs (planted TEXT);',
    expect: {refused: /the process_envs table has none of its columns/},
  },
];

/** A copy of `good` at `path` with `sql` run on it by the stock sqlite3 CLI. */
export function plant(good: string, path: string, sql: string): string {
  copyFileSync(good, path);
  execFileSync('sqlite3', [path], {input: sql, stdio: ['pipe', 'ignore', 'pipe']});
  return path;
}
