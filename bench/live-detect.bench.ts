// The cron'd live detect (docs/performance.md, "Live detect on a schedule", "Targets"): every figure a ratio against a floor
// measured in the same run. The floor is bare Node plus `ps` (`node -e 0` + `ps -eo pid,ppid,user,etimes,args`).
// Rows: live detect with the whole pack on the machine's own processes and at ≈ 1,100 (plain sleeps added):
// wall, CPU and peak memory; live `scan --no-hash` at ≈ 1,100 against `ps`; `detect --input` over a saved
// ≈ 1,000-process snapshot with the pack and the SigmaHQ Linux rules (CPU); the share of the audit ledger
// (entry + signed checkpoint) in a detect, whole process and in-process; and the phase timings detect logs at
// debug level, with the CPU by thread (main, V8's platform threads, libuv's pool, workers) and the GC pauses.
import {spawnSync} from 'node:child_process';
import {cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {basename, join} from 'node:path';

import {parse} from 'yaml';

import {findRuleFiles} from '../src/detection/rule-paths.js';
import {compileSigmaRule} from '../src/detection/sigma/compile.js';
import {BIN, median, privateEnv, report, ROOT, type Timing, timeCommand, timeInterleaved} from './lib.js';
import {killGroup, processCount, spawnSleepers} from './scan.bench.js';

/** Targets (issue: a cron'd detect that costs a fleet nothing). */
export const TARGETS = {
  /** Live detect at ≈ 1,100 processes: wall ≤ 4× the floor, CPU ≤ 600 ms, peak RSS ≤ 150 MB. */
  detectLargeWallRatio: 4,
  detectLargeCpuMs: 600,
  detectLargeRssMb: 150,
  /** Live detect on the machine's own 100–200 processes: wall ≤ 3× the floor. */
  detectSmallWallRatio: 3,
  /** Live `scan --no-hash` at ≈ 1,100: ≤ 4× `ps`. */
  scanRatio: 4,
  /** `detect --input` over a saved 1,000-process snapshot with the pack and the SigmaHQ rules: CPU ≤ 1 s. */
  savedSigmaCpuMs: 1000,
  /** The audit ledger (entry + signed checkpoint): under 5 % of a detect. */
  ledgerShare: 0.05,
} as const;

const PS_ARGS = ['-eo', 'pid,ppid,user,etimes,args'];
const RUNS = Number(process.env.LIVE_DETECT_RUNS ?? 5);
const SIGMA = join(ROOT, 'test', 'fixtures', 'sigma');

const verdict = (met: boolean): string => (met ? 'met' : 'MISSED');
const line = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

/** The SigmaHQ Linux fixture rules that compile, copied into `dir` (what `detect --rules` loads). */
function sigmaRules(dir: string): number {
  mkdirSync(dir, {recursive: true});
  let count = 0;
  for (const file of findRuleFiles(SIGMA)) {
    try {
      compileSigmaRule(parse(readFileSync(file, 'utf8')) as Parameters<typeof compileSigmaRule>[0]);
    } catch {
      continue;
    }
    cpSync(file, join(dir, `${count}-${basename(file)}`));
    count++;
  }
  return count;
}

/** The median of each phase `detect --log-level debug` logs ("detect timing"), over `runs` runs. */
function phaseTimings(env: NodeJS.ProcessEnv, args: readonly string[], runs: number): Record<string, number> {
  const samples: Record<string, number[]> = {};
  for (let i = 0; i < runs; i++) {
    const result = spawnSync(process.execPath, [BIN, 'detect', ...args, '--format', 'ndjson', '--log-level', 'debug', '--log-format', 'json'], {
      env,
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    const timing = result.stderr.split('\n').find((l) => l.includes('"detect timing"'));
    if (timing === undefined) throw new Error(`detect logged no timing (exit ${String(result.status)}): ${result.stderr.slice(-400)}`);
    for (const [key, value] of Object.entries(JSON.parse(timing) as Record<string, unknown>)) {
      if (typeof value === 'number') (samples[key] ??= []).push(value);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([key, values]) => [key, median(values)]));
}

/** The phases' CPU by thread (docs/performance.md, "CPU by thread"): each class's median and its share of the process's. */
export function threadSplit(phases: Readonly<Record<string, number>>): string {
  const total = phases.cpu_ms ?? Number.NaN;
  const classes: [string, string][] = [
    ['main thread', 'cpu_main_ms'],
    ['V8 platform (GC helpers, TurboFan, wasm compile)', 'cpu_v8_platform_ms'],
    ['libuv pool', 'cpu_libuv_pool_ms'],
    ['later threads (workers)', 'cpu_later_threads_ms'],
    ['exited threads (vm watchdogs, rounding)', 'cpu_exited_threads_ms'],
    ['other', 'cpu_other_ms'],
  ];
  const parts = classes.map(
    ([label, key]) => `${label} ${(phases[key] ?? Number.NaN).toFixed(0)} (${(((phases[key] ?? Number.NaN) / total) * 100).toFixed(0)} %)`,
  );
  return (
    `CPU by thread (median CPU-ms of each class, from /proc/self/task): ${parts.join('; ')}; whole process ${total.toFixed(0)}; ` +
    `garbage collection on the main thread ${(phases.gc_ms ?? Number.NaN).toFixed(0)} ms in ${(phases.gc_count ?? Number.NaN).toFixed(0)} collections (from the command's start)`
  );
}

function describe(t: Timing): string {
  return `${t.medianMs.toFixed(0)} ms wall, ${((t.cpuMs ?? Number.NaN) / 1000).toFixed(2)} CPU-s, ${(t.peakRssMb ?? Number.NaN).toFixed(0)} MB peak`;
}

/** node -e 0 and ps, then `timings` run in between (so the floor is measured around them, in the same run). */
function floorAround(measure: () => Timing[]): {node: Timing; ps: Timing; floorMs: number; timings: Timing[]} {
  const node = timeCommand('node -e 0', process.execPath, ['-e', '0'], {runs: RUNS});
  const ps = timeCommand(`ps ${PS_ARGS.join(' ')}`, 'ps', PS_ARGS, {runs: RUNS});
  const timings = measure();
  return {node, ps, floorMs: node.medianMs + ps.medianMs, timings};
}

export async function run(): Promise<void> {
  const state = mkdtempSync(join(tmpdir(), 'daemoneye-bench-live-detect-'));
  const keyDir = join(state, 'keys');
  // The default configuration with the audit ledger on and a signing key (kept in the private state, never
  // the host's): every run appends an entry and a signed checkpoint.
  const env = {
    ...privateEnv(state),
    DAEMONEYE_CRYPTO__PRIVATE_KEY_PATH: join(keyDir, 'private.key'),
    DAEMONEYE_CRYPTO__PUBLIC_KEY_PATH: join(keyDir, 'public.key'),
  };
  try {
    const keys = spawnSync(process.execPath, [BIN, 'keys', 'generate', '--dir', keyDir, '--format', 'json'], {env, encoding: 'utf8'});
    if (keys.status !== 0) throw new Error(`keys generate failed: ${keys.stderr}`);
    const detectArgs = [BIN, 'detect', '--format', 'ndjson'];

    // 1. The machine's own processes.
    const own = processCount();
    const small = floorAround(() => [timeCommand('daemoneye detect (live)', process.execPath, detectArgs, {runs: RUNS, env})]);
    const [detectSmall] = small.timings as [Timing];
    report(`live detect, this machine's ${own} processes`, [small.node, small.ps, detectSmall], small.node);
    const smallRatio = detectSmall.medianMs / small.floorMs;
    line(`floor (node -e 0 + ps): ${small.floorMs.toFixed(0)} ms; detect ${describe(detectSmall)}`);
    line(`detect / floor = ${smallRatio.toFixed(2)}× (target ≤ ${TARGETS.detectSmallWallRatio}×): ${verdict(smallRatio <= TARGETS.detectSmallWallRatio)}`);
    line(threadSplit(phaseTimings(env, [], RUNS)));

    // 2. ≈ 1,100 processes: plain sleeps added (nothing a rule flags).
    const sleepers = await spawnSleepers(Math.max(0, 1100 - own));
    const cleanup = (): void => killGroup(sleepers);
    process.once('exit', cleanup);
    try {
      const count = processCount();
      const snapshot = join(state, 'snapshot-1k.db');
      const saved = spawnSync(process.execPath, [BIN, 'scan', '--output', snapshot, '--format', 'ndjson'], {env, stdio: 'ignore'});
      if (saved.status !== 0) throw new Error(`scan --output failed (exit ${String(saved.status)})`);
      const sigmaDir = join(state, 'sigma');
      const sigmaCount = sigmaRules(sigmaDir);
      const large = floorAround(() => [
        // With and without the ledger interleaved, so a change of the machine's load falls on both alike.
        ...timeInterleaved(
          [
            {label: 'daemoneye detect (live)', command: process.execPath, args: detectArgs},
            {label: 'daemoneye detect --no-audit (live)', command: process.execPath, args: [...detectArgs, '--no-audit']},
          ],
          {runs: RUNS, env},
        ),
        timeCommand('daemoneye scan --no-hash', process.execPath, [BIN, 'scan', '--no-hash', '--format', 'ndjson'], {runs: RUNS, env}),
        timeCommand(
          `detect --input (saved), pack + ${sigmaCount} Sigma`,
          process.execPath,
          [BIN, 'detect', '--input', snapshot, '--rules', sigmaDir, '--format', 'ndjson'],
          {runs: RUNS, env},
        ),
      ]);
      const [detectLarge, noAudit, scan, savedSigma] = large.timings as [Timing, Timing, Timing, Timing];
      report(`live detect and scan, ${count} processes`, [large.node, large.ps, ...large.timings], large.node);
      const largeRatio = detectLarge.medianMs / large.floorMs;
      line(`floor (node -e 0 + ps): ${large.floorMs.toFixed(0)} ms; detect ${describe(detectLarge)}`);
      line(`detect / floor = ${largeRatio.toFixed(2)}× (target ≤ ${TARGETS.detectLargeWallRatio}×): ${verdict(largeRatio <= TARGETS.detectLargeWallRatio)}`);
      line(
        `detect CPU ${(detectLarge.cpuMs ?? 0).toFixed(0)} ms (target ≤ ${TARGETS.detectLargeCpuMs}): ${verdict((detectLarge.cpuMs ?? 0) <= TARGETS.detectLargeCpuMs)}`,
      );
      line(
        `detect peak RSS ${(detectLarge.peakRssMb ?? 0).toFixed(0)} MB, median ${(detectLarge.medianRssMb ?? 0).toFixed(0)} MB (target ≤ ${TARGETS.detectLargeRssMb}): ${verdict((detectLarge.peakRssMb ?? 0) <= TARGETS.detectLargeRssMb)}`,
      );
      const scanRatio = scan.medianMs / large.ps.medianMs;
      line(`scan --no-hash / ps = ${scanRatio.toFixed(2)}× (target ≤ ${TARGETS.scanRatio}×): ${verdict(scanRatio <= TARGETS.scanRatio)}`);
      line(
        `detect --input, pack + ${sigmaCount} Sigma rules: CPU ${(savedSigma.cpuMs ?? 0).toFixed(0)} ms (target ≤ ${TARGETS.savedSigmaCpuMs}): ${verdict((savedSigma.cpuMs ?? 0) <= TARGETS.savedSigmaCpuMs)}`,
      );

      // 3. Phases (wall, medians) as detect itself logs them; the ledger's share from the same runs.
      const phases = phaseTimings(env, [], RUNS);
      line(`\n## live detect phases, ${count} processes (median wall ms of ${RUNS} runs, from "detect timing")`);
      for (const [key, value] of Object.entries(phases)) line(`${key.padEnd(24)} ${value.toFixed(1)}`);
      line(threadSplit(phases));
      const ledgerShare = (phases.audit_ms ?? 0) / (phases.total_ms ?? 1);
      const detectDifference = (detectLarge.cpuMs ?? 0) - (noAudit.cpuMs ?? 0);
      // The ledger's whole-process cost (module loading, key, append, checkpoint signature) is measured where it
      // is not lost in a detect's noise: a command that does little else (`alerts deliver` with nothing spooled),
      // with and without the ledger, interleaved; its share is taken of the detect's CPU.
      const deliver = [BIN, 'alerts', 'deliver', '--format', 'json'];
      const [withLedger, withoutLedger] = timeInterleaved(
        [
          {label: 'alerts deliver (ledger entry + signed checkpoint)', command: process.execPath, args: deliver},
          {label: 'alerts deliver --no-audit', command: process.execPath, args: [...deliver, '--no-audit']},
        ],
        {runs: Math.max(RUNS, 11), env},
      ) as [Timing, Timing];
      report('the audit ledger, whole process', [withLedger, withoutLedger], withoutLedger);
      const ledgerCpu = Math.max(0, (withLedger.cpuMs ?? 0) - (withoutLedger.cpuMs ?? 0));
      const wholeShare = ledgerCpu / (detectLarge.cpuMs ?? 1);
      line(
        `audit ledger (entry + signed checkpoint): whole process ${ledgerCpu.toFixed(0)} CPU-ms = ${(wholeShare * 100).toFixed(1)} % of the detect's CPU; ` +
          `in-process ${(ledgerShare * 100).toFixed(1)} % of the run (audit_ms / total_ms); detect - detect --no-audit (interleaved) ${detectDifference.toFixed(0)} CPU-ms; ` +
          `target < ${TARGETS.ledgerShare * 100} %: ${verdict(wholeShare < TARGETS.ledgerShare && ledgerShare < TARGETS.ledgerShare)}`,
      );
    } finally {
      cleanup();
      process.removeListener('exit', cleanup);
      const deadline = Date.now() + 60_000;
      while (processCount() > own + 50 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    rmSync(state, {recursive: true, force: true});
  }
}
