// docs/performance.md, "Measuring it yourself": the fields its "Phase timings" and "CPU by thread" items name are
// exactly those of the `detect timing` line a live and an `--input` run write (before, `input_ms`, `store_ms`,
// `processes`, `rule_lanes` and `workers_started` were emitted and documented nowhere).
import {readFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {completeProcessRow} from '../../src/models/process-fixture.js';
import {writeSnapshotFile} from '../../src/storage/snapshot-file.js';
import {isolatedEnv, parseNdjson, removeDir, ROOT, runCli, tempDir} from '../helpers/cli.js';
import {makeScan} from '../storage/helpers/snapshots.js';

const home = tempDir('daemoneye-performance-doc-');
const env = isolatedEnv(home);
const snapshot = join(home, 'input.db');
afterAll(() => removeDir(home));

beforeAll(async () => {
  const time = Date.UTC(2026, 5, 2);
  const scan = {...makeScan(time, 20), tables: ['processes']};
  await writeSnapshotFile(
    snapshot,
    scan,
    Array.from({length: 20}, (_, i) => completeProcessRow({pid: 2 + i, ppid: 1, name: 'bash'}, {scanId: scan.id, now: time})),
  );
});

/** The backquoted names (lower case, digits, `_`) in the list item of docs/performance.md that starts with `**title**`. */
function documentedFields(title: string): string[] {
  const text = readFileSync(join(ROOT, 'docs', 'performance.md'), 'utf8');
  const start = text.indexOf(`- **${title}**`);
  expect(start, `the "${title}" item of docs/performance.md`).toBeGreaterThan(0);
  const end = text.indexOf('\n- **', start + 1);
  return [...text.slice(start, end).matchAll(/`([a-z][a-z0-9_]*)`/g)].map((match) => match[1] as string);
}

/** The field names of the `detect timing` line of `detect ARGS --log-level debug --log-format json`. */
async function emittedFields(args: readonly string[]): Promise<string[]> {
  const result = await runCli(['detect', ...args, '--log-level', 'debug', '--log-format', 'json', '--format', 'json'], {env});
  expect([0, 1], result.stderr).toContain(result.code);
  const line = parseNdjson<Record<string, unknown>>(result.stderr).find((entry) => entry.message === 'detect timing');
  expect(line, result.stderr).toBeDefined();
  return Object.keys(line ?? {}).filter((key) => !['time', 'level', 'message'].includes(key));
}

describe('docs/performance.md and the detect timing line', () => {
  it('documents every field a live and an --input detect emit, and no other', async () => {
    const documented = new Set([...documentedFields('Phase timings.'), ...documentedFields('CPU by thread.')]);
    const live = await emittedFields(['--store', join(home, 'store')]);
    const input = await emittedFields(['--input', snapshot]);
    // The live run adds the collection's own phases and count.
    expect(live.filter((field) => !input.includes(field)).sort()).toEqual(['hash_ms', 'processes', 'tables_ms', 'walk_ms']);
    const emitted = new Set([...live, ...input]);
    expect([...emitted].filter((field) => !documented.has(field)).sort(), 'emitted but not documented').toEqual([]);
    expect([...documented].filter((field) => !emitted.has(field)).sort(), 'documented but not emitted').toEqual([]);
  });
});
