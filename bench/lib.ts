// Shared benchmark helpers: run a command several times, report the median wall time, and compare it
// with a baseline measured in the same run (these machines are noisy: ratios, not absolute targets).
import {spawnSync} from 'node:child_process';
import {existsSync} from 'node:fs';
import {join, resolve} from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');
export const BIN = join(ROOT, 'bin', 'run.js');

export interface Timing {
  readonly label: string;
  readonly medianMs: number;
  readonly minMs: number;
  readonly runs: number;
  /** The highest peak resident set size of the timed runs (warm-up excluded), MB, when /usr/bin/time is available. */
  readonly peakRssMb?: number;
  /** Median CPU time (user + system, every thread), ms, when /usr/bin/time is available. */
  readonly cpuMs?: number;
  /** Median peak resident set size, MB, when /usr/bin/time is available. */
  readonly medianRssMb?: number;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

const TIME = '/usr/bin/time';

type RunOptions = {
  env?: NodeJS.ProcessEnv;
  shell?: boolean;
  exitCodes?: readonly number[];
  /** Called with each timed run's stderr (not the warm-up's), for what the command logs about itself. */
  onStderr?: (stderr: string) => void;
};

/** One command to time: its label, the program and its arguments. */
export interface TimedCommand {
  readonly label: string;
  readonly command: string;
  readonly args: readonly string[];
}

/** Samples of one command's runs (warm-up excluded). */
class Samples {
  readonly wall: number[] = [];
  readonly cpu: number[] = [];
  readonly rss: number[] = [];
  peakRssKb = 0;

  constructor(private readonly useTime: boolean) {}

  timing(label: string, runs: number): Timing {
    return {
      label,
      medianMs: median(this.wall),
      minMs: Math.min(...this.wall),
      runs,
      ...(this.useTime ? {peakRssMb: this.peakRssKb / 1024, cpuMs: median(this.cpu), medianRssMb: median(this.rss)} : {}),
    };
  }
}

/** Run `spec` once; its figures go into `into` unless it is a warm-up. */
function runOnce(spec: TimedCommand, options: RunOptions, into: Samples, warmUp: boolean): void {
  const useTime = existsSync(TIME) && options.shell !== true;
  const start = process.hrtime.bigint();
  const result = useTime
    ? spawnSync(TIME, ['-f', '%M %U %S', spec.command, ...spec.args], {
        env: options.env ?? process.env,
        stdio: ['ignore', 'ignore', 'pipe'],
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      })
    : spawnSync(spec.command, spec.args, {
        env: options.env ?? process.env,
        stdio: ['ignore', 'ignore', 'pipe'],
        encoding: 'utf8',
        shell: options.shell ?? false,
      });
  const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  if (!(options.exitCodes ?? [0, 1]).includes(result.status ?? -1))
    throw new Error(`${spec.label}: ${spec.command} exited ${String(result.status)}: ${String(result.stderr).slice(-500)}`);
  if (useTime) {
    const lines = String(result.stderr).trim().split('\n');
    const [rssKb, user, system] = (lines[lines.length - 1] ?? '').split(' ').map(Number);
    if (!warmUp) {
      // The warm-up is no sample for memory either: it may fill caches the timed runs then find (a first
      // detect in a fresh state directory parses every rule file for the rule cache: 108.6 against 95.4 MiB).
      into.peakRssKb = Math.max(into.peakRssKb, rssKb || 0);
      into.cpu.push(((user ?? 0) + (system ?? 0)) * 1000);
      into.rss.push((rssKb ?? 0) / 1024);
    }
  }
  if (!warmUp) {
    into.wall.push(elapsed);
    options.onStderr?.(String(result.stderr));
  }
}

/** Time `command args` `runs` times (after one warm-up); stdout is discarded. */
export function timeCommand(label: string, command: string, args: readonly string[], options: RunOptions & {runs?: number} = {}): Timing {
  const runs = options.runs ?? 7;
  const samples = new Samples(existsSync(TIME) && options.shell !== true);
  for (let i = 0; i <= runs; i++) runOnce({label, command, args}, options, samples, i === 0);
  return samples.timing(label, runs);
}

/**
 * Time several commands with their runs interleaved (A, B, A, B, …, after one warm-up round), so a change in
 * the machine's load falls on all of them alike: for a difference between commands, not each one's own time.
 */
export function timeInterleaved(specs: readonly TimedCommand[], options: RunOptions & {runs?: number} = {}): Timing[] {
  const runs = options.runs ?? 7;
  const samples = specs.map(() => new Samples(existsSync(TIME) && options.shell !== true));
  for (let i = 0; i <= runs; i++) specs.forEach((spec, k) => runOnce(spec, options, samples[k] as Samples, i === 0));
  return specs.map((spec, k) => (samples[k] as Samples).timing(spec.label, runs));
}

export function report(title: string, timings: readonly Timing[], baseline?: Timing): void {
  process.stdout.write(`\n## ${title}\n`);
  for (const t of timings) {
    const ratio = baseline === undefined || t === baseline ? '' : `  ${(t.medianMs / baseline.medianMs).toFixed(2)}× ${baseline.label}`;
    const rss = t.peakRssMb === undefined ? '' : `  peak RSS ${t.peakRssMb.toFixed(1)} MB`;
    // CPU time (median, user + system) is less sensitive to a loaded machine than wall time: its ratio too.
    const cpu =
      t.cpuMs === undefined
        ? ''
        : `  cpu ${t.cpuMs.toFixed(1)} ms${baseline?.cpuMs === undefined || t === baseline ? '' : ` (${(t.cpuMs / baseline.cpuMs).toFixed(2)}× cpu)`}`;
    process.stdout.write(
      `${t.label.padEnd(48)} median ${t.medianMs.toFixed(1).padStart(8)} ms  min ${t.minMs.toFixed(1).padStart(8)} ms${rss}${ratio}${cpu}\n`,
    );
  }
}

/** A private state directory and no user configuration, so a benchmark reads and writes nothing of the host's. */
export function privateEnv(state: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HOME: state,
    XDG_CONFIG_HOME: join(state, 'config'),
    XDG_STATE_HOME: join(state, 'state'),
    DAEMONEYE_APP__STATE_DIR: join(state, 'state'),
  };
}
