// Whole-process behaviour of snapshot writers: concurrent appends to one store, and writers killed with
// SIGKILL mid-write. Writers run as real processes (helpers/write-snapshot.mjs, built library).
import {spawn} from 'node:child_process';
import {mkdirSync, readdirSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {readSnapshotFile} from '../../src/storage/snapshot-file.js';
import {listStoreFiles} from '../../src/storage/store.js';
import {removeDir, tempDir} from '../helpers/cli.js';

const WRITER = join(import.meta.dirname, 'helpers', 'write-snapshot.mjs');
const root = tempDir();
afterAll(() => removeDir(root));

function writer(args: string[]): {done: Promise<number | null>; kill: () => void; pid: number} {
  const child = spawn(process.execPath, [WRITER, ...args], {stdio: ['ignore', 'ignore', 'pipe']});
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {done, kill: () => child.kill('SIGKILL'), pid: child.pid as number};
}

async function expectValid(path: string, processes?: number): Promise<void> {
  const loaded = await readSnapshotFile(path);
  if (processes !== undefined) expect(loaded.db.exec('SELECT count(*) FROM processes')[0]?.values[0]?.[0]).toBe(processes);
  loaded.db.close();
}

/** Kill a big write as soon as its temp file appears (that is, during the write itself). */
async function killMidWrite(dir: string, args: string[]): Promise<boolean> {
  const w = writer(args);
  let sawTemp = false;
  const deadline = Date.now() + 40_000;
  while (Date.now() < deadline) {
    if (readdirSync(dir).some((name) => name.startsWith('.tmp-'))) {
      sawTemp = true;
      w.kill();
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  if (!sawTemp) w.kill();
  await w.done;
  return sawTemp;
}

describe('concurrent writers', () => {
  it('8 concurrent appends leave 8 valid files and nothing else', async () => {
    const dir = join(root, 'concurrent');
    const start = Date.now();
    // The same start time for all: names then differ only by scan id, the hardest case.
    const writers = Array.from({length: 8}, () => writer(['store', dir, '200', String(start)]));
    expect(await Promise.all(writers.map((w) => w.done))).toEqual(Array(8).fill(0));
    const names = readdirSync(dir);
    expect(names).toHaveLength(8);
    expect(names.every((name) => /^scan-\d{8}T\d{6}\.\d{3}Z-\d+(-\d+)?\.db$/.test(name))).toBe(true);
    for (const file of listStoreFiles(dir)) await expectValid(file.path, 200);
  }, 240_000);
});

describe('a writer killed with SIGKILL', () => {
  it('mid-append leaves no snapshot file or a valid one, and the next writer removes its temp file', async () => {
    const dir = join(root, 'killed-store');
    const first = writer(['store', dir, '1']);
    expect(await first.done).toBe(0);
    expect(await killMidWrite(dir, ['store', dir, '30000'])).toBe(true);
    const files = listStoreFiles(dir);
    expect(files.length === 1 || files.length === 2).toBe(true);
    for (const file of files) await expectValid(file.path);
    const next = writer(['store', dir, '1']);
    expect(await next.done).toBe(0);
    expect(readdirSync(dir).filter((name) => name.startsWith('.tmp-'))).toEqual([]);
  }, 120_000);

  it('mid-replace leaves the old snapshot file whole or the new one', async () => {
    const dir = join(root, 'killed-file');
    const path = join(dir, 'snapshot.db');
    mkdirSync(dir);
    expect(await writer(['file', path, '5']).done).toBe(0);
    expect(await killMidWrite(dir, ['file', path, '30000'])).toBe(true);
    const loaded = await readSnapshotFile(path);
    const count = loaded.db.exec('SELECT count(*) FROM processes')[0]?.values[0]?.[0];
    loaded.db.close();
    expect([5, 30000]).toContain(count);
    // Whatever temp file the killed writer left is never taken for a snapshot, and the next writer removes it.
    expect(listStoreFiles(dir).map((f) => f.name)).toEqual(['snapshot.db']);
    expect(await writer(['file', path, '5']).done).toBe(0);
    expect(readdirSync(dir)).toEqual(['snapshot.db']);
  }, 120_000);
});
