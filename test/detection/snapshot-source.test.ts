// Where detect's snapshots come from (src/detection/snapshot-source.ts), for a file read in place: the rules
// read the file's pages from disk after its checks, so a file written in between — by whoever can still
// write it — must never be what the rules read. The moment is made, not waited for: a source wrapping the real
// one rewrites the file after it yields the checked snapshot and before the rules read it.
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {embeddedDefaults} from '../../src/config/schema.js';
import {DaemonEyeError} from '../../src/errors.js';
import {snapshotFromRows} from '../../src/detection/fixture-snapshot.js';
import {runRulesOverSnapshots} from '../../src/detection/rules-over-snapshots.js';
import {detectionSnapshots, type SnapshotSource} from '../../src/detection/snapshot-source.js';
import {isFilePages} from '../../src/storage/file-pages.js';
import {removeDir, tempDir} from '../helpers/cli.js';

const dir = tempDir();
afterAll(() => removeDir(dir));

const defaults = embeddedDefaults();
const config = {...defaults, detection: {...defaults.detection, rule_cache: false}};

/** One rule that reads every process's command line (every page of the processes table). */
const rules = join(dir, 'rules');
mkdirSync(rules);
writeFileSync(
  join(rules, 'planted.yaml'),
  [
    'id: planted-marker',
    'name: A process whose command line holds marker-after',
    'description: Finds what a writer planted in the file after its checks.',
    'version: 1',
    'severity: high',
    'enabled: true',
    'sql_query: |',
    "  SELECT pid, name FROM processes WHERE cmdline LIKE '%marker-after%' OR name = 'marker-after!'",
    '',
  ].join('\n'),
);

/** A snapshot file of 400 processes and one whose name and command line are `marker-before`, far from page 1. */
async function snapshotFile(name: string): Promise<string> {
  const rows = Array.from({length: 400}, (_, i) => ({pid: 100 + i, name: 'sleep', command_line: ['sleep', `${i}`.padEnd(200, '.')]}));
  const path = join(dir, name);
  writeFileSync(path, await snapshotFromRows([...rows, {pid: 9999, name: 'marker-before', command_line: ['marker-before']}]));
  return path;
}

/** Overwrite every `from` with `to` (same length) in the file at `path`, in place: same inode, same size. */
function overwrite(path: string, from: string, to: string): void {
  const bytes = readFileSync(path);
  let at = bytes.indexOf(from);
  expect(at).toBeGreaterThan(4096);
  for (; at >= 0; at = bytes.indexOf(from, at + 1)) bytes.write(to, at, 'latin1');
  writeFileSync(path, bytes, {flag: 'r+'});
}

/** The real source of `input`, `file` rewritten (`from` → `to`) once each snapshot is checked and handed to the rules. */
function rewritingSource(input: string, since: number | undefined, file: string, from: string, to: string): SnapshotSource {
  const source = detectionSnapshots({config, input, since, onWarning: () => undefined});
  return async function* (needs) {
    for await (const snapshot of source(needs)) {
      // The file is read in place: its pages, not its bytes in memory, are what the rules get.
      expect(isFilePages(snapshot.content)).toBe(true);
      overwrite(file, from, to);
      yield snapshot;
    }
  };
}

function run(snapshots: SnapshotSource): ReturnType<typeof runRulesOverSnapshots> {
  return runRulesOverSnapshots({config, snapshots, rulesPaths: [rules], ruleIds: ['planted-marker'], onWarning: () => undefined});
}

describe('a snapshot file written between its checks and the rules', () => {
  for (const [how, since] of [
    ['--input FILE', undefined],
    ['--input DIR --since', 0],
  ] as const) {
    it(`fails the run naming the file, no rule result given; the same bytes written again do not (${how})`, async () => {
      const file = await snapshotFile('snapshot.db');
      const input = since === undefined ? file : dir;
      // What is checked is what the pages hold, not when the file was written: the run goes on.
      const same = await run(rewritingSource(input, since, file, 'marker-before', 'marker-before'));
      expect([same.summary.rules_ok, same.alerts.length]).toEqual([1, 0]);
      const error = await run(rewritingSource(input, since, file, 'marker-before', 'marker-after!')).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(DaemonEyeError);
      expect((error as DaemonEyeError).code).toBe('INPUT_UNREADABLE');
      expect((error as DaemonEyeError).toOneLine()).toMatch(
        new RegExp(
          `^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: changed while being read: page \\d+ is no longer what was checked \\(copy it somewhere only you can write and run again\\)$`,
        ),
      );
    });
  }
});
