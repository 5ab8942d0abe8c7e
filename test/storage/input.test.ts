import {copyFileSync, unlinkSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {DaemonEyeError} from '../../src/errors.js';
import {selectAll} from '../../src/storage/database.js';
import {candidateFiles, loadLatestScan, loadScansIntoOneDatabase, openSnapshotInput, readSnapshotsInRange} from '../../src/storage/input.js';
import {writeSnapshotFile} from '../../src/storage/snapshot-file.js';
import {appendToStore, storeFileName} from '../../src/storage/store.js';
import {removeDir, tempDir} from '../helpers/cli.js';
import {makeProcesses, makeScan} from './helpers/snapshots.js';

/** The reads here are of files this test wrote: no warning is expected, none is checked. */
const noWarning = (): void => undefined;

const root = tempDir();
afterAll(() => removeDir(root));
const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);
const HOUR = 3_600_000;
const store = join(root, 'store');
const scans = Array.from({length: 6}, (_, i) => makeScan(T0 + i * HOUR, 4 + i, i));

beforeAll(async () => {
  for (const scan of scans) await appendToStore(store, scan, makeProcesses(scan, scan.process_count));
});

describe('reading a store by time range', () => {
  it('yields only the scans whose start time is in range, oldest first', async () => {
    const seen: number[] = [];
    for await (const snapshot of readSnapshotsInRange(store, {onWarning: noWarning, since: T0 + HOUR, until: T0 + 3 * HOUR})) {
      seen.push(...snapshot.scanIds);
      expect(selectAll(snapshot.db, 'SELECT count(*) AS n FROM processes')[0]?.n).toBe(snapshot.scans[0]?.process_count);
    }
    expect(seen).toEqual([scans[1]?.id, scans[2]?.id, scans[3]?.id]);
  });

  it('never opens files whose name is out of range', async () => {
    const dir = join(root, 'lazy');
    for (const scan of scans.slice(0, 2)) await appendToStore(dir, scan, makeProcesses(scan, 2));
    // A corrupt file named as a scan outside the range: if it were opened, it would be reported.
    writeFileSync(join(dir, storeFileName(makeScan(T0 + 100 * HOUR, 1))), 'garbage');
    const problems: DaemonEyeError[] = [];
    const ids: number[] = [];
    for await (const snapshot of readSnapshotsInRange(dir, {onWarning: noWarning, until: T0 + 50 * HOUR, onProblem: (p) => problems.push(p)}))
      ids.push(...snapshot.scanIds);
    expect(ids).toHaveLength(2);
    expect(problems).toEqual([]);
    expect(candidateFiles(openSnapshotInput(dir), {until: T0 + 50 * HOUR})).toHaveLength(2);
  });

  it('confirms the range from the scans table for files it did not name', async () => {
    const dir = join(root, 'renamed');
    await appendToStore(dir, scans[0]!, makeProcesses(scans[0]!, 2));
    await writeSnapshotFile(join(dir, 'copied-by-hand.db'), scans[5]!, makeProcesses(scans[5]!, 2));
    const ids: number[] = [];
    for await (const snapshot of readSnapshotsInRange(dir, {onWarning: noWarning, since: T0 + 4 * HOUR})) ids.push(...snapshot.scanIds);
    expect(ids).toEqual([scans[5]?.id]);
  });

  it('reports a corrupt file among good ones and goes on with the rest', async () => {
    const dir = join(root, 'one-bad');
    for (const scan of scans.slice(0, 3)) await appendToStore(dir, scan, makeProcesses(scan, 2));
    const bad = join(dir, storeFileName(makeScan(T0 + HOUR / 2, 1, 9)));
    writeFileSync(bad, Buffer.alloc(4096, 7));
    const problems: DaemonEyeError[] = [];
    const ids: number[] = [];
    for await (const snapshot of readSnapshotsInRange(dir, {onWarning: noWarning, onProblem: (p) => problems.push(p)})) ids.push(...snapshot.scanIds);
    expect(ids).toEqual(scans.slice(0, 3).map((s) => s.id));
    expect(problems).toHaveLength(1);
    expect(problems[0]?.toOneLine()).toContain(bad);
    expect(problems[0]?.exitCode).toBe(2);
  });

  it('skips silently a file pruned between listing and reading', async () => {
    const dir = join(root, 'pruned');
    const kept = await appendToStore(dir, scans[0]!, makeProcesses(scans[0]!, 2));
    const gone = await appendToStore(dir, scans[1]!, makeProcesses(scans[1]!, 2));
    const input = openSnapshotInput(dir);
    unlinkSync(gone.path);
    const problems: DaemonEyeError[] = [];
    const ids: number[] = [];
    for await (const snapshot of readSnapshotsInRange(input, {onWarning: noWarning, onProblem: (p) => problems.push(p)})) ids.push(...snapshot.scanIds);
    expect(ids).toEqual([scans[0]?.id]);
    expect(problems).toEqual([]);
    expect(kept.path).not.toBe(gone.path);
  });

  it('throws for a single corrupt input file', async () => {
    const bad = join(root, 'bad-single.db');
    writeFileSync(bad, 'not sqlite');
    const read = async (): Promise<void> => {
      for await (const _ of readSnapshotsInRange(bad, {onWarning: noWarning, onProblem: () => undefined})) void _;
    };
    await expect(read()).rejects.toThrow(/not a SQLite database/);
  });
});

describe('latest scan', () => {
  it('is the newest scan of a store, alone in its database', async () => {
    const latest = await loadLatestScan(store, {onWarning: noWarning});
    expect(latest.scans.map((s) => s.id)).toEqual([scans[5]?.id]);
    latest.db.close();
    const bounded = await loadLatestScan(store, {onWarning: noWarning, until: T0 + 2 * HOUR});
    expect(bounded.scanIds).toEqual([scans[2]?.id]);
    bounded.db.close();
  });

  it('skips a corrupt newest file, reporting it', async () => {
    const dir = join(root, 'latest-bad');
    await appendToStore(dir, scans[0]!, makeProcesses(scans[0]!, 2));
    writeFileSync(join(dir, storeFileName(scans[1]!)), '');
    const problems: DaemonEyeError[] = [];
    const latest = await loadLatestScan(dir, {onWarning: noWarning, onProblem: (p) => problems.push(p)});
    expect(latest.scanIds).toEqual([scans[0]?.id]);
    expect(problems).toHaveLength(1);
    latest.db.close();
  });

  it('of a file holding several scans keeps only the newest', async () => {
    const path = join(root, 'multi.db');
    await writeSnapshotFile(path, [scans[0]!, scans[1]!], [...makeProcesses(scans[0]!, 3), ...makeProcesses(scans[1]!, 2)]);
    const latest = await loadLatestScan(path, {onWarning: noWarning});
    expect(latest.scanIds).toEqual([scans[1]?.id]);
    expect(selectAll(latest.db, 'SELECT DISTINCT scan_id FROM processes')).toEqual([{scan_id: scans[1]?.id}]);
    expect(selectAll(latest.db, 'SELECT count(*) AS n FROM scans')).toEqual([{n: 1}]);
    latest.db.close();
  });

  it('fails clearly when nothing is in range', async () => {
    const error = (await loadLatestScan(store, {onWarning: noWarning, since: T0 + 100 * HOUR}).catch((e: unknown) => e)) as DaemonEyeError;
    expect(error.toOneLine()).toMatch(/no scan between .* in store .*widen --since\/--until/);
    expect(error.exitCode).toBe(2);
  });
});

describe('one database for a range', () => {
  it('merges every scan in range so queries can span scans', async () => {
    const merged = await loadScansIntoOneDatabase(store, {onWarning: noWarning, since: T0 + 2 * HOUR, maxQueryMb: 64});
    try {
      expect(merged.scans.map((s) => s.id)).toEqual(scans.slice(2).map((s) => s.id));
      const counts = selectAll(merged.db, 'SELECT scan_id, count(*) AS n FROM processes GROUP BY scan_id ORDER BY scan_id');
      expect(counts).toEqual(scans.slice(2).map((s) => ({scan_id: s.id, n: s.process_count})));
      expect(merged.files).toHaveLength(4);
    } finally {
      merged.db.close();
    }
  });

  it('collapses a duplicated file instead of doubling its rows', async () => {
    const dir = join(root, 'dup');
    const first = await appendToStore(dir, scans[0]!, makeProcesses(scans[0]!, 3));
    copyFileSync(first.path, join(dir, 'copy.db'));
    const merged = await loadScansIntoOneDatabase(dir, {onWarning: noWarning, maxQueryMb: 64});
    expect(selectAll(merged.db, 'SELECT count(*) AS n FROM processes')).toEqual([{n: 3}]);
    merged.db.close();
  });

  it('refuses, naming --since and storage.max_query_mb, when the range is too big', async () => {
    const error = await loadScansIntoOneDatabase(store, {onWarning: noWarning, maxQueryMb: 0.01}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DaemonEyeError);
    expect((error as DaemonEyeError).code).toBe('QUERY_TOO_LARGE');
    expect((error as DaemonEyeError).exitCode).toBe(2);
    expect((error as DaemonEyeError).toOneLine()).toMatch(/6 snapshot files .* more than storage\.max_query_mb .*--since/);
  });
});
