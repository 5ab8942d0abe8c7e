// Writes a command's metrics for node_exporter's textfile collector: atomically (the collector never reads
// half a file), with run-level series labelled by command, keeping the last success time when a run fails.

import {writeFileAtomic} from '../util/atomic-write.js';
import {escapeLabelValue, MetricsCollector} from './metrics.js';
import {MIB, readRegularTextFile} from '../util/read-file.js';

export interface CommandRunOutcome {
  /** The command id as typed, e.g. `detect` or `rules test`. */
  readonly command: string;
  /** The process exit code the run ends with. */
  readonly exitCode: number;
  /** When the run started (epoch ms). */
  readonly startedAtMs: number;
  /** When the run ended (epoch ms). */
  readonly endedAtMs?: number;
}

/**
 * A run succeeded when it completed its job: exit 0, or 1 (it ran and its check said no — findings at
 * `--fail-on`, a failed verification). 2 (could not start) and 3 (part of it failed) are failures.
 */
export function runSucceeded(exitCode: number): boolean {
  return exitCode === 0 || exitCode === 1;
}

/** The previous value of `daemoneye_last_success_timestamp_seconds{command=…}` in a metrics file we wrote. */
export function previousLastSuccess(path: string, command: string): number | undefined {
  let text: string;
  try {
    // Only a regular file we could have written: a FIFO or a device there must not stall the run.
    text = readRegularTextFile(path, {maxBytes: 16 * MIB, what: 'metrics file'});
  } catch {
    return undefined;
  }
  const prefix = `daemoneye_last_success_timestamp_seconds{command="${escapeLabelValue(command)}"} `;
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const value = Number(line.slice(prefix.length).trim().split(/\s+/)[0]);
    if (Number.isFinite(value)) return value;
  }
  return undefined;
}

/** Add the run-level series (duration, exit code, last success) and write the file atomically. */
export function writeMetricsFile(path: string, metrics: MetricsCollector, outcome: CommandRunOutcome): void {
  const ended = outcome.endedAtMs ?? Date.now();
  const labels = {command: outcome.command};
  metrics.recordGauge('daemoneye_command_duration_seconds', (ended - outcome.startedAtMs) / 1000, labels);
  metrics.recordGauge('daemoneye_command_exit_code', outcome.exitCode, labels);
  const lastSuccess = runSucceeded(outcome.exitCode) ? ended / 1000 : previousLastSuccess(path, outcome.command);
  if (lastSuccess !== undefined) metrics.recordGauge('daemoneye_last_success_timestamp_seconds', lastSuccess, labels);
  writeFileAtomic(path, metrics.exportMetrics(), {mode: 0o644});
}
