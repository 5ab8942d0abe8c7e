// Cost at scale (anyone can start 20,000 processes): `detect --input` over synthetic snapshots of 1,000,
// 10,000 and 30,000 processes with the built-in pack and the SigmaHQ fixture rules (time per process against
// a one-rule run on the same file; peak memory above a one-process run against the snapshot's size:
// memoryRatio, with the default lanes — one, and workers added only when the run falls behind its deadline;
// which ran is printed — and capped at one lane, `detection.max_concurrent_rules: 1`); each rule's own time over 10,000 processes in one sql.js database as a rule worker holds
// it; and, on the live host brought to
// SCALE_BENCH_LIVE_PROCESSES plain `sleep`s (default 10,000; 0 skips it), `scan --output`, `detect`,
// `scan --tables all --output` and a live `query` over process_memory_map against `ps -e` listing the same
// processes (peak RSS of each). Ratios and figures from one run; no absolute target is timed.
import {type ChildProcess, spawn, spawnSync} from 'node:child_process';
import {copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {basename, join} from 'node:path';

import {embeddedDefaults} from '../src/config/schema.js';
import {readsBaseline} from '../src/detection/baseline.js';
import {listsForRun} from '../src/detection/lists.js';
import {loadRegexEngine} from '../src/detection/regex.js';
import {RuleManager} from '../src/detection/rule-manager.js';
import {prepareRuleDatabase} from '../src/detection/rule-database.js';
import {findRuleFiles} from '../src/detection/rule-paths.js';
import {validateRuleFile} from '../src/detection/rule-format.js';
import {SqlValidator} from '../src/detection/sql-validator.js';
import {loadSqlJs} from '../src/storage/sqljs.js';
import {syntheticSnapshot} from '../test/fixtures/busy-server/synthetic.js';
import {BIN, privateEnv, report, ROOT, type Timing, timeCommand} from './lib.js';

/** Targets of the scale work: no rule above this at 10,000 processes; memory within 2× the snapshot (memoryRatio). */
export const RULE_TARGET_MS = 500;
export const MEMORY_TARGET_RATIO = 2;

/**
 * The memory a snapshot costs a run, as a multiple of the snapshot file's size: the run's peak RSS (whole
 * process, every thread, from /usr/bin/time) less the peak RSS of the same command with the same rules over
 * a snapshot of one process, measured in the same bench run, divided by the file's bytes. That baseline holds
 * everything a run costs whatever the host's size (Node, the modules, the rules loaded and validated, sql.js,
 * a rule lane) and nothing of the snapshot. The one-rule run over the same file is no baseline for memory:
 * it holds the snapshot's copies itself, so subtracting it hid what is measured. A big snapshot starts rule
 * workers where the one-process snapshot runs its rules on the main thread; their own cost (a Node
 * environment, sql.js, the pattern engine each) counts as the snapshot's, since a snapshot that size is what
 * starts them.
 */
export function memoryRatio(peakRssMb: number, baselineRssMb: number, snapshotBytes: number): number {
  return ((peakRssMb - baselineRssMb) * 1024 * 1024) / snapshotBytes;
}
const SIZES = [1_000, 10_000, 30_000] as const;
const RULES_AT = 10_000;

/** The SigmaHQ fixture rules that compile and validate, copied into one directory for `--rules`. */
function sigmaRules(dir: string, validator: SqlValidator): {dir: string; count: number} {
  const target = join(dir, 'sigma');
  mkdirSync(target);
  let count = 0;
  for (const file of findRuleFiles(join(ROOT, 'test', 'fixtures', 'sigma'))) {
    if (!validateRuleFile(file, validator).valid) continue;
    copyFileSync(file, join(target, basename(file)));
    count++;
  }
  return {dir: target, count};
}

/**
 * The rule lanes of a `detect --log-level debug --log-format json` run, from its `detect timing` line: the most
 * that ran at once (the in-process lane counted) and the workers started. Collected per timed run.
 */
function laneRecorder(): {onStderr: (stderr: string) => void; text: () => string} {
  const seen: string[] = [];
  return {
    onStderr: (stderr) => {
      const line = stderr.split('\n').find((l) => l.includes('"detect timing"'));
      const timing = line === undefined ? undefined : (JSON.parse(line) as {rule_lanes?: number; workers_started?: number});
      seen.push(timing === undefined ? '?' : `${timing.rule_lanes ?? '?'} lane(s), ${timing.workers_started ?? '?'} worker(s)`);
    },
    text: () => seen.join('; '),
  };
}

/** The summary line of one `detect --format json` run: rules that timed out or did not run. */
/** At most five ids, then how many more. */
const some = (ids: readonly string[]): string =>
  ids.length === 0 ? 'none' : `${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ` and ${ids.length - 5} more` : ''}`;

function detectSummary(args: readonly string[], env: NodeJS.ProcessEnv): {timedOut: string[]; notRun: string[]; rules: number} {
  const result = spawnSync(process.execPath, [BIN, ...args, '--format', 'json', '--quiet'], {env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024});
  const summary = (JSON.parse(result.stdout) as {summary: {timed_out: string[]; not_run: string[]; rules_run: number}}).summary;
  return {timedOut: summary.timed_out, notRun: summary.not_run, rules: summary.rules_run};
}

/** Every rule's own time over `bytes`, one at a time in one sql.js database set up as a rule worker's (rule-database.ts). */
async function ruleTimes(bytes: Uint8Array, sigmaDir: string, env: NodeJS.ProcessEnv, validator: SqlValidator): Promise<[string, number][]> {
  const loaded = await new RuleManager({config: embeddedDefaults(), env, extraPaths: [sigmaDir], validator}).loadRules();
  const SQL = await loadSqlJs();
  await loadRegexEngine();
  const db = new SQL.Database(bytes);
  try {
    prepareRuleDatabase(
      db,
      listsForRun(
        loaded.lists,
        loaded.rules.flatMap((r) => validator.referencedLists(r.rule.sql_query)),
      ),
    );
    const times: [string, number][] = [];
    for (const {rule} of loaded.rules) {
      if (!rule.enabled || readsBaseline(rule.sql_query)) continue;
      // CPU time of this process (the query runs on this thread): what other work on the machine inflates least.
      const start = process.cpuUsage();
      const statement = db.prepare(rule.sql_query);
      while (statement.step());
      statement.free();
      const used = process.cpuUsage(start);
      times.push([rule.id, (used.user + used.system) / 1000]);
    }
    return times.sort((a, b) => b[1] - a[1]);
  } finally {
    db.close();
  }
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function benchSnapshots(dir: string, env: NodeJS.ProcessEnv): Promise<void> {
  const validator = new SqlValidator().withReadOnlyMode(true);
  const sigma = sigmaRules(dir, validator);
  process.stdout.write(`\n## Scale: detect --input over synthetic snapshots, built-in pack + ${sigma.count} SigmaHQ rules\n`);
  // The memory baseline (memoryRatio): the same command and rules over one process.
  const emptyFile = join(dir, 'host-1.db');
  writeFileSync(emptyFile, await syntheticSnapshot(1));
  const baseline = timeCommand(
    '1 process, pack + Sigma (memory baseline)',
    process.execPath,
    [BIN, 'detect', '--input', emptyFile, '--format', 'json', '--no-audit', '--log-level', 'debug', '--log-format', 'json', '--rules', sigma.dir],
    {runs: 3, env, exitCodes: [0, 1, 3]},
  );
  report('memory baseline', [baseline]);
  // The same capped at one lane (`detection.max_concurrent_rules: 1`: the main thread, never a worker, however near the deadline).
  const oneLaneEnv = {...env, DAEMONEYE_DETECTION__MAX_CONCURRENT_RULES: '1'};
  const rows: {count: number; size: number; one: Timing; all: Timing; oneLane: Timing}[] = [];
  for (const count of SIZES) {
    const file = join(dir, `host-${count}.db`);
    const bytes = await syntheticSnapshot(count);
    writeFileSync(file, bytes);
    const common = ['detect', '--input', file, '--format', 'json', '--quiet', '--no-audit'];
    // The timed runs log their lanes (debug, JSON on stderr; not --quiet, which would silence it): which lanes
    // ran is part of what the memory measures.
    const logged = ['detect', '--input', file, '--format', 'json', '--no-audit', '--log-level', 'debug', '--log-format', 'json'];
    const allLanes = laneRecorder();
    const oneLaneLanes = laneRecorder();
    // Exit 3: a rule timed out or the deadline came first (named below), which is a result here, not a failure.
    const options = {runs: count >= RULES_AT ? 1 : 3, env, exitCodes: [0, 1, 3]};
    const one = timeCommand(`${count} processes, 1 rule`, process.execPath, [BIN, ...common, '--rule', 'detached-shell'], options);
    const all = timeCommand(`${count} processes, pack + Sigma`, process.execPath, [BIN, ...logged, '--rules', sigma.dir], {
      ...options,
      onStderr: allLanes.onStderr,
    });
    const oneLane = timeCommand(`${count} processes, pack + Sigma, one lane`, process.execPath, [BIN, ...logged, '--rules', sigma.dir], {
      ...options,
      env: oneLaneEnv,
      onStderr: oneLaneLanes.onStderr,
    });
    report(`${count} processes: snapshot ${mb(bytes.length)}`, [one, all, oneLane], one);
    process.stdout.write(`lanes: pack + Sigma ${allLanes.text()}; capped at one lane ${oneLaneLanes.text()}\n`);
    const summary = detectSummary(['detect', '--input', file, '--no-audit', '--rules', sigma.dir], env);
    process.stdout.write(`${summary.rules} rules; timed out: ${some(summary.timedOut)}; not run: ${some(summary.notRun)}\n`);
    rows.push({count, size: bytes.length, one, all, oneLane});
    if (count === RULES_AT) {
      const times = await ruleTimes(bytes, sigma.dir, env, validator);
      const over = times.filter(([, ms]) => ms > RULE_TARGET_MS);
      process.stdout.write(
        `each rule alone over ${count} processes, CPU time (${times.length} rules, sum ${times.reduce((sum, [, ms]) => sum + ms, 0).toFixed(0)} ms): slowest ${times
          .slice(0, 5)
          .map(([id, ms]) => `${id} ${ms.toFixed(0)} ms`)
          .join(', ')}; above ${RULE_TARGET_MS} ms: ${over.length === 0 ? 'none (met)' : `${some(over.map(([id]) => id))} (MISSED)`}\n`,
      );
    }
  }
  process.stdout.write(
    `\nprocesses | snapshot | pack + Sigma (wall, CPU) | per 1,000 processes above the 1-rule run: wall, CPU (× at the first size) | peak RSS | (peak RSS − ${(baseline.peakRssMb ?? 0).toFixed(0)} MB of the 1-process run) / snapshot | the same, one lane: wall, CPU, ratio\n`,
  );
  const per = (row: (typeof rows)[number], of: 'medianMs' | 'cpuMs'): number => (((row.all[of] ?? 0) - (row.one[of] ?? 0)) / row.count) * 1000;
  const first = rows[0];
  const met = (ratio: number): string => `${ratio.toFixed(2)}× (target ≤ ${MEMORY_TARGET_RATIO}×: ${ratio <= MEMORY_TARGET_RATIO ? 'met' : 'MISSED'})`;
  for (const row of rows) {
    const ratio = memoryRatio(row.all.peakRssMb ?? 0, baseline.peakRssMb ?? 0, row.size);
    const oneLaneRatio = memoryRatio(row.oneLane.peakRssMb ?? 0, baseline.peakRssMb ?? 0, row.size);
    const wall = per(row, 'medianMs');
    const cpu = per(row, 'cpuMs');
    const firstWall = first === undefined ? wall : per(first, 'medianMs');
    const firstCpu = first === undefined ? cpu : per(first, 'cpuMs');
    process.stdout.write(
      `${row.count} | ${mb(row.size)} | ${row.all.medianMs.toFixed(0)} ms, ${(row.all.cpuMs ?? 0).toFixed(0)} ms | ${wall.toFixed(0)} ms (${(wall / firstWall).toFixed(2)}×), ${cpu.toFixed(0)} ms (${(cpu / firstCpu).toFixed(2)}×) | ${(row.all.peakRssMb ?? 0).toFixed(0)} MB | ${met(ratio)} | ${row.oneLane.medianMs.toFixed(0)} ms, ${(row.oneLane.cpuMs ?? 0).toFixed(0)} ms, ${met(oneLaneRatio)}\n`,
    );
  }
}

const processCount = (): number => readdirSync('/proc').filter((name) => /^\d+$/.test(name)).length;

/** Plain `sleep`s until the host runs `target` processes (spawned in batches so the host keeps up). */
async function populateHost(target: number): Promise<ChildProcess[]> {
  const children: ChildProcess[] = [];
  const extra = Math.max(0, target - processCount());
  for (let i = 0; i < extra; i++) {
    children.push(spawn('sleep', ['3600'], {stdio: 'ignore'}));
    if (i % 500 === 499) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await new Promise((resolve) => setTimeout(resolve, 2000));
  return children;
}

async function benchLive(dir: string, env: NodeJS.ProcessEnv, target: number): Promise<void> {
  const sleepers = await populateHost(target);
  try {
    const count = processCount();
    process.stdout.write(`\n## Scale: the live host at ${count} processes (${sleepers.length} plain sleeps added)\n`);
    const snapshot = join(dir, 'live.db');
    const ps = timeCommand('ps -e -o pid,ppid,user,args', 'ps', ['-e', '-o', 'pid,ppid,user,args'], {runs: 3, env});
    const scan = timeCommand('scan --no-hash --output FILE', process.execPath, [BIN, 'scan', '--no-hash', '--output', snapshot, '--quiet', '--no-audit'], {
      runs: 3,
      env,
    });
    const detect = timeCommand('detect (live, built-in pack)', process.execPath, [BIN, 'detect', '--format', 'json', '--quiet', '--no-audit'], {
      runs: 3,
      env,
      exitCodes: [0, 1, 3],
    });
    const all = join(dir, 'live-all.db');
    const scanAll = timeCommand(
      'scan --no-hash --tables all --output FILE',
      process.execPath,
      [BIN, 'scan', '--no-hash', '--tables', 'all', '--output', all, '--quiet', '--no-audit'],
      {
        runs: 1,
        env,
        exitCodes: [0, 1, 3],
      },
    );
    const maps = timeCommand(
      'query over process_memory_map (live)',
      process.execPath,
      [BIN, 'query', 'SELECT count(*) AS n FROM process_memory_map', '--format', 'json', '--quiet', '--no-audit'],
      {
        runs: 1,
        env,
      },
    );
    report(
      `live host, ${count} processes; snapshot ${mb(statSync(snapshot).size)}, with every table ${mb(statSync(all).size)}`,
      [ps, scan, detect, scanAll, maps],
      ps,
    );
    const summary = detectSummary(['detect', '--no-audit'], env);
    process.stdout.write(`live detect: ${summary.rules} rules; timed out: ${some(summary.timedOut)}; not run: ${some(summary.notRun)}\n`);
  } finally {
    // Wait until every sleep is gone (reaped): a benchmark run next would otherwise see thousands of them.
    await Promise.all(
      sleepers.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) resolve();
            else {
              child.once('exit', () => resolve());
              child.kill('SIGKILL');
            }
          }),
      ),
    );
  }
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'daemoneye-bench-scale-'));
  const env = privateEnv(dir);
  try {
    await benchSnapshots(dir, env);
    const live = Number(process.env.SCALE_BENCH_LIVE_PROCESSES ?? 10_000);
    if (live > 0) await benchLive(dir, env, live);
  } finally {
    rmSync(dir, {recursive: true, force: true});
  }
}
