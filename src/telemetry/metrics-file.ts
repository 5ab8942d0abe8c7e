// Writes a command's metrics for node_exporter's textfile collector: atomically (the collector never reads
// half a file; a device or FIFO named instead is written through: src/util/output-file.ts), with run-level
// series labelled by command, keeping the last success time when a run fails.
import {closeSync, constants, fstatSync, openSync, readSync} from 'node:fs';

import {TERMINAL_TEXT} from '../output/terminal.js';
import {OutputFileWriter} from '../util/output-file.js';
import {escapeLabelValue, MetricsCollector} from './metrics.js';

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

/** A metrics file this tool wrote is small; a larger one is not read. */
const MAX_PREVIOUS_BYTES = 4 * 1024 * 1024;

/**
 * The previous value of `daemoneye_last_success_timestamp_seconds{command=…}` in a metrics file we wrote.
 * Only a regular file is read (never /dev/zero or a FIFO, which have no previous run to tell of).
 */
export function previousLastSuccess(path: string, command: string): number | undefined {
  let text: string;
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size > MAX_PREVIOUS_BYTES) return undefined;
    const buffer = Buffer.alloc(stat.size);
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, read);
      if (n === 0) break;
      read += n;
    }
    text = buffer.subarray(0, read).toString('utf8');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  const prefix = `daemoneye_last_success_timestamp_seconds{command="${escapeLabelValue(command)}"} `;
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const value = Number(line.slice(prefix.length).trim().split(/\s+/)[0]);
    if (Number.isFinite(value)) return value;
  }
  return undefined;
}

/**
 * Add the run-level series (duration, exit code, last success) and write the file: atomically when it is a
 * file, through when it is a device or FIFO (src/util/output-file.ts). Throws OUTPUT_REFUSED or the
 * DaemonEyeError of a failed write (`/dev/full` is ENOSPC).
 */
export function writeMetricsFile(path: string, metrics: MetricsCollector, outcome: CommandRunOutcome, note?: (message: string) => void): void {
  // Resolved (and refused) before anything is read from it.
  const writer = new OutputFileWriter(path, {content: TERMINAL_TEXT, mode: 0o644, what: 'metrics file', ...(note === undefined ? {} : {note})});
  const ended = outcome.endedAtMs ?? Date.now();
  const labels = {command: outcome.command};
  metrics.recordGauge('daemoneye_command_duration_seconds', (ended - outcome.startedAtMs) / 1000, labels);
  metrics.recordGauge('daemoneye_command_exit_code', outcome.exitCode, labels);
  const lastSuccess = runSucceeded(outcome.exitCode)
    ? ended / 1000
    : writer.target.kind === 'file'
      ? previousLastSuccess(writer.target.path, outcome.command)
      : undefined;
  if (lastSuccess !== undefined) metrics.recordGauge('daemoneye_last_success_timestamp_seconds', lastSuccess, labels);
  try {
    writer.write(metrics.exportMetrics());
    writer.commit();
  } catch (error) {
    writer.abort();
    throw error;
  }
}
