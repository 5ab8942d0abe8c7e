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
  /** Peak resident set size in MB of the slowest run, when /usr/bin/time is available. */
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

/** Time `command args` `runs` times (after one warm-up); stdout is discarded. */
export function timeCommand(
  label: string,
  command: string,
  args: readonly string[],
  options: {runs?: number; env?: NodeJS.ProcessEnv; shell?: boolean; exitCodes?: readonly number[]} = {},
): Timing {
  const runs = options.runs ?? 7;
  const samples: number[] = [];
  let peakRssKb = 0;
  const cpuSamples: number[] = [];
  const rssSamples: number[] = [];
  const useTime = existsSync(TIME) && options.shell !== true;
  for (let i = 0; i <= runs; i++) {
    const start = process.hrtime.bigint();
    const result = useTime
      ? spawnSync(TIME, ['-f', '%M %U %S', command, ...args], {
          env: options.env ?? process.env,
          stdio: ['ignore', 'ignore', 'pipe'],
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024,
        })
      : spawnSync(command, args, {env: options.env ?? process.env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', shell: options.shell ?? false});
    const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
    if (!(options.exitCodes ?? [0, 1]).includes(result.status ?? -1))
      throw new Error(`${label}: ${command} exited ${String(result.status)}: ${String(result.stderr).slice(-500)}`);
    if (useTime) {
      const lines = String(result.stderr).trim().split('\n');
      const [rssKb, user, system] = (lines[lines.length - 1] ?? '').split(' ').map(Number);
      peakRssKb = Math.max(peakRssKb, rssKb || 0);
      if (i > 0) {
        cpuSamples.push(((user ?? 0) + (system ?? 0)) * 1000);
        rssSamples.push((rssKb ?? 0) / 1024);
      }
    }
    if (i > 0) samples.push(elapsed);
  }
  return {
    label,
    medianMs: median(samples),
    minMs: Math.min(...samples),
    runs,
    ...(useTime ? {peakRssMb: peakRssKb / 1024, cpuMs: median(cpuSamples), medianRssMb: median(rssSamples)} : {}),
  };
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
