// `scan --hidden-check` (kill(pid, 0) over the whole pid space) against a plain `scan --no-hash`, in the
// same run, plus the sweep's own time from the scan's stats (hidden_check_ms, probed pids).
import {readFileSync} from 'node:fs';
import {spawnSync} from 'node:child_process';

import {BIN, median, report, timeCommand} from './lib.js';

function sweepOwnTime(runs: number): {ms: number; probed: number} {
  const values: number[] = [];
  let probed = 0;
  for (let i = 0; i <= runs; i++) {
    const result = spawnSync(process.execPath, [BIN, 'scan', '--no-hash', '--no-audit', '--hidden-check', '--log-level', 'debug', '--log-format', 'json'], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    const line = result.stderr.split('\n').find((l) => l.includes('"scan timing"'));
    const stats = line === undefined ? {} : (JSON.parse(line) as Record<string, number>);
    probed = stats.hidden_check_probed ?? 0;
    if (i > 0) values.push(stats.hidden_check_ms ?? Number.NaN);
  }
  return {ms: median(values), probed};
}

export function run(): void {
  const pidMax = readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim();
  const plain = timeCommand('scan --no-hash', process.execPath, [BIN, 'scan', '--no-hash', '--no-audit', '--format', 'ndjson']);
  const checked = timeCommand('scan --no-hash --hidden-check', process.execPath, [
    BIN,
    'scan',
    '--no-hash',
    '--no-audit',
    '--hidden-check',
    '--format',
    'ndjson',
  ]);
  report(`hidden-process sweep (kernel.pid_max ${pidMax})`, [plain, checked], plain);
  const own = sweepOwnTime(5);
  process.stdout.write(`sweep alone (hidden_check_ms)                    median ${own.ms.toFixed(1).padStart(8)} ms for ${own.probed} pids\n`);
}
