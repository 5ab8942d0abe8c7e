// A seeded mutation test of snapshot files (truncation and bit flips from test/helpers/mutants.ts; schema
// edits and planted objects are in snapshot-import.test.ts; every other file a flag names is in
// test/commands/file-mutation.test.ts): every mutant is either read or refused with a DaemonEyeError of exit 2
// whose one line names the file, never an internal error, a hang or a stack trace. The seed is fixed, so a
// failure names a mutant that can be made again.
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest';

import {DaemonEyeError} from '../../src/errors.js';
import {readSnapshotFile, writeSnapshotFile} from '../../src/storage/snapshot-file.js';
import {isolatedEnv, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {mutants} from '../helpers/mutants.js';
import {makeProcesses, makeScan} from './helpers/snapshots.js';

vi.setConfig({testTimeout: 180_000});
const dir = tempDir();
const good = join(dir, 'good.db');
afterAll(() => removeDir(dir));
beforeAll(async () => {
  const scan = makeScan(Date.UTC(2026, 5, 1), 30);
  await writeSnapshotFile(good, scan, makeProcesses(scan, 30));
});

describe('seeded mutants of a snapshot file (seed 22)', () => {
  it('each is read or refused in one line naming it, exit 2', async () => {
    const original = readFileSync(good);
    let read = 0;
    let refused = 0;
    for (const [i, mutant] of mutants(original, 22, 90, {headerBytes: 4096}).entries()) {
      const path = join(dir, `mutant-${i}.db`);
      writeFileSync(path, mutant.bytes);
      const outcome = await readSnapshotFile(path).then(
        (loaded) => loaded,
        (error: unknown) => error,
      );
      if (outcome instanceof Error) {
        expect(outcome, `${mutant.name}: ${String(outcome)}`).toBeInstanceOf(DaemonEyeError);
        const error = outcome as DaemonEyeError;
        expect(error.exitCode, mutant.name).toBe(2);
        expect(error.toOneLine(), mutant.name).toContain(path);
        expect(error.toOneLine(), mutant.name).not.toContain('\n');
        refused++;
      } else {
        (outcome as Awaited<ReturnType<typeof readSnapshotFile>>).db.close();
        read++;
      }
    }
    expect(read + refused).toBe(90);
    // Truncations past the header and schema flips are refused; some flips land in row data and are read.
    expect(refused).toBeGreaterThan(30);
  });

  it('through the CLI: export, query and detect refuse a truncated file and a damaged header with one line, exit 2', async () => {
    const original = readFileSync(good);
    const truncated = join(dir, 'truncated.db');
    writeFileSync(truncated, original.subarray(0, 3000));
    const header = join(dir, 'header.db');
    const flipped = Buffer.from(original);
    flipped[16] = 0xff; // the page size: 0xff?? is no power of two
    writeFileSync(header, flipped);
    const env = isolatedEnv(dir);
    for (const file of [truncated, header]) {
      for (const args of [
        ['export', '--input', file],
        ['query', 'SELECT count(*) FROM processes', '--input', file],
        ['detect', '--input', file],
      ]) {
        const result = await runCli([...args, '--no-audit'], {env, timeoutMs: 60_000});
        expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
        expect(result.stderr).not.toMatch(/\n\s+at /);
        const lines = result.stderr.trim().split('\n');
        expect(lines, result.stderr).toHaveLength(1);
        expect(lines[0]).toContain(file);
      }
    }
  });
});
