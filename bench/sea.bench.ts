// The single executable (docs/single-executable.md) against the npm install, in one run: the binary is built
// from this checkout's dist/ (scripts/build-binary.ts) into a temporary directory, then `--version`, live
// `scan`, live `detect` and `detect --input` on one snapshot file are timed for both, each pair reported as the
// binary's ratio to `node bin/run.js`. Both run with the same configuration: the binary's defaults (no
// ledger, no hash cache, no rule cache; the npm install is given the same through DAEMONEYE_* variables), a
// private state directory, no user configuration. Also reported: the binary's size, and gzipped (gzip's
// default level, as the release tarball is packed). A run that exits non-zero stops the benchmark: a fast
// failure is no figure.
import {spawnSync} from 'node:child_process';
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {gzipSync} from 'node:zlib';

import {buildBinary} from '../scripts/build-binary.js';
import {BIN, privateEnv, report, timeCommand, type Timing} from './lib.js';

const MB = 1024 * 1024;

export async function run(): Promise<void> {
  const state = mkdtempSync(join(tmpdir(), 'daemoneye-bench-sea-'));
  try {
    const buildDir = join(state, 'build');
    mkdirSync(buildDir);
    const binary = await buildBinary(buildDir);
    const bytes = readFileSync(binary);
    const gzipped = gzipSync(bytes).length;
    process.stdout.write(`\n## single executable\n`);
    process.stdout.write(
      `binary size: ${statSync(binary).size} bytes (${(bytes.length / MB).toFixed(1)} MiB); gzipped: ${gzipped} bytes (${(gzipped / MB).toFixed(1)} MiB)\n`,
    );
    const processes = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).length;
    process.stdout.write(`processes on this host: ${processes}\n`);

    const env = {
      ...privateEnv(state),
      DAEMONEYE_AUDIT__ENABLED: 'false',
      DAEMONEYE_COLLECTION__HASH_CACHE: 'false',
      DAEMONEYE_DETECTION__RULE_CACHE: 'false',
    };
    const snapshot = join(state, 'snapshot.db');
    const pairs: Array<{what: string; args: string[]; runs: number}> = [
      {what: '--version', args: ['--version'], runs: 10},
      {what: 'scan (live host)', args: ['scan', '--format', 'ndjson'], runs: 5},
      {what: 'detect (live host)', args: ['detect', '--format', 'ndjson'], runs: 5},
      {what: 'detect --input FILE (one snapshot)', args: ['detect', '--input', snapshot, '--format', 'ndjson'], runs: 5},
    ];
    // The snapshot both builds read: written once, by the npm install.
    const written = spawnSync(process.execPath, [BIN, 'scan', '--format', 'ndjson', '--output', snapshot], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
    });
    if (written.status !== 0) throw new Error(`scan --output ${snapshot}: exit ${String(written.status)}: ${written.stderr}`);
    const ratios: string[] = [];
    for (const {what, args, runs} of pairs) {
      const npm: Timing = timeCommand(`npm install: daemoneye ${what}`, process.execPath, [BIN, ...args], {runs, env, exitCodes: [0]});
      const sea: Timing = timeCommand(`binary: daemoneye ${what}`, binary, args, {runs, env, exitCodes: [0]});
      report(`single executable against the npm install: ${what}`, [npm, sea], npm);
      ratios.push(`${what} ${(sea.medianMs / npm.medianMs).toFixed(2)}×`);
    }
    process.stdout.write(`\nbinary / npm install (medians, same run): ${ratios.join('; ')}\n`);
  } finally {
    rmSync(state, {recursive: true, force: true});
  }
}
