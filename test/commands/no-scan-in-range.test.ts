// detect, query and export agree on inputs that hold no usable scan: exit 2 and one line saying why
// (nothing in range, not a store, or which files are unusable), never an internal error or a silent exit 0.
import {mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {writeSnapshotFile} from '../../src/storage/snapshot-file.js';
import {appendToStore} from '../../src/storage/store.js';
import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {makeProcesses, makeScan} from '../storage/helpers/snapshots.js';

const home = tempDir();
const env = isolatedEnv(home);
const T0 = Date.UTC(2026, 10, 24, 8, 0, 0);
const store = join(home, 'store');
const file = join(home, 'old.db');
const notAStore = join(home, 'not-a-store');
const junkStore = join(home, 'junk-store');
afterAll(() => removeDir(home));

beforeAll(async () => {
  const scan = makeScan(T0, 5);
  await appendToStore(store, scan, makeProcesses(scan, 5));
  await writeSnapshotFile(file, scan, makeProcesses(scan, 5));
  mkdirSync(notAStore);
  writeFileSync(join(notAStore, 'notes.txt'), 'hello\n');
  const other = makeScan(T0 + 60_000, 7, 1);
  await appendToStore(junkStore, other, makeProcesses(other, 7));
  writeFileSync(join(junkStore, 'broken.db'), 'this is not a database\n');
});

const oneErrorLine = (stderr: string): string[] => stderr.split('\n').filter((line) => line.startsWith('daemoneye: error: '));

describe('no scan in range', () => {
  // The README's cron pattern (`detect --input STORE --since 24h`) on a quiet store, and --since on an older file.
  it.each([
    ['detect', 'store', ['detect', '--input', store, '--since', '24h']],
    ['detect', 'file', ['detect', '--input', file, '--since', '1m']],
    ['query', 'store', ['query', 'SELECT count(*) AS n FROM processes', '--input', store, '--since', '24h']],
    ['export', 'store', ['export', '--input', store, '--since', '24h']],
    ['export', 'file', ['export', '--input', file, '--since', '1m', '--format', 'csv']],
  ])('%s on a %s: exit 2, one line naming the input and --since', async (_command, _kind, args) => {
    const result = await runCli(args, {env});
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toMatch(/internal error/);
    const [line, ...more] = oneErrorLine(result.stderr);
    expect(more).toEqual([]);
    expect(line).toMatch(/no scan between .* and now in (store|snapshot file) .*\(widen --since\/--until\)$/);
  });

  it('export --scan-id of a scan that is not there says so (exit 2)', async () => {
    const result = await runCli(['export', '--input', store, '--scan-id', '42'], {env});
    expect(result.code).toBe(2);
    expect(oneErrorLine(result.stderr)[0]).toMatch(/no scan 42 in store/);
  });
});

describe('a directory that is not a store', () => {
  it.each([
    ['export', ['export', '--input', notAStore]],
    ['detect', ['detect', '--input', notAStore]],
    ['query', ['query', 'SELECT 1 AS one', '--input', notAStore]],
  ])('%s: exit 2, "it is not a store"', async (_command, args) => {
    const result = await runCli(args, {env});
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(oneErrorLine(result.stderr)).toEqual([
      `daemoneye: error: ${notAStore} holds no snapshot files (*.db, *.sqlite): it is not a store (give a store directory (\`daemoneye scan --store DIR\`) or a snapshot file)`,
    ]);
  });
});

describe('a store holding one junk file', () => {
  it('query reads the other files, names the junk one and exits 2', async () => {
    const result = await runCli(['query', 'SELECT count(*) AS n FROM processes', '--input', junkStore], {env});
    expect(result.code).toBe(2);
    expect(parseNdjson(result.stdout)).toEqual([{n: 7, host: expect.objectContaining({hostname: 'test-host'})}]);
    const [line, ...more] = oneErrorLine(result.stderr);
    expect(more).toEqual([]);
    expect(line).toContain(join(junkStore, 'broken.db'));
    expect(line).toMatch(/skipped, the other files of the store are read \(move it out of the store, or delete it\)$/);
    expect(line).not.toMatch(/take a new one/);
  });

  it('export and detect do the same', async () => {
    const exported = await runCli(['export', '--input', junkStore], {env});
    expect(exported.code).toBe(2);
    expect(parseNdjson(exported.stdout)).toHaveLength(7);
    expect(exported.stderr).toContain(join(junkStore, 'broken.db'));
    const detected = await runCli(['detect', '--input', junkStore, '--since', '3650d'], {env});
    expect(detected.code).toBe(2);
    expect(detected.stderr).toContain(join(junkStore, 'broken.db'));
    expect(detected.stderr).toMatch(/rules? run/);
  });

  it('when every file is junk, the refusal counts them instead of suggesting a new scan', async () => {
    const onlyJunk = join(home, 'only-junk');
    mkdirSync(onlyJunk);
    writeFileSync(join(onlyJunk, 'a.db'), 'junk');
    const result = await runCli(['query', 'SELECT 1 AS one', '--input', onlyJunk], {env});
    expect(result.code).toBe(2);
    expect(oneErrorLine(result.stderr).at(-1)).toMatch(
      /no usable scan in store .* \(1 unusable file skipped, named above\) \(move the unusable files out of the store\)$/,
    );
  });
});
