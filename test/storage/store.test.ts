import {readdirSync, statSync, utimesSync, writeFileSync, mkdirSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {readSnapshotFile} from '../../src/storage/snapshot-file.js';
import {removeStaleTempFiles} from '../../src/util/atomic-write.js';
import {appendToStore, applyRetention, listStoreFiles, parseStoreFileName, storeFileName, type StorageLog} from '../../src/storage/store.js';
import {removeDir, tempDir} from '../helpers/cli.js';
import {makeProcesses, makeScan} from './helpers/snapshots.js';

const root = tempDir();
afterAll(() => removeDir(root));
let counter = 0;
const freshDir = (): string => join(root, `store-${counter++}`);
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);

function recordingLog(): StorageLog & {lines: string[]} {
  const lines: string[] = [];
  return {lines, info: (m) => lines.push(m), debug: () => undefined};
}

async function fill(dir: string, times: readonly number[], processCount = 3): Promise<string[]> {
  const names: string[] = [];
  for (const [i, time] of times.entries()) {
    const scan = makeScan(time, processCount, i);
    names.push((await appendToStore(dir, scan, makeProcesses(scan, processCount), {now: NOW})).path.split('/').pop() as string);
  }
  return names;
}

describe('store file names', () => {
  it('name a scan by its UTC start time and id, and parse back', () => {
    const scan = makeScan(Date.UTC(2026, 0, 2, 3, 4, 5, 678), 1, 42);
    const name = storeFileName(scan);
    expect(name).toBe(`scan-20260102T030405.678Z-${scan.id}.db`);
    expect(parseStoreFileName(name)).toEqual({time: scan.start_time, scanId: scan.id});
    expect(parseStoreFileName(storeFileName(scan, 2))).toEqual({time: scan.start_time, scanId: scan.id});
    expect(parseStoreFileName('notes.db')).toBeUndefined();
  });
});

describe('appending to a store', () => {
  it('creates the directory 0700 and adds one 0600 file per scan', async () => {
    const dir = join(freshDir(), 'nested', 'store');
    const names = await fill(dir, [NOW - 2000, NOW - 1000]);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dir).sort()).toEqual([...names].sort());
    for (const name of names) expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
  });

  it('never replaces a file when two scans get the same name', async () => {
    const dir = freshDir();
    const scan = makeScan(NOW, 2);
    const first = await appendToStore(dir, scan, makeProcesses(scan, 2));
    const second = await appendToStore(dir, scan, makeProcesses(scan, 1));
    expect(second.path).not.toBe(first.path);
    expect(listStoreFiles(dir).map((f) => f.scanId)).toEqual([scan.id, scan.id]);
    const loaded = await readSnapshotFile(first.path);
    expect(loaded.db.exec('SELECT count(*) FROM processes')[0]?.values[0]?.[0]).toBe(2);
    loaded.db.close();
  });

  it('lists *.db files oldest first and ignores temp files and other names', async () => {
    const dir = freshDir();
    const names = await fill(dir, [NOW - 1000, NOW - 3000, NOW - 2000]);
    writeFileSync(join(dir, 'README.txt'), 'x');
    writeFileSync(join(dir, `.tmp-${names[0]}-1-abcd`), 'partial');
    expect(listStoreFiles(dir).map((f) => f.name)).toEqual([names[1], names[2], names[0]]);
  });

  it('removes temp files of dead writers and old ones, not those of live writers', () => {
    const dir = freshDir();
    mkdirSync(dir);
    const dead = '.tmp-scan-x.db-999999999-abcd1234';
    const live = `.tmp-scan-y.db-1-abcd1234`;
    const oldLive = `.tmp-scan-z.db-1-abcd5678`;
    for (const name of [dead, live, oldLive]) writeFileSync(join(dir, name), 'partial');
    const old = (Date.now() - 2 * 3_600_000) / 1000;
    utimesSync(join(dir, oldLive), old, old);
    expect(removeStaleTempFiles(dir).sort()).toEqual([dead, oldLive].sort());
    expect(readdirSync(dir)).toEqual([live]);
  });
});

describe('retention', () => {
  it('by count removes exactly the oldest and says so', async () => {
    const dir = freshDir();
    const names = await fill(dir, [NOW - 5000, NOW - 4000, NOW - 3000, NOW - 2000, NOW - 1000]);
    const log = recordingLog();
    const pruned = applyRetention(dir, {retentionDays: null, maxScans: 3, maxSizeMb: null}, {now: NOW, log});
    expect(pruned.map((p) => p.name)).toEqual(names.slice(0, 2));
    expect(readdirSync(dir).sort()).toEqual(names.slice(2).sort());
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toContain('pruned 2 old snapshot files (max_scans=3)');
    expect(log.lines[0]).toContain(names[0]);
  });

  it('by age removes the files older than retention_days', async () => {
    const dir = freshDir();
    const names = await fill(dir, [NOW - 10 * DAY, NOW - 8 * DAY, NOW - 6 * DAY, NOW - DAY]);
    const pruned = applyRetention(dir, {retentionDays: 7, maxScans: null, maxSizeMb: null}, {now: NOW});
    expect(pruned).toEqual([
      {name: names[0], reason: 'retention_days'},
      {name: names[1], reason: 'retention_days'},
    ]);
    expect(readdirSync(dir).sort()).toEqual(names.slice(2).sort());
  });

  it('by size removes the oldest until the store fits, but never the file just written', async () => {
    const dir = freshDir();
    const names = await fill(dir, [NOW - 4000, NOW - 3000, NOW - 2000, NOW - 1000], 400);
    const sizes = listStoreFiles(dir).map((f) => f.bytes);
    const limitMb = 1;
    // Keep as many of the newest files as fit in 1 MB.
    let total = sizes.reduce((a, b) => a + b, 0);
    let expectedRemoved = 0;
    while (total > limitMb * 1048576) total -= sizes[expectedRemoved++] as number;
    expect(expectedRemoved).toBeGreaterThan(0);
    const pruned = applyRetention(dir, {retentionDays: null, maxScans: null, maxSizeMb: limitMb}, {now: NOW});
    expect(pruned.map((p) => p.name)).toEqual(names.slice(0, expectedRemoved));
    const newest = join(dir, names[3] as string);
    applyRetention(dir, {retentionDays: null, maxScans: 1, maxSizeMb: null}, {now: NOW, keep: newest});
    expect(readdirSync(dir)).toEqual([names[3]]);
    // Even a limit the newest file alone exceeds keeps the file just written.
    expect(applyRetention(dir, {retentionDays: 1, maxScans: 1, maxSizeMb: 1}, {now: NOW + 30 * DAY, keep: newest})).toEqual([]);
  });

  it('runs after each append with the configured policy', async () => {
    const dir = freshDir();
    const log = recordingLog();
    const paths: string[] = [];
    for (let i = 0; i < 4; i++) {
      const scan = makeScan(NOW + i * 1000, 1, i);
      const result = await appendToStore(dir, scan, makeProcesses(scan, 1), {retention: {retentionDays: null, maxScans: 2, maxSizeMb: null}, log, now: NOW});
      paths.push(result.path.split('/').pop() as string);
    }
    expect(readdirSync(dir).sort()).toEqual(paths.slice(2).sort());
    expect(log.lines).toHaveLength(2);
  });

  it('leaves files it did not name alone', async () => {
    const dir = freshDir();
    await fill(dir, [NOW - 2000, NOW - 1000]);
    writeFileSync(join(dir, 'hand-made.db'), 'x');
    applyRetention(dir, {retentionDays: null, maxScans: 1, maxSizeMb: null}, {now: NOW});
    expect(readdirSync(dir)).toContain('hand-made.db');
  });
});
