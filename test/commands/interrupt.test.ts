// SIGTERM ends a run at any moment: each command that reads input of any size (a snapshot file, a store, a
// ledger, a directory of rules, an evidence bundle) runs once whole, then is sent SIGTERM at seeded moments of its
// run (fractions of that whole run's time, in the same test) and must end by that signal (a shell shows 143) well
// before the work would have finished — before half of the work left could have been done — with no output file, no temp
// file beside it and no lock left behind; a run the signal came too late for ends as it would have, its output
// whole. The whole run also measures the longest stretch its main thread gave the event loop no turn (a preload,
// test/helpers/loop-gap.mjs): a signal waits for such a stretch (src/util/interrupt.ts), so it must be short against
// the run, whichever pass it would be in (reading, checking, computing, rendering, writing). One more moment lands
// inside the rendering: its reader stops reading at the first bytes of output, and the run, held by the full pipe
// while it still renders, must end at the signal without having gone on to what follows the output.
import {spawn} from 'node:child_process';
import {createHash} from 'node:crypto';
import {copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';

import {blake3} from '@noble/hashes/blake3.js';
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest';

import {buildRecord, serialiseRecord} from '../../src/audit/ledger-record.js';
import {toHex} from '../../src/crypto/hash.js';
import {completeProcessRow} from '../../src/models/process-fixture.js';
import {writeSnapshotFile} from '../../src/storage/snapshot-file.js';
import {BIN, isolatedEnv, removeDir, ROOT, tempDir} from '../helpers/cli.js';
import {makeScan} from '../storage/helpers/snapshots.js';

vi.setConfig({testTimeout: 240_000});

/** The hang guard: far past any prompt end, far short of a stuck run. Not a timing target. */
const GUARD_MS = 30_000;
/** The longest stretch without a turn a whole run may have, as a share of its time. */
const SHARE = 0.25;

const home = tempDir('daemoneye-interrupt-');
// Rules may run for two minutes: a rule still running when the signal comes must not end the run by its timeout.
const env = isolatedEnv(home, {DAEMONEYE_DETECTION__RULE_TIMEOUT_MS: '120000'});
const rulesDir = join(home, 'rules');
const snapshot = join(home, 'large.db');
const older = join(home, 'older.db');
const ledger = join(home, 'large.ledger');
const out = join(home, 'out');
const manyRules = join(home, 'many-rules');
const bundleDir = join(home, 'case-large');
const gapFile = join(home, 'loop-gaps.ndjson');
afterAll(() => removeDir(home));

/** A scan of `count` processes whose argv are long (40 arguments), so copying and redacting them takes a while. */
async function writeLarge(path: string, count: number, time: number): Promise<void> {
  const scan = {...makeScan(time, count), tables: ['processes']};
  const processes = Array.from({length: count}, (_, i) =>
    completeProcessRow(
      {
        pid: 2 + i,
        ppid: 1 + (i % 500),
        name: i % 7 === 0 ? 'curl' : 'bash',
        // Every tenth process has a secret flag, so the read-time redaction rewrites rows too.
        command_line: ['/usr/bin/bash', ...Array.from({length: 40}, (_, j) => (j === 0 && i % 10 === 0 ? `--password=hunter${i}` : `--arg${j}=${i}-value`))],
      },
      {scanId: scan.id, now: time},
    ),
  );
  await writeSnapshotFile(path, scan, processes);
}

beforeAll(async () => {
  await writeLarge(snapshot, 8_000, Date.UTC(2026, 5, 2));
  await writeLarge(older, 500, Date.UTC(2026, 5, 1));
  symlinkSync(older, heldInput);
  // A rule whose cost grows with the fourth power of the processes: over the small snapshot (below the size that
  // starts a worker) it runs on the main thread, inside one synchronous query, until its watchdog stops it.
  mkdirSync(rulesDir);
  writeFileSync(
    join(rulesDir, 'runaway.yaml'),
    [
      'id: runaway-cross-join',
      'name: Runaway cross join',
      'description: A rule whose cost grows with the fourth power of the processes.',
      'version: 1',
      'severity: low',
      'category: execution',
      'author: test',
      'enabled: true',
      'sql_query: SELECT count(*) AS n FROM processes a, processes b, processes c, processes d WHERE a.pid + b.pid + c.pid + d.pid = -1',
      '',
    ].join('\n'),
  );
  // A valid ledger of 30,000 records with payloads of 1 KB (written at once: an append fsyncs each record).
  const lines: string[] = [];
  let previous: Parameters<typeof buildRecord>[0];
  for (let i = 0; i < 30_000; i++) {
    const {record, frontier} = buildRecord(previous, {
      type: 'entry',
      time: Date.UTC(2026, 5, 1) + i,
      actor: 'test',
      action: 'scan',
      payload: {i, note: 'x'.repeat(1000)},
    });
    lines.push(serialiseRecord(record));
    previous = {seq: record.seq, entry_hash: record.entry_hash, frontier};
  }
  writeFileSync(ledger, lines.join(''), {mode: 0o600});
  // Ten copies of the vendored SigmaHQ rules (each its own directory: same ids, converted one by one).
  for (let i = 0; i < 10; i++) cpSync(join(ROOT, 'test', 'fixtures', 'sigma', 'rules'), join(manyRules, String(i)), {recursive: true});
  // An evidence bundle (a case directory with its manifest) holding two copies of the large snapshot file and their
  // digests: hashing them is most of verify's run.
  mkdirSync(bundleDir);
  const bytes = readFileSync(snapshot);
  const digests = {bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), blake3: toHex(blake3(bytes))};
  const files = Array.from({length: 2}, (_, i) => {
    copyFileSync(snapshot, join(bundleDir, `snapshot-${i}.db`));
    return {path: `snapshot-${i}.db`, ...digests};
  });
  writeFileSync(join(bundleDir, 'manifest.json'), JSON.stringify({format: 'daemoneye-evidence/1', case_id: 'case-large', files, skipped: [], key_id: null}));
}, 240_000);

interface Ended {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly afterSignalMs: number | null;
  readonly stderr: string;
}

/**
 * Run the CLI and send SIGTERM after `delayMs`; resolves when it ends (or is killed by the guard). `holdOutput`:
 * stdout is a pipe nobody reads once its first bytes came, and the delay counts from those bytes and the end of
 * `holdOutput` (the moment lands in the rendering, its writer held by the full pipe).
 */
function runAndTerminate(args: readonly string[], delayMs: number, holdOutput?: Promise<unknown>): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {cwd: ROOT, env, stdio: ['ignore', holdOutput === undefined ? 'ignore' : 'pipe', 'pipe']});
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    let sentAt: number | undefined;
    let term: NodeJS.Timeout | undefined;
    const arm = (): void => {
      term = setTimeout(() => {
        sentAt = performance.now();
        child.kill('SIGTERM');
      }, delayMs);
    };
    if (holdOutput === undefined) {
      arm();
    } else {
      child.stdout?.once('data', () => {
        child.stdout?.pause();
        void holdOutput.then(arm);
      });
    }
    const guard = setTimeout(() => child.kill('SIGKILL'), delayMs + GUARD_MS + (holdOutput === undefined ? 0 : 4 * GUARD_MS));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(term);
      clearTimeout(guard);
      child.stdout?.destroy();
      resolve({code, signal, afterSignalMs: sentAt === undefined ? null : performance.now() - sentAt, stderr});
    });
  });
}

/** The ledger entries (the runs' audit ledger: the isolated state directory's) that name `text`. */
function ledgerEntries(text: string): number {
  const path = join(home, 'state', 'audit.ledger');
  if (!existsSync(path)) return 0;
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.includes(text)).length;
}

/** The input of the run whose output is held: a link to the smaller snapshot (its tree is still megabytes of JSON), so that its audit entry is told apart. */
const heldInput = join(home, 'held.db');

/** mulberry32: values in [0, 1), the same every run, so a failure can be made again. */
function seeded(seed: number, count: number): number[] {
  let state = seed >>> 0;
  return Array.from({length: count}, () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  });
}

/** Files of `dir` a run must not leave: temp files of an atomic write, lock directories. */
function leftovers(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.startsWith('.tmp-') || name.endsWith('.lock'));
}

interface Whole {
  readonly code: number | null;
  readonly ms: number;
  /** The longest stretch of the run's main thread without a turn of the event loop (test/helpers/loop-gap.mjs). */
  readonly longestStretchMs: number;
  readonly stderr: string;
}

/** Run the CLI to its end, uninterrupted, with the loop-gap preload. */
function runWhole(args: readonly string[], name: string): Promise<Whole> {
  const file = `${gapFile}-${name.replace(/\W+/g, '-')}`;
  rmSync(file, {force: true});
  const preload = `--import ${pathToFileURL(join(ROOT, 'test', 'helpers', 'loop-gap.mjs')).href}`;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: {...env, LOOP_GAP_FILE: file, NODE_OPTIONS: `${env.NODE_OPTIONS ?? ''} ${preload}`.trim()},
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const guard = setTimeout(() => child.kill('SIGKILL'), 8 * GUARD_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      const ms = performance.now() - started;
      const lines = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
      const longestStretchMs = Math.max(...lines.map((line) => (JSON.parse(line) as {longestMs: number}).longestMs));
      resolve({code, ms, longestStretchMs, stderr});
    });
  });
}

/**
 * `held`: also run once so, with its output held (runAndTerminate), on `heldInput`. `wholeMs`: the time the run would
 * take, when it is not run whole first (a rule that runs until its timeout).
 */
const COMMANDS: readonly {name: string; args: (output: string) => string[]; writes?: boolean; held?: () => string[]; wholeMs?: number}[] = [
  {name: 'detect --input', args: () => ['detect', '--input', snapshot, '--format', 'ndjson']},
  {
    name: 'detect --input, a runaway rule on the main thread',
    args: () => ['detect', '--input', older, '--rules', rulesDir, '--rule', 'runaway-cross-join', '--format', 'ndjson'],
    // It would run until its rule timeout (the environment's 120 s).
    wholeMs: 120_000,
  },
  {name: 'query --input', args: () => ['query', 'SELECT pid, name, command_line FROM processes', '--input', snapshot, '--format', 'json']},
  {name: 'export --output', args: (output) => ['export', '--input', snapshot, '--output', output], writes: true},
  {name: 'diff OLD NEW', args: () => ['diff', older, snapshot, '--format', 'json']},
  {
    name: 'scan --tree --input',
    args: () => ['scan', '--tree', '--format', 'json', '--input', snapshot],
    held: () => ['scan', '--tree', '--format', 'json', '--input', heldInput],
  },
  {name: 'audit verify --ledger', args: () => ['audit', 'verify', '--ledger', ledger, '--format', 'json']},
  {name: 'audit show --ledger', args: () => ['audit', 'show', '--ledger', ledger, '--format', 'json']},
  {name: 'rules convert DIR', args: () => ['rules', 'convert', manyRules]},
  {name: 'rules test --format junit', args: () => ['rules', 'test', '--format', 'junit']},
  {name: 'verify BUNDLE', args: () => ['verify', bundleDir]},
];

describe('SIGTERM at seeded moments of a run', () => {
  for (const [index, command] of COMMANDS.entries()) {
    it(`${command.name}: ends by SIGTERM well before the whole run would, nothing half-written, no lock left`, async () => {
      // The whole run first: its time is what the moments and the bounds are shares of.
      let wholeMs = command.wholeMs;
      if (wholeMs === undefined) {
        const output = `${out}-${index}-whole.ndjson`;
        const whole = await runWhole(command.args(output), command.name);
        const what = `${command.name}, whole: ${JSON.stringify(whole)}`;
        // Its own exit code (0; detect 1 on its findings, rules convert 1 on the Sigma rules it refuses) and whole output.
        expect([0, 1], what).toContain(whole.code);
        if (command.writes === true) expect(statSync(output).size, what).toBeGreaterThan(0);
        // No pass of any kind held the event loop for a quarter of the run.
        expect(whole.longestStretchMs, what).toBeLessThan(SHARE * whole.ms);
        wholeMs = whole.ms;
        rmSync(output, {force: true});
      }
      const limitMs = wholeMs;
      // The audit ledger of these runs is written under the lock the signal must release.
      const signalled = async (share: number, i: number): Promise<{delay: number; output: string; ended: Ended}> => {
        const output = `${out}-${index}-${i}.ndjson`;
        // Between a tenth and half of the whole run: at least half of the work is left.
        const delay = command.wholeMs === undefined ? Math.round((0.1 + 0.4 * share) * limitMs) : 150 + Math.round(share * 2_500);
        const ended = await runAndTerminate(command.args(output), delay);
        return {delay, output, ended};
      };
      // After a whole run, one at a time as it ran (the same share of the machine, so the times compare); moments of a
      // run that would last for its rule timeout, side by side.
      const runs: Promise<{delay: number; output: string; ended: Ended}>[] = [];
      for (const [i, share] of seeded(22 + index, 1).entries()) {
        const previous = command.wholeMs === undefined ? runs.at(-1) : undefined;
        runs.push(previous === undefined ? signalled(share, i) : previous.then(() => signalled(share, i)));
      }
      // The held run: SIGTERM at a seeded moment after its first bytes and after the other runs ended (seconds),
      // its pipe full all along. A renderer that rendered the whole view first has by then handed it to stdout
      // and appended its audit entry (which follows the output); one that renders as the reader reads is still
      // waiting to write, and ends with no entry.
      const othersEnded = Promise.allSettled(runs);
      const held =
        command.held === undefined ? undefined : runAndTerminate(command.held(), 1_850 + Math.round((seeded(22 + index, 1)[0] as number) * 1_000), othersEnded);
      const ended = await Promise.all(runs);
      if (held !== undefined) {
        const heldEnded = await held;
        expect(heldEnded.signal, JSON.stringify(heldEnded)).toBe('SIGTERM');
        expect(heldEnded.stderr).not.toMatch(/\n\s+at /);
        expect(ledgerEntries(heldInput), 'the audit entry that follows the held output').toBe(0);
      }
      // The moments land inside the run: at least one of them is a SIGTERM the run had to handle.
      expect(
        ended.filter((run) => run.ended.signal === 'SIGTERM'),
        JSON.stringify(ended),
      ).not.toHaveLength(0);
      for (const {delay, output, ended: run} of ended) {
        const what = `${command.name} with SIGTERM at ${delay} ms of a ${Math.round(limitMs)} ms run: ${JSON.stringify(run)}`;
        // The guard did not have to kill it.
        expect(run.signal, what).not.toBe('SIGKILL');
        if (run.signal === 'SIGTERM') {
          expect(run.code, what).toBeNull();
          // Ended well before the work would have: before half of the work left at the signal could have been done.
          expect(run.afterSignalMs, what).toBeLessThan((limitMs - delay) / 2);
          if (command.writes === true) expect(existsSync(output), what).toBe(false);
        } else {
          // Finished before the signal came: its own exit code and whole output.
          expect(run.afterSignalMs, what).toBeNull();
          expect([0, 1], what).toContain(run.code);
          if (command.writes === true) expect(statSync(output).size, what).toBeGreaterThan(0);
        }
        expect(run.stderr, what).not.toMatch(/\n\s+at /);
      }
      expect(leftovers(home)).toEqual([]);
      const state = join(home, 'state');
      if (existsSync(state)) expect(leftovers(state)).toEqual([]);
    });
  }
});
