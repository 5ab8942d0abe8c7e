// `daemoneye export` end to end: the built CLI over real snapshot files and stores, good and bad.
import {execFileSync, spawn} from 'node:child_process';
import {chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {SCHEMA_VERSION} from '../../src/storage/database.js';
import {writeSnapshotFile} from '../../src/storage/snapshot-file.js';
import {appendToStore, storeFileName} from '../../src/storage/store.js';
import {BIN, isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {makeProcesses, makeScan} from '../storage/helpers/snapshots.js';

const WRITER = join(import.meta.dirname, '..', 'storage', 'helpers', 'write-snapshot.mjs');
const home = tempDir();
const env = isolatedEnv(home);
const T0 = Date.UTC(2026, 10, 24, 8, 0, 0);
const HOUR = 3_600_000;
const scans = [0, 1, 2].map((i) => makeScan(T0 + i * HOUR, 12, i));
const store = join(home, 'store');
const good = join(home, 'good.db');
afterAll(() => removeDir(home));

beforeAll(async () => {
  for (const scan of scans) await appendToStore(store, scan, makeProcesses(scan, 12));
  await writeSnapshotFile(good, scans[0]!, makeProcesses(scans[0]!, 12));
});

const cli = (args: string[]) => runCli(['export', ...args], {env});

describe('export', () => {
  it('round-trips: the records a writer printed equal the export of the file it wrote', async () => {
    const path = join(home, 'roundtrip.db');
    const printed = parseNdjson(execFileSync(process.execPath, [WRITER, 'file', path, '300'], {encoding: 'utf8'}));
    const result = await cli(['--input', path]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const exported = parseNdjson(result.stdout);
    // Each exported row carries its scan's host; without it, the record is the one the writer printed.
    expect(exported.every((r) => (r.host as {hostname: string}).hostname === 'test-host')).toBe(true);
    expect(exported.map(({host: _host, ...record}) => record)).toEqual(printed);
    expect(execFileSync('sqlite3', [path, 'select count(*) from processes'], {encoding: 'utf8'}).trim()).toBe(String(printed.length));
  });

  it('defaults to NDJSON processes of the configured store', async () => {
    const result = await runCli(['export', '--since', '2026-11-24T09:00:00Z'], {env: {...env, DAEMONEYE_STORAGE__PATH: store}});
    expect(result.code).toBe(0);
    const records = parseNdjson(result.stdout);
    expect(records.map(({host: _host, ...record}) => record)).toEqual([...makeProcesses(scans[1]!, 12), ...makeProcesses(scans[2]!, 12)]);
    expect(records[0]?.host).toEqual({
      id: null,
      hostname: 'test-host',
      boot_id: scans[1]!.boot_id,
      os: scans[1]!.os,
      kernel: scans[1]!.kernel,
      arch: scans[1]!.arch,
      decorations: {},
    });
  });

  it('exports scans as CSV and alerts as a JSON array', async () => {
    const csv = await cli(['--input', store, '--table', 'scans', '--format', 'csv', '--until', String(T0)]);
    expect(csv.code).toBe(0);
    const lines = csv.stdout.split('\r\n');
    expect(lines[0]).toMatch(/^id,hostname,host_id,os,/);
    expect(lines[1]).toMatch(new RegExp(`^${scans[0]!.id},test-host,`));
    expect(lines).toHaveLength(3);
    const alerts = await cli(['--input', store, '--table', 'alerts', '--format', 'json']);
    expect(alerts.code).toBe(0);
    expect(JSON.parse(alerts.stdout)).toEqual([]);
  });

  it('filters by pid, name and scan id', async () => {
    const byPid = await cli(['--input', store, '--pid', '103', '--scan-id', String(scans[2]!.id)]);
    expect(parseNdjson(byPid.stdout).map((r) => [r.pid, r.scan_id])).toEqual([[103, scans[2]!.id]]);
    const byName = await cli(['--input', store, '--name', 'sshd', '--format', 'json']);
    expect((JSON.parse(byName.stdout) as {name: string}[]).map((r) => r.name)).toEqual(Array(6).fill('sshd'));
  });

  it('stops quietly, exit 0, when the reader of stdout goes away (export | head)', async () => {
    const path = join(home, 'many.db');
    await writeSnapshotFile(path, scans[0]!, makeProcesses(scans[0]!, 2000));
    const child = spawn(process.execPath, [BIN, 'export', '--input', path], {env, stdio: ['ignore', 'pipe', 'pipe']});
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(stderr).toBe('');
  });

  it('writes --output atomically, nothing on stdout', async () => {
    const out = join(home, 'export.csv');
    const result = await cli(['--input', good, '--format', 'csv', '--output', out]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(readFileSync(out, 'utf8').split('\r\n')).toHaveLength(14);
  });
});

describe('export refuses bad input with exit 2 and one line naming the file', () => {
  const bad = join(home, 'bad');
  beforeAll(async () => {
    mkdirSync(bad);
    writeFileSync(join(bad, 'empty.db'), '');
    writeFileSync(join(bad, 'random.db'), Buffer.from(Array.from({length: 4096}, (_, i) => (i * 131) % 256)));
    const bytes = readFileSync(good);
    writeFileSync(join(bad, 'truncated.db'), bytes.subarray(0, bytes.length - 4096));
    writeFileSync(join(bad, 'truncated-mid.db'), bytes.subarray(0, 3000));
    execFileSync('sqlite3', [join(bad, 'foreign.db'), 'CREATE TABLE t (x)']);
    await writeSnapshotFile(join(bad, 'newer.db'), scans[0]!, []);
    execFileSync('sqlite3', [join(bad, 'newer.db'), `UPDATE meta SET value = '${SCHEMA_VERSION + 7}' WHERE key = 'schema_version'`]);
    await writeSnapshotFile(join(bad, 'no-scans.db'), scans[0]!, []);
    execFileSync('sqlite3', [join(bad, 'no-scans.db'), 'DROP TABLE scans']);
  });

  const cases: [string, RegExp][] = [
    ['empty.db', /the file is empty, not a snapshot/],
    ['random.db', /not a SQLite database \(wrong file header\)/],
    ['truncated.db', /truncated: \d+ bytes, the header says \d+/],
    ['truncated-mid.db', /truncated: 3000 bytes is not a whole number of 4096-byte pages/],
    ['foreign.db', /not a DaemonEye snapshot \(no meta table\)/],
    ['newer.db', new RegExp(`schema version ${SCHEMA_VERSION + 7} is newer than this DaemonEye reads \\(${SCHEMA_VERSION}\\) \\(upgrade daemoneye`)],
    ['no-scans.db', /the scans table is missing/],
  ];
  for (const [name, message] of cases) {
    it(name, async () => {
      const path = join(bad, name);
      const before = readFileSync(path);
      const result = await cli(['--input', path]);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`daemoneye: error: ${path}: `);
      expect(lines[0]).toMatch(message);
      expect(readFileSync(path).equals(before)).toBe(true);
    });
  }

  it('a missing input', async () => {
    const result = await cli(['--input', join(home, 'nope.db')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/cannot read .*nope\.db: no such file or directory/);
  });

  it('an unreadable input (unprivileged user)', async () => {
    // A home the unprivileged user may use, holding a root-owned 0600 snapshot it may not read.
    const userHome = tempDir();
    chmodSync(userHome, 0o777);
    const path = join(userHome, 'private.db');
    await writeSnapshotFile(path, scans[0]!, []);
    const result = await runCli(['export', '--input', path], {env: isolatedEnv(userHome), asUser: 65534});
    removeDir(userHome);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/private\.db: permission denied/);
  });

  it('a bad time', async () => {
    const result = await cli(['--input', good, '--since', 'yesterday-ish']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--since: cannot read "yesterday-ish" as a time/);
  });

  it('a bad JSON error object under --log-format json', async () => {
    const result = await cli(['--input', join(bad, 'random.db'), '--log-format', 'json']);
    expect(result.code).toBe(2);
    const {error} = JSON.parse(result.stderr) as {error: {code: string; file: string}};
    expect(error).toMatchObject({code: 'INPUT_CORRUPT', file: join(bad, 'random.db')});
  });

  it('a store with one corrupt file among good ones: the rest is exported, the file reported, exit 2', async () => {
    const dir = join(home, 'mixed');
    for (const scan of scans) await appendToStore(dir, scan, makeProcesses(scan, 3));
    const corrupt = join(dir, storeFileName(makeScan(T0 + HOUR / 2, 1, 5)));
    writeFileSync(corrupt, 'garbage');
    const out = join(home, 'mixed.ndjson');
    const result = await cli(['--input', dir, '--output', out]);
    expect(result.code).toBe(2);
    expect(parseNdjson(readFileSync(out, 'utf8'))).toHaveLength(9);
    expect(result.stderr).toContain(`daemoneye: error: ${corrupt}: not a SQLite database`);
    expect(result.stderr).toContain('1 snapshot file(s) could not be read and were skipped');
    expect(readdirSync(home).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('nothing is written to --output when the single input is bad', async () => {
    const out = join(home, 'never.json');
    const result = await cli(['--input', join(bad, 'empty.db'), '--format', 'json', '--output', out]);
    expect(result.code).toBe(2);
    expect(existsSync(out)).toBe(false);
  });
});
