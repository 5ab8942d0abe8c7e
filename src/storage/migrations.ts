// In-memory migrations of older snapshot files: a file written by an older DaemonEye is brought up to
// SCHEMA_VERSION in the sql.js copy only, so old snapshots stay readable and the input file is never touched.
// A new table needs no migration: every registry table a file lacks is created empty when it is opened
// (createMissingTables), and its scans' `tables` do not name it, so it reads as not collected. Migrations
// are for changes to existing tables (new columns, derived values).
import type {Database} from 'sql.js';

import {ALERT_TABLE_COLUMNS} from '../models/alert.js';
import {type ColumnSpec, createTableSql} from '../models/columns.js';
import {PROCESS_RECORD_COLUMNS, PROCESS_TABLE_COLUMNS, processToRow, rowToProcess} from '../models/process.js';
import {SCAN_TABLE_COLUMNS} from '../models/scan.js';
import {TABLES, tableDdl} from '../models/tables.js';
import {TimeSlicer} from '../util/interrupt.js';
import {PROCESS_INDEXES, SCHEMA_VERSION, tableColumns} from './database.js';

export {tableColumns};

/** One step of the layout history: turns a database at version `from` into version `from + 1`. */
export interface SchemaMigration {
  readonly from: number;
  readonly description: string;
  readonly migrate: (db: Database) => void | Promise<void>;
}

function tableExists(db: Database, table: string): boolean {
  const result = db.exec('SELECT 1 FROM sqlite_master WHERE type = ? AND name = ?', ['table', table]);
  return result.length > 0 && result[0]!.values.length > 0;
}

/** Add every model column a table lacks; added columns are nullable, as ALTER TABLE requires. */
function addMissingColumns(db: Database, table: string, columns: readonly ColumnSpec[]): string[] {
  const present = new Set(tableColumns(db, table));
  const missing = columns.filter((column) => !present.has(column.name));
  for (const column of missing) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column.name} ${column.sqlType}`);
  return missing.map((column) => column.name);
}

/**
 * Add every `processes` column the file lacks and fill it from the record's own columns, exactly as a fresh
 * write derives it (`cmdline` from `command_line`, platform-data columns from `platform_data`, …). A row at a
 * time with a turn of the event loop once a slice of time is used (a file of many rows is many seconds of
 * work, and a signal must not wait for it: src/util/interrupt.ts); the transaction stays open across the turns,
 * which is safe because nothing else uses this in-memory copy while it is being opened.
 */
async function addDerivedProcessColumns(db: Database): Promise<void> {
  const added = addMissingColumns(db, 'processes', PROCESS_TABLE_COLUMNS);
  if (added.length === 0) return;
  const positions = added.map((name) => PROCESS_TABLE_COLUMNS.findIndex((column) => column.name === name));
  const update = db.prepare(`UPDATE processes SET ${added.map((name) => `${name} = ?`).join(', ')} WHERE id = ?`);
  const select = db.prepare(`SELECT ${PROCESS_RECORD_COLUMNS.map((column) => column.name).join(', ')} FROM processes`);
  const slicer = new TimeSlicer();
  const rows: Record<string, unknown>[] = [];
  try {
    while (select.step()) {
      rows.push(select.getAsObject());
      if (slicer.due()) await slicer.pause();
    }
  } finally {
    select.free();
  }
  try {
    db.exec('BEGIN');
    try {
      for (const row of rows) {
        const values = processToRow(rowToProcess(row));
        update.run([...positions.map((index) => values[index] ?? null), String(row.id)]);
        if (slicer.due()) await slicer.pause();
      }
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
  } finally {
    update.free();
  }
}

/**
 * Version 1 had no `exe_name` (the executable's base name), `bytes_escaped` or `live_thread_tid` columns:
 * version 2 derives `exe_name` from `executable_path`; the two collector facts are unknown (null) for
 * processes read by an older collector.
 */
async function migrate1to2(db: Database): Promise<void> {
  await addDerivedProcessColumns(db);
}

/**
 * Version 0 (the first file layout) kept only the reference API's ProcessRecord fields in `processes`: no `cmdline`,
 * no flattened platform-data columns, no indexes, and no `alerts` table; `scans` had no `ld_so_preload`.
 * Version 1 derives those columns from `command_line` and `platform_data`, exactly as a fresh write does.
 */
async function migrate0to1(db: Database): Promise<void> {
  addMissingColumns(
    db,
    'scans',
    SCAN_TABLE_COLUMNS.filter((column) => column.name !== 'tables'),
  );
  await addDerivedProcessColumns(db);
  // The version-1 indexes were single columns; a snapshot's current indexes are made when it is read.
  for (const column of PROCESS_INDEXES.filter((index) => typeof index === 'string'))
    db.exec(`CREATE INDEX IF NOT EXISTS processes_${column} ON processes (${column})`);
  if (!tableExists(db, 'alerts')) {
    db.exec(createTableSql('alerts', ALERT_TABLE_COLUMNS, 'id'));
    db.exec('CREATE INDEX alerts_scan_id ON alerts (scan_id)');
    db.exec('CREATE INDEX alerts_rule_id ON alerts (rule_id)');
  }
}

/**
 * Version 2 had no live-response tables and did not record what each scan collected. Version 3 adds
 * `scans.tables` (an older scan collected `processes` only) and creates every registry table the file
 * lacks, empty, so a rule reading one is reported as not collected rather than failing on a missing table.
 */
function migrate2to3(db: Database): void {
  if (!tableColumns(db, 'scans').includes('tables')) {
    db.exec('ALTER TABLE scans ADD COLUMN tables TEXT');
    db.run('UPDATE scans SET tables = ?', [JSON.stringify(['processes'])]);
  }
  createMissingTables(db);
}

/**
 * Create every registry table the file lacks, empty (its scans' `tables` do not name it, so it reads as
 * not collected); returns their names.
 */
export function createMissingTables(db: Database): string[] {
  const missing = TABLES.filter((table) => !tableExists(db, table.name));
  for (const table of missing) db.exec(tableDdl(table).join(';\n'));
  return missing.map((table) => table.name);
}

/** Version 4 added the `hidden` and `hidden_evidence` columns: null (not hidden) for every older row. */
function migrate3to4(db: Database): void {
  addMissingColumns(db, 'processes', PROCESS_TABLE_COLUMNS);
}

/** Version 5 added the `process_libraries` table: empty in an older file, whose scans did not collect it. */
function migrate4to5(db: Database): void {
  createMissingTables(db);
}

/**
 * Version 6 added the container_runtime, ns_ld_so_preload and login_shell_listed process columns, what kind of file each open fd
 * is (process_open_files: type, inode, pty_index, access) and the process_fd_peers table: unknown (null, or no
 * rows) for what an older collector read.
 */
function migrate5to6(db: Database): void {
  addMissingColumns(db, 'processes', PROCESS_TABLE_COLUMNS);
  const files = TABLES.find((table) => table.name === 'process_open_files');
  if (files !== undefined && tableExists(db, 'process_open_files')) addMissingColumns(db, 'process_open_files', files.columns);
  createMissingTables(db);
}

/**
 * Version 7 added host identity and ATT&CK: `scans.host_id` and `scans.decorations` (null: unknown for an
 * older scan) and `alerts.host`, `alerts.attack_techniques`, `alerts.attack_tactics` (null host; no tags known).
 */
function migrate6to7(db: Database): void {
  addMissingColumns(db, 'scans', SCAN_TABLE_COLUMNS);
  const added = addMissingColumns(db, 'alerts', ALERT_TABLE_COLUMNS);
  for (const column of ['attack_techniques', 'attack_tactics']) if (added.includes(column)) db.run(`UPDATE alerts SET ${column} = '[]'`);
}

/**
 * Version 8 lets `processes.file_exists` be null (the collector cannot tell: another user's process, the
 * systeminformation collector's unchecked path). An older file's values stay as they are (false meant "not
 * confirmed" then); the rows are copied into this build's tables, which allow null. The step changes nothing but
 * the version, so that a build of version 7, whose column refuses null, names a newer file as newer instead of
 * refusing its rows one by one.
 */
function migrate7to8(): void {
  // nothing to change in the copy
}

/**
 * Version 9 added the environ_bytes and environ_cut process columns (how long the environment is, and whether
 * the scan read only its start: collection.environ): unknown (null) for what an older collector read.
 */
function migrate8to9(db: Database): void {
  addMissingColumns(db, 'processes', PROCESS_TABLE_COLUMNS);
}

/** Every migration, oldest first; the last one ends at SCHEMA_VERSION. */
export const MIGRATIONS: readonly SchemaMigration[] = [
  {from: 0, description: 'derive cmdline and platform-data columns, add indexes and the alerts table', migrate: migrate0to1},
  {from: 1, description: 'add exe_name (derived), bytes_escaped and live_thread_tid to processes', migrate: migrate1to2},
  {from: 2, description: 'record the tables each scan collected (scans.tables) and add the live-response tables', migrate: migrate2to3},
  {from: 3, description: 'add the hidden and hidden_evidence process columns', migrate: migrate3to4},
  {from: 4, description: 'add the process_libraries table', migrate: migrate4to5},
  {from: 5, description: 'add container_runtime, ns_ld_so_preload, login_shell_listed, open-file types and the process_fd_peers table', migrate: migrate5to6},
  {from: 6, description: 'add host identity (scans.host_id, scans.decorations) and alerts.host, attack_techniques, attack_tactics', migrate: migrate6to7},
  {from: 7, description: 'processes.file_exists may be null (unknown)', migrate: migrate7to8},
  {from: 8, description: 'add the environ_bytes and environ_cut process columns', migrate: migrate8to9},
];

/**
 * Bring an in-memory database from `version` to SCHEMA_VERSION; returns the steps applied. The caller has
 * checked that `version` is not newer than SCHEMA_VERSION.
 */
export async function migrateInMemory(db: Database, version: number): Promise<SchemaMigration[]> {
  const applied: SchemaMigration[] = [];
  for (let current = version; current < SCHEMA_VERSION; current++) {
    const step = MIGRATIONS.find((migration) => migration.from === current);
    if (step === undefined) throw new Error(`no migration from snapshot schema version ${current}`);
    await step.migrate(db);
    applied.push(step);
  }
  if (applied.length > 0) db.run("UPDATE meta SET value = ? WHERE key = 'schema_version'", [String(SCHEMA_VERSION)]);
  return applied;
}
