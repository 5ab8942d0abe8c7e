// The live-response tables at 1,000 extra processes, each against a baseline measured in the same run:
// - `scan --no-hash --output` saving sockets, listening ports, environments and open files (the default
//   collection.tables) against saving processes only: at most 1.5×;
// - live `detect` with the whole built-in pack (which collects every table its rules read, memory maps
//   included) against `detect` with only the rules that read processes alone (the pack before the
//   live-response tables): at most 1.3×;
// - what saving the memory maps adds to a scan, against `cat /proc/[0-9]*/maps > /dev/null`: at most 2×.
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

import {parse as parseYaml} from 'yaml';

import {BIN, report, ROOT, timeCommand} from './lib.js';
import {killGroup, processCount, spawnSleepers} from './scan.bench.js';

const LIVE_TABLES = ['process_open_sockets', 'listening_ports', 'process_memory_map', 'process_envs', 'process_open_files'];

/** Ids of the built-in rules that read no live-response table. */
function processOnlyRules(): string[] {
  const ids: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, {withFileTypes: true})) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.yaml')) {
        const rule = parseYaml(readFileSync(path, 'utf8')) as {id: string; sql_query: string};
        if (!LIVE_TABLES.some((table) => rule.sql_query.includes(table))) ids.push(rule.id);
      }
    }
  };
  walk(join(ROOT, 'rules'));
  return ids.sort();
}

function line(text: string): void {
  process.stdout.write(`${text}\n`);
}

export async function run(): Promise<void> {
  const before = processCount();
  const shell = await spawnSleepers(1000);
  const cleanup = (): void => killGroup(shell);
  process.once('exit', cleanup);
  const dir = mkdtempSync(join(tmpdir(), 'daemoneye-bench-tables-'));
  const home = {...process.env, STATE_DIRECTORY: join(dir, 'state')};
  try {
    const runs = 5;
    const scanArgs = (tables: string): string[] => [BIN, 'scan', '--no-hash', '--no-audit', '--output', join(dir, 'snapshot.db'), '--tables', tables];
    const processesOnly = timeCommand('scan --no-hash --output, processes only', process.execPath, scanArgs('processes'), {runs, env: home});
    const defaults = timeCommand(
      'scan --no-hash --output, + sockets, ports, envs, open files',
      process.execPath,
      scanArgs('processes,process_open_sockets,listening_ports,process_envs,process_open_files'),
      {runs, env: home},
    );
    const withMaps = timeCommand('scan --no-hash --output, processes + memory maps', process.execPath, scanArgs('processes,process_memory_map'), {
      runs,
      env: home,
    });
    const cat = timeCommand('cat /proc/[0-9]*/maps > /dev/null', '/bin/sh', ['-c', 'cat /proc/[0-9]*/maps > /dev/null 2>&1; true'], {runs});
    report(`live-response tables, scan with 1,000 extra sleep processes (${processCount()} in all)`, [processesOnly, defaults, withMaps, cat], processesOnly);
    line(`sockets + ports + envs + open files: ${(defaults.medianMs / processesOnly.medianMs).toFixed(2)}× scan --no-hash (target ≤ 1.5×)`);
    const mapsCost = withMaps.medianMs - processesOnly.medianMs;
    line(
      `memory maps add ${mapsCost.toFixed(0)} ms; cat of every maps file ${cat.medianMs.toFixed(0)} ms: ${(mapsCost / cat.medianMs).toFixed(2)}× (target ≤ 2×)`,
    );

    const old = processOnlyRules();
    const detectArgs = [BIN, 'detect', '--no-audit', '--format', 'json'];
    const oldPack = timeCommand(`detect, the ${old.length} processes-only rules`, process.execPath, [...detectArgs, ...old.flatMap((id) => ['--rule', id])], {
      runs,
      env: home,
    });
    const wholePack = timeCommand('detect, the whole pack (collects what it reads)', process.execPath, detectArgs, {runs, env: home});
    report('live detect with 1,000 extra sleep processes', [oldPack, wholePack], oldPack);
    line(`whole pack / processes-only pack: ${(wholePack.medianMs / oldPack.medianMs).toFixed(2)}× (target ≤ 1.3×)`);
  } finally {
    cleanup();
    process.removeListener('exit', cleanup);
    rmSync(dir, {recursive: true, force: true});
    const deadline = Date.now() + 60_000;
    while (processCount() > before + 50 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
