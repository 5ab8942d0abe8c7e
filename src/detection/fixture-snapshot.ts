// Snapshot bytes built from partial process rows (rule test cases, `rules test --input rows.json`, tests):
// the rows are completed with neutral defaults and written with the real snapshot schema.
import {createSnapshotDatabase, insertProcesses, insertScan} from '../storage/database.js';
import {completeProcessRow, type PartialProcessRow} from '../models/process-fixture.js';
import type {ProcessRecord} from '../models/process.js';
import {TOOL_VERSION} from '../version.js';

export const FIXTURE_SCAN_ID = 1;
export const FIXTURE_NOW = 1_700_000_000_000;

/** Complete partial rows and serialise them as a one-scan snapshot file image. */
export async function snapshotFromRows(rows: readonly PartialProcessRow[], options: {scanId?: number; now?: number} = {}): Promise<Uint8Array> {
  const scanId = options.scanId ?? FIXTURE_SCAN_ID;
  const now = options.now ?? FIXTURE_NOW;
  return snapshotFromRecords(
    rows.map((row) => completeProcessRow(row, {scanId, now})),
    {scanId, now},
  );
}

export async function snapshotFromRecords(records: readonly ProcessRecord[], options: {scanId: number; now: number}): Promise<Uint8Array> {
  const db = await createSnapshotDatabase();
  try {
    insertScan(db, {
      id: options.scanId,
      hostname: 'fixture',
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
      errors: [],
    });
    insertProcesses(db, records);
    return db.export();
  } finally {
    db.close();
  }
}
