// `scan --output FILE` and `scan --store [DIR]` end to end: the built CLI writes real snapshot files that
// `export`, the library and the stock sqlite3 CLI read back.
import {execFileSync} from 'node:child_process';
import {chmodSync, existsSync, mkdirSync, readdirSync, statSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {readSnapshotFile} from '../../src/storage/snapshot-file.js';
import {appendToStore, listStoreFiles} from '../../src/storage/store.js';
import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {makeProcesses, makeScan} from './helpers/snapshots.js';

const home = tempDir('daemoneye-scan-store-');
// As root the default state dir is /var/lib/daemoneye: keep every test's state in the temp dir.
const env = isolatedEnv(home, {DAEMONEYE_APP__STATE_DIR: join(home, 'state')});
afterAll(() => removeDir(home));

describe('scan --output', () => {
  it('round-trips: export of the file equals the records scan printed; sqlite3 agrees on the count', async () => {
    const path = join(home, 'snapshot.db');
    const scan = await runCli(['scan', '--no-hash', '--output', path], {env});
    expect(scan.code).toBe(0);
    const printed = parseNdjson(scan.stdout);
    expect(printed.length).toBeGreaterThan(3);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const exported = await runCli(['export', '--input', path], {env});
    expect(exported.code).toBe(0);
    expect(parseNdjson(exported.stdout)).toEqual(printed);
    expect(execFileSync('sqlite3', [path, 'select count(*) from processes'], {encoding: 'utf8'}).trim()).toBe(String(printed.length));
    const scans = parseNdjson((await runCli(['export', '--input', path, '--table', 'scans'], {env})).stdout);
    expect(scans).toHaveLength(1);
    expect(scans[0]).toMatchObject({id: printed[0]?.scan_id, process_count: printed.length});
    expect(readdirSync(home).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('fails with exit 3 and leaves nothing when the file cannot be written', async () => {
    const result = await runCli(['scan', '--no-hash', '--pid', '1', '--output', join(home, 'missing-dir', 'x.db')], {env});
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/cannot write .*missing-dir\/x\.db: no such file or directory/);
    expect(existsSync(join(home, 'missing-dir'))).toBe(false);
  });
});

describe('scan --store', () => {
  it('without DIR adds a file to <app.state_dir>/store, created 0700', async () => {
    const result = await runCli(['scan', '--no-hash', '--pid', '1', '--store', '--format', 'json'], {env});
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toHaveLength(1);
    const store = join(home, 'state', 'store');
    expect(statSync(store).mode & 0o777).toBe(0o700);
    const files = listStoreFiles(store);
    expect(files).toHaveLength(1);
    const loaded = await readSnapshotFile(files[0]!.path);
    expect(loaded.scans[0]?.process_count).toBe(1);
    loaded.db.close();
  });

  it('into a directory the user may not write: exit 3, one line naming it', async () => {
    const userHome = tempDir();
    chmodSync(userHome, 0o777);
    const rootOnly = join(userHome, 'root-only');
    mkdirSync(rootOnly, {mode: 0o700});
    const result = await runCli(['scan', '--no-hash', '--pid', '1', '--store', rootOnly], {
      env: isolatedEnv(userHome, {DAEMONEYE_APP__STATE_DIR: join(userHome, 'state')}),
      asUser: 65534,
    });
    expect(result.code).toBe(3);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/root-only.*permission denied/);
    expect(readdirSync(rootOnly)).toEqual([]);
    removeDir(userHome);
  });

  it('8 concurrent runs leave 8 valid files and nothing else', async () => {
    const dir = join(home, 'concurrent');
    const runs = await Promise.all(Array.from({length: 8}, () => runCli(['scan', '--no-hash', '--pid', '1', '--store', dir], {env, timeoutMs: 120_000})));
    expect(runs.map((r) => r.code)).toEqual(Array(8).fill(0));
    const names = readdirSync(dir);
    expect(names).toHaveLength(8);
    expect(names.every((name) => /^scan-\d{8}T\d{6}\.\d{3}Z-\d+(-\d+)?\.db$/.test(name))).toBe(true);
    const scanIds = new Set<number>();
    for (const name of names) {
      const loaded = await readSnapshotFile(join(dir, name));
      scanIds.add(loaded.scans[0]!.id);
      loaded.db.close();
    }
    expect(scanIds.size).toBe(8);
    const exported = await runCli(['export', '--input', dir, '--table', 'scans'], {env});
    expect(parseNdjson(exported.stdout)).toHaveLength(8);
  }, 240_000);

  it('prunes exactly the oldest files by storage.max_scans and says so on stderr', async () => {
    const dir = join(home, 'retention');
    const now = Date.now();
    const old: string[] = [];
    for (let i = 0; i < 4; i++) {
      const scan = makeScan(now - (10 - i) * 60_000, 2, i);
      old.push((await appendToStore(dir, scan, makeProcesses(scan, 2))).path.split('/').pop() as string);
    }
    const result = await runCli(['scan', '--no-hash', '--pid', '1', '--store', dir], {env: {...env, DAEMONEYE_STORAGE__MAX_SCANS: '3'}});
    expect(result.code).toBe(0);
    const left = readdirSync(dir).sort();
    expect(left).toHaveLength(3);
    expect(left.slice(0, 2)).toEqual(old.slice(2));
    expect(result.stderr).toContain(`pruned 2 old snapshot files (max_scans=3): ${old[0]} ${old[1]}`);
  });

  it('prunes by storage.retention_days', async () => {
    const dir = join(home, 'retention-days');
    const now = Date.now();
    const ages = [40, 35, 2];
    const names: string[] = [];
    for (const [i, days] of ages.entries()) {
      const scan = makeScan(now - days * 86_400_000, 1, i);
      names.push((await appendToStore(dir, scan, makeProcesses(scan, 1))).path.split('/').pop() as string);
    }
    const result = await runCli(['scan', '--no-hash', '--pid', '1', '--store', dir], {env});
    expect(result.code).toBe(0);
    const left = readdirSync(dir);
    expect(left).toHaveLength(2);
    expect(left).toContain(names[2]);
    expect(result.stderr).toMatch(/pruned 2 old snapshot files \(retention_days=30\)/);
  });
});
