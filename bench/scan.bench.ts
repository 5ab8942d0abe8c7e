// `daemoneye scan` against its baselines, all in the same run: 1,000 (and 10,000) extra sleep processes,
// the CLI start-up cost (--version), ps, a minimal synchronous /proc reader (the floor for Node) and
// systeminformation.processes(); the collector's own time; hashing throughput against sha256sum.
import {type ChildProcess, spawn, spawnSync} from 'node:child_process';
import {readdirSync, statSync} from 'node:fs';
import {join} from 'node:path';

import {hashExecutables, type HashJob} from '../src/collect/hash.js';
import {BIN, median, report, ROOT, type Timing, timeCommand} from './lib.js';

const SLEEP = '/usr/bin/sleep';
const FLOOR = join(ROOT, 'bench', 'proc-floor.mjs');
const SI = join(ROOT, 'bench', 'si-processes.mjs');

export function processCount(): number {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).length;
}

/** Start `count` sleeps from one shell in its own process group; resolves once they are all running. */
export async function spawnSleepers(count: number): Promise<ChildProcess> {
  const before = processCount();
  const shell = spawn('/bin/sh', ['-c', `i=0; while [ $i -lt ${count} ]; do ${SLEEP} 3600 & i=$((i+1)); done; wait`], {
    detached: true,
    stdio: 'ignore',
  });
  const deadline = Date.now() + 300_000;
  while (processCount() < before + count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  return shell;
}

export function killGroup(shell: ChildProcess): void {
  if (shell.pid === undefined) return;
  try {
    process.kill(-shell.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Run a command that prints JSON on stdout (or a debug log on stderr) `runs` times; the median of one field. */
function medianOf(runs: number, command: string, args: readonly string[], pick: (stdout: string, stderr: string) => number): number {
  const values: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const result = spawnSync(command, args, {encoding: 'utf8', maxBuffer: 512 * 1024 * 1024});
    if (i > 0) values.push(pick(result.stdout, result.stderr));
  }
  return median(values);
}

function collectorOwnTimes(runs: number): {walk: number; total: number; floor: number} {
  const timing = (stderr: string, field: 'walk_ms' | 'total_ms'): number => {
    const line = stderr.split('\n').find((l) => l.includes('"scan timing"'));
    return line === undefined ? Number.NaN : (JSON.parse(line) as Record<string, number>)[field]!;
  };
  const scanArgs = [BIN, 'scan', '--no-hash', '--format', 'ndjson', '--log-level', 'debug', '--log-format', 'json'];
  return {
    walk: medianOf(runs, process.execPath, scanArgs, (_out, err) => timing(err, 'walk_ms')),
    total: medianOf(runs, process.execPath, scanArgs, (_out, err) => timing(err, 'total_ms')),
    floor: medianOf(runs, process.execPath, [FLOOR], (out) => (JSON.parse(out) as {read_ms: number}).read_ms),
  };
}

/** Median CPU time (user + system, ms) of a command: less disturbed than wall time on a shared machine. */
function cpuTimeMs(runs: number, command: string, args: readonly string[]): number {
  const samples: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const result = spawnSync('/usr/bin/time', ['-f', '%U %S', command, ...args], {stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8'});
    const [user, system] = result.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
    if (i > 0) samples.push(((user ?? 0) + (system ?? 0)) * 1000);
  }
  return median(samples);
}

function line(text: string): void {
  process.stdout.write(`${text}\n`);
}

async function hashingThroughput(): Promise<void> {
  // The same files for both: every regular file in /usr/bin (warm in the page cache after the first pass).
  const files = readdirSync('/usr/bin')
    .map((name) => join('/usr/bin', name))
    .filter((path) => statSync(path, {throwIfNoEntry: false})?.isFile() === true);
  const jobs: HashJob[] = files.map((path) => {
    const stat = statSync(path);
    return {key: `${stat.dev}:${stat.ino}`, size: stat.size, regular: true, readPaths: [path]};
  });
  const unique = [...new Map(jobs.map((job) => [job.key, job])).values()];
  const totalMiB = unique.reduce((sum, job) => sum + job.size, 0) / (1024 * 1024);
  const uniquePaths = unique.map((job) => job.readPaths[0]!);
  const ours = async (concurrency: number): Promise<number> => {
    const samples: number[] = [];
    for (let i = 0; i < 4; i++) {
      const start = performance.now();
      await hashExecutables(unique, {maxBytes: 1024 * 1024 * 1024, concurrency});
      if (i > 0) samples.push(performance.now() - start);
    }
    return median(samples);
  };
  const sha256sum = (): number => {
    const samples: number[] = [];
    for (let i = 0; i < 4; i++) {
      const start = performance.now();
      spawnSync('sha256sum', uniquePaths, {stdio: 'ignore'});
      if (i > 0) samples.push(performance.now() - start);
    }
    return median(samples);
  };
  const sumMs = sha256sum();
  const oursMs = await ours(4);
  const oursSerialMs = await ours(1);
  const rate = (ms: number): string => `${(totalMiB / (ms / 1000)).toFixed(0)} MiB/s`;
  line(`\n## hashing: ${unique.length} files, ${totalMiB.toFixed(1)} MiB (/usr/bin)`);
  line(`sha256sum (one process, sequential)       ${sumMs.toFixed(0)} ms  ${rate(sumMs)}`);
  line(`daemoneye hashExecutables (concurrency 4)  ${oursMs.toFixed(0)} ms  ${rate(oursMs)}  ${(sumMs / oursMs).toFixed(2)}× sha256sum throughput`);
  line(
    `daemoneye hashExecutables (concurrency 1)  ${oursSerialMs.toFixed(0)} ms  ${rate(oursSerialMs)}  ${(sumMs / oursSerialMs).toFixed(2)}× sha256sum throughput`,
  );
}

async function atScale(extra: number, runs: number, withSystemInformation: boolean): Promise<void> {
  const before = processCount();
  const shell = await spawnSleepers(extra);
  const cleanup = (): void => killGroup(shell);
  process.once('exit', cleanup);
  try {
    const count = processCount();
    const version = timeCommand('daemoneye --version', process.execPath, [BIN, '--version'], {runs});
    const scan = timeCommand('daemoneye scan --no-hash --format ndjson', process.execPath, [BIN, 'scan', '--no-hash', '--format', 'ndjson'], {runs});
    const scanHash = timeCommand('daemoneye scan --format ndjson (hashing)', process.execPath, [BIN, 'scan', '--format', 'ndjson'], {runs});
    const ps = timeCommand('ps -eo pid,ppid,uid,args', 'ps', ['-eo', 'pid,ppid,uid,args'], {runs});
    const floor = timeCommand('node bench/proc-floor.mjs (sync /proc floor)', process.execPath, [FLOOR], {runs});
    const timings: Timing[] = [version, scan, scanHash, ps, floor];
    let si: Timing | undefined;
    if (withSystemInformation) {
      si = timeCommand('node bench/si-processes.mjs (si.processes())', process.execPath, [SI], {runs: 3});
      timings.push(si);
    }
    report(`scan with ${extra} extra sleep processes (${count} processes in all)`, timings, version);
    const own = collectorOwnTimes(runs);
    line(`scan cost over --version:  ${(scan.medianMs - version.medianMs).toFixed(1)} ms wall (target < 250 ms at 1,000)`);
    const versionCpu = cpuTimeMs(runs, process.execPath, [BIN, '--version']);
    const scanCpu = cpuTimeMs(runs, process.execPath, [BIN, 'scan', '--no-hash', '--format', 'ndjson']);
    const pidOneCpu = cpuTimeMs(runs, process.execPath, [BIN, 'scan', '--no-hash', '--format', 'ndjson', '--pid', '1']);
    line(
      `CPU time (user+sys): --version ${versionCpu.toFixed(0)} ms, scan --pid 1 ${pidOneCpu.toFixed(0)} ms, scan ${scanCpu.toFixed(0)} ms: ` +
        `scan costs ${(scanCpu - versionCpu).toFixed(0)} ms CPU over --version, of which ${(pidOneCpu - versionCpu).toFixed(0)} ms is command + configuration loading`,
    );
    line(
      `collector walk (in-process) ${own.walk.toFixed(1)} ms, whole collectSnapshot ${own.total.toFixed(1)} ms; floor script's read ${own.floor.toFixed(1)} ms`,
    );
    line(`collector walk / floor read: ${(own.walk / own.floor).toFixed(2)}× (target ≤ 1.3×)`);
    line(`scan wall time: ${scan.medianMs.toFixed(0)} ms; ${(ps.medianMs / scan.medianMs).toFixed(2)}× ps's time is ps`);
    if (si !== undefined) line(`systeminformation / scan: ${(si.medianMs / scan.medianMs).toFixed(1)}× (target ≥ 10×)`);
    line(`peak RSS of the scan: ${scan.peakRssMb?.toFixed(1) ?? '?'} MB (target < 120 MB at 1,000)`);
  } finally {
    cleanup();
    process.removeListener('exit', cleanup);
    // Let the kernel reap the group before the next step counts processes.
    const deadline = Date.now() + 60_000;
    while (processCount() > before + 50 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function run(): Promise<void> {
  await hashingThroughput();
  await atScale(1000, 5, true);
  if (process.env.SCAN_BENCH_10K !== '0') await atScale(10_000, 3, false);
}
