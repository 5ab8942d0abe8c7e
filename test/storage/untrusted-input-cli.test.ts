// Untrusted input end to end: a FIFO or a link to /dev/zero given to every command that reads snapshot
// files is refused at once (it used to hang them, growing memory by gigabytes), in a store it is reported
// and skipped, and a planted view or trigger never runs. Each run is bounded by the harness's timeout: a
// hang fails the test instead of stalling the suite.
import {execFileSync} from 'node:child_process';
import {mkdirSync, symlinkSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {writeSnapshotFile} from '../../src/storage/snapshot-file.js';
import {appendToStore} from '../../src/storage/store.js';
import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {HOSTILE_EDITS, plant} from './helpers/hostile.js';
import {makeProcesses, makeScan} from './helpers/snapshots.js';

const home = tempDir();
const env = isolatedEnv(home);
const good = join(home, 'good.db');
const fifo = join(home, 'pipe.db');
const zero = join(home, 'zero.db');
const store = join(home, 'store');
afterAll(() => removeDir(home));

beforeAll(async () => {
  const scan = makeScan(Date.UTC(2026, 5, 1), 8);
  await writeSnapshotFile(good, scan, makeProcesses(scan, 8));
  execFileSync('mkfifo', [fifo]);
  symlinkSync('/dev/zero', zero);
  for (let i = 0; i < 2; i++) {
    const s = makeScan(Date.UTC(2026, 5, 2, i), 5, i);
    await appendToStore(store, s, makeProcesses(s, 5));
  }
  execFileSync('mkfifo', [join(store, 'scan-20260603T000000.000Z-1780444800000000.db')]);
  symlinkSync('/dev/zero', join(store, 'scan-20260604T000000.000Z-1780531200000000.db'));
  // Entries that are no snapshot file, named as this tool names its files (newer than the good ones, so even
  // a reader of the latest scans meets them) and not (a reader of every file meets those).
  for (const [name, make] of STORE_ODDITIES) make(join(store, name));
});

/** Store entries that can never be a snapshot file, with what makes each and what the report says of it. */
const STORE_ODDITIES: readonly [string, (path: string) => void, RegExp][] = [
  ['scan-20260603T000000.000Z-1780444800000000.db', () => undefined, /is a FIFO \(named pipe\), not a regular file/],
  ['scan-20260604T000000.000Z-1780531200000000.db', () => undefined, /is a character device, not a regular file/],
  ['scan-20260605T000000.000Z-1780617600000000.db', (path) => symlinkSync(path, path), /is a symbolic link that loops, not a snapshot file/],
  [
    'scan-20260606T000000.000Z-1780704000000000.db',
    (path) => symlinkSync(`${path}.gone`, path),
    /is a symbolic link whose target does not exist, not a snapshot file/,
  ],
  ['scan-20260607T000000.000Z-1780790400000000.db', (path) => mkdirSync(path), /is a directory, not a regular file/],
  ['scan-20260608T000000.000Z-1780876800000000.db', (path) => symlinkSync('.', path), /is a directory, not a regular file/],
  ['loop.db', (path) => symlinkSync('loop.db', path), /is a symbolic link that loops/],
  ['dirlink.db', (path) => symlinkSync('/', path), /is a directory, not a regular file/],
];

/** Every command that reads a snapshot file, with the file in the place it reads. */
const READERS: readonly [string, (file: string) => string[]][] = [
  ['detect --input', (file) => ['detect', '--input', file]],
  ['detect --baseline', (file) => ['detect', '--input', good, '--baseline', file]],
  ['query --input', (file) => ['query', 'SELECT count(*) AS n FROM processes', '--input', file]],
  ['export --input', (file) => ['export', '--input', file]],
  ['diff OLD NEW', (file) => ['diff', good, file]],
  ['scan --format tree --input', (file) => ['scan', '--format', 'tree', '--input', file]],
  ['rules test --input', (file) => ['rules', 'test', 'web-server-shell-spawn', '--input', file]],
];

const run = (args: string[]) => runCli([...args, '--no-audit'], {env, timeoutMs: 45_000});

describe('a FIFO or a device given as a snapshot file', () => {
  for (const [name, args] of READERS) {
    it(`${name}: refused at once, exit 2, one line naming it`, async () => {
      for (const [file, kind] of [
        [fifo, 'FIFO (named pipe)'],
        [zero, 'character device'],
      ] as const) {
        const result = await run(args(file));
        expect(result.code, result.stderr).toBe(2);
        const what = name === 'rules test --input' ? 'snapshot or rows file' : 'snapshot file';
        const errors = result.stderr.split('\n').filter((line) => line.includes('error'));
        expect(errors).toEqual([
          `daemoneye: error: ${file}: is a ${kind}, not a regular file: a ${what} is never read from one (give the path of a regular ${what})`,
        ]);
        expect(result.stderr).not.toMatch(/\n\s+at /);
      }
    });
  }

  it('every reader holds a file to storage.max_snapshot_mb: one over 1 MiB is refused at 1, naming the setting', async () => {
    const big = join(home, 'big.db');
    const scan = makeScan(Date.UTC(2026, 5, 5), 4000);
    await writeSnapshotFile(big, scan, makeProcesses(scan, 4000));
    const limited = {...env, DAEMONEYE_STORAGE__MAX_SNAPSHOT_MB: '1'};
    for (const [name, args] of READERS) {
      const result = await runCli([...args(big), '--no-audit'], {env: limited, timeoutMs: 45_000});
      expect(result.code, `${name}: ${result.stderr}`).toBe(2);
      expect(result.stderr, name).toMatch(
        /big\.db: is [\d.]+ MiB, more than the 1 MiB a (snapshot or rows file|snapshot file) may have.*storage\.max_snapshot_mb/,
      );
    }
  });

  it('in a store: FIFOs, devices, directories, looping, dangling and directory links are each reported once and skipped, the good files are read, exit 2', async () => {
    const [exported, diffed] = await Promise.all([run(['export', '--input', store]), run(['diff', store, '--format', 'json'])]);
    expect(exported.code, exported.stderr).toBe(2);
    expect(parseNdjson(exported.stdout)).toHaveLength(10);
    const errors = exported.stderr.split('\n').filter((line) => line.includes('error'));
    expect(errors, exported.stderr).toHaveLength(STORE_ODDITIES.length);
    for (const [name, , report] of STORE_ODDITIES) {
      const line = errors.find((error) => error.includes(`${join(store, name)}: `));
      expect(line, `${name} in ${exported.stderr}`).toMatch(report);
      expect(line).toMatch(/skipped, the other files of the store are read/);
    }
    // diff over a store skips them too (it used to stop at the first), compares the two good scans, and says
    // in its output which files it skipped; exit 2 for the partial read.
    expect(diffed.code, diffed.stderr).toBe(2);
    const diff = JSON.parse(diffed.stdout) as {old: {scan_id: number}; new: {scan_id: number}; skipped_files: {file: string; problem: string}[]};
    expect([diff.old.scan_id, diff.new.scan_id]).toEqual([makeScan(Date.UTC(2026, 5, 2, 0), 5, 0).id, makeScan(Date.UTC(2026, 5, 2, 1), 5, 1).id]);
    // Files without a tool-made name are opened too (their scans decide), so every oddity is met and named.
    expect(diff.skipped_files.map((s) => s.file).sort()).toEqual(STORE_ODDITIES.map(([name]) => join(store, name)).sort());
    for (const [name, , report] of STORE_ODDITIES) expect(diff.skipped_files.find((s) => s.file === join(store, name))?.problem).toMatch(report);
    expect(diffed.stderr).toMatch(new RegExp(`${STORE_ODDITIES.length} unusable files skipped, named above`));
    expect(diffed.stderr.split('\n').filter((line) => line.includes('error'))).toHaveLength(STORE_ODDITIES.length);
  });

  it('the latest scan of a store is the latest of every file, named by the tool or not; scan --input skips an unusable one like the other readers', async () => {
    // Before, a responder's own newer snapshot (manual.db) was never opened by scan/detect --input or diff,
    // nor a dangling link without the tool's name reported: they exited 0 on an older scan. scan --input
    // stopped at the first unusable file.
    const dropped = join(home, 'dropped-store');
    for (let i = 0; i < 2; i++) {
      const s = makeScan(Date.UTC(2026, 5, 2, i), 2, i);
      await appendToStore(dropped, s, makeProcesses(s, 2));
    }
    const manual = makeScan(Date.UTC(2026, 5, 9), 3, 7);
    await writeSnapshotFile(join(dropped, 'manual.db'), manual, makeProcesses(manual, 3));
    symlinkSync(join(home, 'no-such.db'), join(dropped, 'gone.db'));
    const [scanned, diffed] = await Promise.all([run(['scan', '--input', dropped, '--format', 'ndjson']), run(['diff', dropped, '--format', 'json'])]);
    for (const result of [scanned, diffed]) {
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr.split('\n').filter((line) => line.includes('error'))).toEqual([
        expect.stringContaining(`${join(dropped, 'gone.db')}: is a symbolic link whose target does not exist`),
      ]);
    }
    expect(new Set(parseNdjson(scanned.stdout).map((row) => row.scan_id))).toEqual(new Set([manual.id]));
    const diff = JSON.parse(diffed.stdout) as {old: {scan_id: number}; new: {scan_id: number}};
    expect([diff.old.scan_id, diff.new.scan_id]).toEqual([makeScan(Date.UTC(2026, 5, 2, 1), 2, 1).id, manual.id]);
  });
});

describe('a snapshot file with planted SQL', () => {
  const edit = (name: string) => HOSTILE_EDITS.find((e) => e.name.startsWith(name))!;

  it('a trigger on meta: every command that reads snapshot files reads it, warns once in the same words, and never runs it', async () => {
    // Before, diff, scan --input, detect --baseline and rules test --input read it without a word (export, detect and query warned).
    const path = plant(good, join(home, 'trigger.db'), edit('trigger on meta').sql);
    for (const args of [
      ['detect', '--input', path],
      ['detect', '--input', good, '--baseline', path, '--rule', 'new-root-executable-since-baseline'],
      ['detect', '--input', path, '--format', 'tree'],
      ['export', '--input', path],
      ['export', '--input', path, '--format', 'parquet', '--output', join(home, 'trigger-lake')],
      ['query', 'SELECT count(*) AS n FROM processes', '--input', path],
      ['diff', good, path],
      ['diff', path, good],
      ['scan', '--input', path],
      ['scan', '--tree', '--input', path],
      ['rules', 'test', 'kernel-thread-masquerade', '--input', path],
    ]) {
      const result = await run(args);
      const what = `${args.join(' ')}: ${result.stderr}`;
      expect(result.code, what).toBeLessThan(2);
      expect(
        result.stderr.split('\n').filter((line) => line.includes('never has')),
        what,
      ).toEqual([expect.stringContaining(`${path}: holds objects a DaemonEye snapshot never has, left unread and never run: trigger meta_t`)]);
    }
  }, 180_000); // eleven CLI runs: more than a minute on a loaded machine

  it('a view named list_shells: every rule still runs', async () => {
    const path = plant(good, join(home, 'list-view.db'), edit('view named list_shells').sql);
    const result = await run(['detect', '--input', path, '--format', 'json']);
    expect(result.code, result.stderr).toBeLessThan(2);
    const summary = (JSON.parse(result.stdout) as {summary: {failed: unknown[]; rules_run: number; rules_ok: number}}).summary;
    expect(summary.failed).toEqual([]);
    expect(summary.rules_ok).toBe(summary.rules_run);
    expect(summary.rules_run).toBeGreaterThan(20);
  });

  it('a view named processes: refused, exit 2, one line', async () => {
    const path = plant(good, join(home, 'view.db'), edit('view named processes').sql);
    for (const args of [
      ['detect', '--input', path],
      ['diff', good, path],
      ['scan', '--tree', '--input', path],
    ]) {
      const result = await run(args);
      expect(result.code).toBe(2);
      expect(result.stderr.trim()).toBe(
        `daemoneye: error: ${path}: processes is a view, not a table: a snapshot's tables are never views (it is not a usable DaemonEye snapshot; take a new one with \`daemoneye scan --output FILE\`)`,
      );
    }
  });

  it('JSON nested 900 deep is printed whole, without a stack overflow', async () => {
    const path = plant(good, join(home, 'deep.db'), edit('JSON nested 900 deep').sql);
    const result = await run(['export', '--input', path]);
    expect(result.code, result.stderr).toBe(0);
    expect(parseNdjson(result.stdout)).toHaveLength(8);
  });
});

describe('detect --input says which scan it judged (trial 8 F8)', () => {
  const SCAN_COLUMNS =
    'hostname,host_id,os,kernel,arch,boot_time,boot_id,start_time,end_time,process_count,collector,tool_version,ld_so_preload,tables,decorations,errors';
  /** `good` with `n` later scan rows copied from its scan and no processes (the trial's edit). */
  const extraScans = (name: string, n: number): string =>
    plant(
      good,
      join(home, name),
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<${n}) INSERT INTO scans(id,${SCAN_COLUMNS}) SELECT id+i,${SCAN_COLUMNS.replace('start_time,end_time', 'start_time+i,end_time+i')} FROM scans, n;`,
    );

  it('a latest scan of no processes is a warning naming the file, the scan and the others, not a silent clean run', async () => {
    const path = extraScans('empty-latest.db', 3);
    const result = await run(['detect', '--input', path, '--format', 'json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      new RegExp(
        `${path.replaceAll('.', '\\.')}: its latest scan \\(id \\d+\\) holds no processes, so no rule saw anything: .*; 3 other scans of the file not judged \\(--since TIME judges each scan in range\\)`,
      ),
    );
    const summary = (JSON.parse(result.stdout) as {summary: {snapshot_warnings: string[]; processes_scanned: number}}).summary;
    expect(summary.processes_scanned).toBe(0);
    expect(summary.snapshot_warnings).toEqual([expect.stringMatching(/holds no processes, so no rule saw anything/)]);
  });

  it('a file of several scans says how many were not judged; a file of one scan says nothing', async () => {
    const path = join(home, 'two-scans.db');
    const second = makeScan(Date.UTC(2026, 5, 1, 1), 3, 1);
    await writeSnapshotFile(path, second, makeProcesses(second, 3));
    const merged = plant(
      path,
      join(home, 'two-scans-merged.db'),
      `INSERT INTO scans(id,${SCAN_COLUMNS}) SELECT id-1,${SCAN_COLUMNS.replace('start_time,end_time', 'start_time-1000,end_time-1000')} FROM scans;`,
    );
    const several = await run(['detect', '--input', merged, '--format', 'json']);
    expect(several.stderr).toMatch(/two-scans-merged\.db: holds 2 scans; rules judged the latest \(id \d+\), 1 other scan of the file not judged/);
    // The JSON summary carries the same line, for a pipeline that never reads stderr.
    const summary = (JSON.parse(several.stdout) as {summary: {snapshot_warnings: string[]}}).summary;
    expect(summary.snapshot_warnings).toEqual([expect.stringMatching(/two-scans-merged\.db: holds 2 scans; rules judged the latest/)]);
    const one = await run(['detect', '--input', good, '--format', 'json']);
    expect(one.stderr).not.toMatch(/scans; rules judged|holds no processes/);
    expect((JSON.parse(one.stdout) as {summary: {snapshot_warnings: string[]}}).summary.snapshot_warnings).toEqual([]);
  });
});
