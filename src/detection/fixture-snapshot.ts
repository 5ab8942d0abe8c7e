// Snapshot bytes built from partial process rows (rule test cases, `rules test --input rows.json`, tests):
// the rows are completed with neutral defaults and written with the real snapshot schema.
import {createSnapshotDatabase, insertProcesses, insertRows, insertScan} from '../storage/database.js';
import {completeProcessRow, type PartialProcessRow} from '../models/process-fixture.js';
import type {ProcessRecord} from '../models/process.js';
import {COLLECTED_TABLE_NAMES, completeTableRow, tableDefinition} from '../models/tables.js';
import {TOOL_VERSION} from '../version.js';

export const FIXTURE_SCAN_ID = 1;
export const FIXTURE_NOW = 1_700_000_000_000;

/** Partial rows of the live-response tables by table name (a rule test case's `process_open_sockets:` …). */
export type PartialTableRows = Readonly<Record<string, readonly Readonly<Record<string, unknown>>[]>>;

/**
 * Complete partial rows and serialise them as a one-scan snapshot file image. The scan holds every host
 * table (those the case gives no rows for are empty), as a live scan that collected them would.
 */
export async function snapshotFromRows(
  rows: readonly PartialProcessRow[],
  options: {scanId?: number; now?: number; tables?: PartialTableRows} = {},
): Promise<Uint8Array> {
  const scanId = options.scanId ?? FIXTURE_SCAN_ID;
  const now = options.now ?? FIXTURE_NOW;
  return snapshotFromRecords(
    rows.map((row) => completeProcessRow(row, {scanId, now})),
    {scanId, now, tables: options.tables ?? {}},
  );
}

export async function snapshotFromRecords(
  records: readonly ProcessRecord[],
  options: {scanId: number; now: number; tables?: PartialTableRows},
): Promise<Uint8Array> {
  const db = await createSnapshotDatabase();
  try {
    insertScan(db, {
      id: options.scanId,
      hostname: 'fixture',
      host_id: null,
      os: null,
      kernel: null,
      arch: null,
      boot_time: null,
      boot_id: null,
      start_time: options.now,
      end_time: options.now,
      process_count: records.length,
      collector: 'procfs',
      tool_version: TOOL_VERSION,
      ld_so_preload: null,
      decorations: null,
      tables: [...COLLECTED_TABLE_NAMES],
      errors: [],
    });
    insertProcesses(db, records);
    for (const [name, rows] of Object.entries(options.tables ?? {})) {
      const table = tableDefinition(name);
      if (table === undefined || !table.collected || name === 'processes') throw new Error(`no live-response table ${name}`);
      insertRows(
        db,
        table,
        rows.map((row) => completeTableRow(table, row, options.scanId)),
      );
    }
    return db.export();
  } finally {
    db.close();
  }
}
