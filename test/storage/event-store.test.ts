import {readdirSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {DaemonEyeError} from '../../src/errors.js';
import {EventStore, ProcessQuery} from '../../src/storage/event-store.js';
import {readSnapshotFile} from '../../src/storage/snapshot-file.js';
import {removeDir, tempDir} from '../helpers/cli.js';
import {makeProcesses, makeScan} from './helpers/snapshots.js';

const root = tempDir();
afterAll(() => removeDir(root));
const T0 = Date.UTC(2026, 10, 1);
const HOUR = 3_600_000;

describe('ProcessQuery', () => {
  it('builds immutably', () => {
    const base = new ProcessQuery();
    const query = base.withPid(5).withName('sshd').withScanId(7).withTimeRange(1, 2);
    expect(query).toMatchObject({pid: 5, name: 'sshd', scanId: 7, since: 1, until: 2});
    expect(base.pid).toBeUndefined();
  });
});

describe('EventStore over a store directory', () => {
  const dir = join(root, 'store');
  const scans = [0, 1, 2].map((i) => makeScan(T0 + i * HOUR, 16, i));

  it('stores each scan as its own file and queries with every filter', async () => {
    const store = EventStore.open(dir, {kind: 'store', retention: {retentionDays: null, maxScans: 10, maxSizeMb: null}});
    for (const scan of scans) await store.storeProcesses(makeProcesses(scan, 16), {scans: [scan]});
    expect(readdirSync(dir)).toHaveLength(3);
    expect(await store.queryProcesses()).toHaveLength(48);
    const sshd = await store.queryProcesses(new ProcessQuery().withName('sshd'));
    expect(sshd).toHaveLength(6);
    expect(new Set(sshd.map((p) => p.name))).toEqual(new Set(['sshd']));
    const one = await store.queryProcesses(new ProcessQuery().withPid(101).withScanId(scans[1]!.id));
    expect(one).toEqual([makeProcesses(scans[1]!, 16)[1]]);
    const ranged = await store.queryProcesses(new ProcessQuery().withTimeRange(T0 + HOUR, undefined));
    expect(new Set(ranged.map((p) => p.scan_id))).toEqual(new Set([scans[1]!.id, scans[2]!.id]));
  });

  it('derives a scan row for records stored without one', async () => {
    const other = join(root, 'derived');
    const scan = makeScan(T0, 2, 5);
    const store = EventStore.open(other, {kind: 'store'});
    const [result] = await store.storeProcesses(makeProcesses(scan, 2));
    const loaded = await readSnapshotFile(result!.path);
    expect(loaded.scans[0]).toMatchObject({id: scan.id, process_count: 2, start_time: scan.start_time + 10});
    loaded.db.close();
  });

  it('validates records before storing them', async () => {
    const store = EventStore.open(join(root, 'invalid'), {kind: 'store'});
    const [record] = makeProcesses(makeScan(T0, 1), 1);
    await expect(store.storeProcesses([{...record!, pid: -1}])).rejects.toThrow();
  });

  it('exports through exportData', async () => {
    const store = EventStore.open(dir);
    let out = '';
    const result = await store.exportData({table: 'scans', format: 'ndjson'}, {write: (chunk) => (out += chunk)});
    expect(result.rows).toBe(3);
    expect(
      out
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as {id: number}).id),
    ).toEqual(scans.map((s) => s.id));
  });
});

describe('EventStore over a single file', () => {
  it('creates the file, then adds scans to it, rewriting it whole', async () => {
    const path = join(root, 'single.db');
    const store = EventStore.open(path, {kind: 'file'});
    const first = makeScan(T0, 3, 1);
    const second = makeScan(T0 + HOUR, 2, 2);
    await store.storeProcesses(makeProcesses(first, 3), {scans: [first]});
    await store.storeProcesses(makeProcesses(second, 2), {scans: [second]});
    expect(store.kind).toBe('file');
    expect(await store.queryProcesses()).toHaveLength(5);
    expect(await store.queryProcesses(new ProcessQuery().withTimeRange(T0 + 1, undefined))).toEqual(makeProcesses(second, 2));
    expect(readdirSync(root).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('refuses to open a path that does not exist without a kind', () => {
    expect(() => EventStore.open(join(root, 'missing.db'))).toThrow(DaemonEyeError);
  });
});
