// Start-up cost of the CLI against bare Node and a minimal oclif CLI (one empty command, the same plugins),
// measured in the same run; then the whole `detect` on the live host once that command exists.
import {type ChildProcess, spawn, spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

import {BIN, privateEnv, ROOT, report, timeCommand, type Timing} from './lib.js';

const MINIMAL_CLI = join(ROOT, 'bench', 'fixtures', 'minimal-cli', 'bin', 'run.js');

/** Target (issue #9): `daemoneye --version` within 1.15× of the minimal oclif CLI. */
export const VERSION_TARGET_RATIO = 1.15;
/** Target (issue #9): the whole `detect` on a live host of a few hundred processes under 1 s. */
export const DETECT_TARGET_MS = 1000;
/** The live host is brought up to at least this many processes for the detect figures. */
const LIVE_HOST_PROCESSES = 300;

const processCount = (): number => readdirSync('/proc').filter((name) => /^\d+$/.test(name)).length;

/** Plain `sleep`s (nothing a rule flags) until the host runs `target` processes; returns them to stop later. */
function populateHost(target: number): ChildProcess[] {
  const extra = Math.max(0, target - processCount());
  return Array.from({length: extra}, () => spawn('sleep', ['600'], {stdio: 'ignore'}));
}

function hasCommand(id: string): boolean {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>};
  return id in manifest.commands;
}

function countBuiltinRules(): number {
  const dir = join(ROOT, 'rules');
  if (!existsSync(dir)) return 0;
  return readdirSync(dir, {recursive: true, withFileTypes: true}).filter(
    (entry) => entry.isFile() && /\.(ya?ml|sql)$/.test(entry.name) && !entry.parentPath.includes('lists'),
  ).length;
}

/** The whole detect on this host: live when it is wired, and as its two halves (scan to a file, detect on it). */
async function benchDetect(node: Timing, env: NodeJS.ProcessEnv, state: string): Promise<void> {
  const rules = countBuiltinRules();
  const sleepers = populateHost(LIVE_HOST_PROCESSES);
  try {
    await new Promise((resolve) => setTimeout(resolve, 500));
    benchDetectOnHost(node, env, state, rules);
  } finally {
    for (const child of sleepers) child.kill('SIGKILL');
  }
}

function benchDetectOnHost(node: Timing, env: NodeJS.ProcessEnv, state: string, rules: number): void {
  process.stdout.write(`\nprocesses on this host: ${processCount()} (${LIVE_HOST_PROCESSES} or more: plain sleeps added); built-in rules: ${rules}\n`);
  const probe = spawnSync(process.execPath, [BIN, 'detect', '--format', 'ndjson'], {env, encoding: 'utf8'});
  const timings: Timing[] = [node];
  let whole: Timing | undefined;
  if (probe.status === 0 || probe.status === 1) {
    // The probe run filled the hash cache, as the previous cron run would have; the cold figure reads every executable.
    whole = timeCommand('daemoneye detect (live host)', process.execPath, [BIN, 'detect', '--format', 'ndjson'], {runs: 10, env});
    const cold = timeCommand('daemoneye detect (live host, no hash cache)', process.execPath, [BIN, 'detect', '--format', 'ndjson'], {
      runs: 5,
      env: {...env, DAEMONEYE_COLLECTION__HASH_CACHE: 'false'},
    });
    timings.push(whole, cold);
  } else {
    process.stdout.write(`live detect not available in this build (exit ${String(probe.status)}: ${probe.stderr.trim().split('\n')[0] ?? ''})\n`);
  }
  const snapshot = join(state, 'bench-snapshot.db');
  const scan = timeCommand('daemoneye scan --output FILE (live host)', process.execPath, [BIN, 'scan', '--format', 'ndjson', '--output', snapshot], {
    runs: 5,
    env,
  });
  const detectInput = timeCommand('daemoneye detect --input FILE', process.execPath, [BIN, 'detect', '--input', snapshot, '--format', 'ndjson'], {
    runs: 5,
    env,
  });
  timings.push(scan, detectInput);
  report('detect on the live host', timings, node);
  const cold = timings.find((t) => t.label.includes('no hash cache'));
  if (cold !== undefined) process.stdout.write(`detect without the hash cache: ${cold.medianMs.toFixed(0)} ms\n`);
  const measured = whole?.medianMs ?? scan.medianMs + detectInput.medianMs;
  const label = whole === undefined ? 'scan + detect --input (sum of medians)' : 'detect';
  process.stdout.write(`${label}: ${measured.toFixed(0)} ms (target < ${DETECT_TARGET_MS} ms): ${measured < DETECT_TARGET_MS ? 'met' : 'MISSED'}\n`);
}

export async function run(): Promise<void> {
  const state = mkdtempSync(join(tmpdir(), 'daemoneye-bench-'));
  const env = privateEnv(state);
  try {
    const node = timeCommand('node -e 0', process.execPath, ['-e', '0'], {runs: 10});
    const minimalVersion = timeCommand('minimal oclif CLI --version', process.execPath, [MINIMAL_CLI, '--version'], {runs: 10});
    const minimalEmpty = timeCommand('minimal oclif CLI empty command', process.execPath, [MINIMAL_CLI, 'empty'], {runs: 10});
    const version = timeCommand('daemoneye --version', process.execPath, [BIN, '--version'], {runs: 10, env});
    const health = timeCommand('daemoneye health --format json', process.execPath, [BIN, 'health', '--format', 'json'], {runs: 10, env});
    const configShow = timeCommand('daemoneye config show --format json', process.execPath, [BIN, 'config', 'show', '--format', 'json'], {runs: 10, env});
    report('start-up (ratios against bare node)', [node, minimalVersion, minimalEmpty, version, health, configShow], node);
    report('start-up (ratios against the minimal oclif CLI)', [minimalVersion, version], minimalVersion);
    report('start-up (ratios against the minimal oclif empty command)', [minimalEmpty, health, configShow], minimalEmpty);
    const ratio = version.medianMs / minimalVersion.medianMs;
    process.stdout.write(
      `--version / minimal --version = ${ratio.toFixed(2)} (target ≤ ${VERSION_TARGET_RATIO}): ${ratio <= VERSION_TARGET_RATIO ? 'met' : 'MISSED'}\n`,
    );

    if (hasCommand('detect')) await benchDetect(node, env, state);
    else process.stdout.write('detect on the live host: the detect command is not in this build yet\n');
  } finally {
    rmSync(state, {recursive: true, force: true});
  }
}
