// The live-response tables at 1,000 extra processes, each against a baseline measured in the same run:
// - `scan --no-hash --output` saving the default collection.tables (sockets, listening ports, libraries,
//   environments, open files) against saving processes only: at most 1.5×;
// - live `detect` with the whole built-in pack (which collects every table its rules read: sockets, envs,
//   libraries) against `detect` with only the rules that read processes alone (the pack before the
//   live-response tables): at most 1.3×;
// - the memory maps of every process read and parsed (the scan's own `tables_ms`), against
//   `cat /proc/[0-9]*/maps > /dev/null`: at most 2×; and, for the record, what collecting and saving them
//   adds to `scan --output`, and what process_libraries (from the same files, far fewer rows) adds.
import {spawnSync} from 'node:child_process';
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

import {parse as parseYaml} from 'yaml';

import {DEFAULT_SCAN_TABLES} from '../src/config/schema.js';
import {COLLECTED_TABLE_NAMES} from '../src/models/tables.js';
import {BIN, median, report, ROOT, timeCommand} from './lib.js';
import {killGroup, processCount, spawnSleepers} from './scan.bench.js';

const LIVE_TABLES = COLLECTED_TABLE_NAMES.filter((t) => t !== 'processes');

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
      `scan --no-hash --output, the default tables (${DEFAULT_SCAN_TABLES.filter((t) => t !== 'processes').join(', ')})`,
      process.execPath,
      scanArgs(DEFAULT_SCAN_TABLES.join(',')),
      {runs, env: home},
    );
    const withMaps = timeCommand('scan --no-hash --output, processes + memory maps', process.execPath, scanArgs('processes,process_memory_map'), {
      runs,
      env: home,
    });
    const withLibraries = timeCommand('scan --no-hash --output, processes + libraries', process.execPath, scanArgs('processes,process_libraries'), {
      runs,
      env: home,
    });
    const cat = timeCommand('cat /proc/[0-9]*/maps > /dev/null', '/bin/sh', ['-c', 'cat /proc/[0-9]*/maps > /dev/null 2>&1; true'], {runs});
    report(
      `live-response tables, scan with 1,000 extra sleep processes (${processCount()} in all)`,
      [processesOnly, defaults, withMaps, withLibraries, cat],
      processesOnly,
    );
    line(`the default tables: ${(defaults.medianMs / processesOnly.medianMs).toFixed(2)}× scan --no-hash (target ≤ 1.5×)`);
    // Reading and parsing every maps file, as the scan itself times it (`tables_ms` of its timing record).
    const collectMs = median(
      Array.from({length: runs}, () => {
        const result = spawnSync(process.execPath, [...scanArgs('processes,process_memory_map'), '--log-level', 'debug', '--log-format', 'json'], {
          env: home,
          encoding: 'utf8',
        });
        const timing = result.stderr
          .split('\n')
          .map((l) => (l.startsWith('{') ? (JSON.parse(l) as {message?: string; tables_ms?: number}) : {}))
          .find((l) => l.message === 'scan timing');
        if (timing?.tables_ms === undefined) throw new Error(`scan printed no timing: ${result.stderr}`);
        return timing.tables_ms;
      }),
    );
    const vsCat = (ms: number): string => `${(ms / cat.medianMs).toFixed(2)}×`;
    line(`cat of every maps file: ${cat.medianMs.toFixed(0)} ms`);
    line(`memory maps, read and parsed inside scan: ${collectMs.toFixed(0)} ms, ${vsCat(collectMs)} cat (target ≤ 2×)`);
    const mapsCost = withMaps.medianMs - processesOnly.medianMs;
    line(`memory maps, collected and saved (scan --output with them − without): ${mapsCost.toFixed(0)} ms, ${vsCat(mapsCost)} cat`);
    const librariesCost = withLibraries.medianMs - processesOnly.medianMs;
    line(`libraries, collected and saved: ${librariesCost.toFixed(0)} ms, ${vsCat(librariesCost)} cat`);

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
