// No alert is lost to a kill: `detect` SIGKILLed at random moments (≥ 30 times, some while the first webhook
// is mid-delivery) with three sinks (a real HTTP webhook, a file sink, a second webhook on another server),
// then `alerts deliver`: every alert any sink, spool or stdout saw has reached every sink, and every dedupe
// key recorded as sent has too. Each run finds new alerts (its own process names), so deduplication is on
// and still every run's alerts count.
import {type ChildProcess, spawn} from 'node:child_process';
import {existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {snapshotFromRows} from '../../src/detection/fixture-snapshot.js';
import {startHttpServer, type TestServer} from '../alerting/helpers.js';
import {BIN, ROOT, isolatedEnv, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {tmpExecRule, tmpProcesses} from './detection-fixtures.js';

const KILLS = 32;
const PER_RUN = 6;

const home = tempDir();
const env = isolatedEnv(home);
const rules = join(home, 'rules');
const stateDir = join(home, 'alerts-state');
const archive = join(home, 'archive.ndjson');
let hook: TestServer;
let siem: TestServer;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  mkdirSync(rules);
  writeFileSync(join(rules, 'tmp-exec.yaml'), tmpExecRule('kill-exec-from-tmp'));
  // Both endpoints take a little while per alert, so kills land mid-delivery as well as before and after.
  hook = await startHttpServer((_request, _index, response) => {
    setTimeout(() => response.end(), Math.floor(Math.random() * 25));
    return false;
  });
  siem = await startHttpServer((_request, _index, response) => {
    setTimeout(() => response.end(), 5 + Math.floor(Math.random() * 40));
    return false;
  });
});
afterAll(async () => {
  await hook.close();
  await siem.close();
  removeDir(home);
});

function configFile(): string {
  const path = join(home, 'config.yaml');
  writeFileSync(
    path,
    [
      'detection:',
      '  builtin_rules: false',
      'alerting:',
      `  state_dir: ${stateDir}`,
      '  delivery_deadline_ms: 20000',
      '  deduplication: {enabled: true, window_minutes: 60, key_fields: [rule_id, process_name]}',
      '  sinks:',
      `    - {name: hook, type: webhook, url: "${hook.url}", retry_attempts: 0}`,
      `    - {name: archive, type: file, path: ${archive}}`,
      `    - {name: siem, type: webhook, url: "${siem.url}", retry_attempts: 0}`,
      '',
    ].join('\n'),
  );
  return path;
}

/** A snapshot whose PER_RUN processes run from /tmp under names of their own (new dedupe keys each run). */
async function snapshotFor(run: number): Promise<string> {
  const path = join(home, `snapshot-${run}.db`);
  const rows = tmpProcesses(
    Array.from({length: PER_RUN}, (_, k) => `implant-${run}-${k}`),
    1000,
  );
  writeFileSync(path, await snapshotFromRows([...rows, {pid: 1, name: 'init', executable_path: '/sbin/init'}]));
  return path;
}

interface Run {
  readonly child: ChildProcess;
  readonly exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>;
  stdout: string;
}

function startDetect(config: string, snapshot: string): Run {
  const child = spawn(process.execPath, [BIN, 'detect', '--config', config, '--input', snapshot, '--rules', rules, '--format', 'ndjson', '--no-audit'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const run: Run = {child, exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({code, signal}))), stdout: ''};
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (run.stdout += chunk));
  return run;
}

const idsOf = (bodies: readonly string[]): Set<string> => new Set(bodies.map((body) => (JSON.parse(body) as {id: string}).id));

/** Alert ids in the file sink's file; a torn last line of a killed append is not an alert and is skipped. */
function archivedIds(): Set<string> {
  if (!existsSync(archive)) return new Set();
  const ids = new Set<string>();
  for (const line of readFileSync(archive, 'utf8').split('\n')) {
    try {
      ids.add((JSON.parse(line) as {id: string}).id);
    } catch {
      // torn or empty
    }
  }
  return ids;
}

/** Alerts printed by killed runs: complete NDJSON lines only. */
function printedIds(stdout: string): string[] {
  return stdout
    .split('\n')
    .slice(0, -1)
    .map((line) => (JSON.parse(line) as {id: string}).id);
}

describe('detect SIGKILLed at random moments', () => {
  it(`loses no alert: after ${KILLS} kills and alerts deliver, every alert seen anywhere reached all three sinks`, {timeout: 900_000}, async () => {
    const config = configFile();
    // A first run is not killed: how long a whole run takes here sets the range of kill times.
    const started = Date.now();
    const first = startDetect(config, await snapshotFor(0));
    expect((await first.exited).code).toBe(0);
    const fullRunMs = Date.now() - started;
    expect(printedIds(first.stdout)).toHaveLength(PER_RUN);

    const printed: string[] = [...printedIds(first.stdout)];
    let kills = 0;
    let midDelivery = 0;
    let finished = 0;
    for (let run = 1; kills < KILLS && run <= 3 * KILLS; run++) {
      const snapshot = await snapshotFor(run);
      const before = hook.requests.length;
      const detect = startDetect(config, snapshot);
      let exited = false;
      void detect.exited.then(() => (exited = true));
      if (run % 2 === 0) {
        // Mid-delivery: once the first webhook has taken a random number of this run's alerts.
        const after = 1 + Math.floor(Math.random() * (PER_RUN - 1));
        const giveUp = Date.now() + 4 * fullRunMs + 10_000;
        while (!exited && hook.requests.length - before < after && Date.now() < giveUp) await delay(2);
      } else {
        await Promise.race([delay(Math.floor(Math.random() * 1.2 * fullRunMs)), detect.exited]);
      }
      if (!exited && detect.child.kill('SIGKILL')) {
        const {signal} = await detect.exited;
        if (signal === 'SIGKILL') {
          kills++;
          if (hook.requests.length > before) midDelivery++;
        } else finished++;
      } else {
        await detect.exited;
        finished++;
      }
      printed.push(...printedIds(detect.stdout));
    }
    expect(kills).toBe(KILLS);

    const recovered = await runCli(['alerts', 'deliver', '--config', config, '--format', 'json', '--no-audit'], {env, timeoutMs: 120_000});
    expect(recovered.stderr).not.toMatch(/error/i);
    expect(recovered.code).toBe(0);
    const summary = JSON.parse(recovered.stdout) as {delivered: number; spooled: number};
    expect(summary.spooled).toBe(0);

    const atHook = idsOf(hook.requests.map((r) => r.body));
    const atSiem = idsOf(siem.requests.map((r) => r.body));
    const atArchive = archivedIds();
    const seen = new Set([...atHook, ...atSiem, ...atArchive, ...printed]);
    const missing = (at: Set<string>) => [...seen].filter((id) => !at.has(id));
    expect({hook: missing(atHook), archive: missing(atArchive), siem: missing(atSiem)}).toEqual({hook: [], archive: [], siem: []});

    // Every dedupe key recorded as sent reached every sink (a key recorded but never delivered would be
    // suppressed for the whole window: lost).
    const keysAt = (bodies: readonly string[]) => new Set(bodies.map((body) => (JSON.parse(body) as {dedupe_key: string}).dedupe_key));
    const dedupe = JSON.parse(readFileSync(join(stateDir, 'dedupe.json'), 'utf8')) as {entries: Record<string, number>};
    const hookKeys = keysAt(hook.requests.map((r) => r.body));
    const siemKeys = keysAt(siem.requests.map((r) => r.body));
    expect(Object.keys(dedupe.entries).filter((key) => !hookKeys.has(key) || !siemKeys.has(key))).toEqual([]);
    // Nothing is left behind: no spool entries, no run journals.
    const spool = join(stateDir, 'spool');
    expect(existsSync(spool) ? readdirSync(spool).filter((name) => name.endsWith('.json')) : []).toEqual([]);
    expect(existsSync(join(spool, 'journal')) ? readdirSync(join(spool, 'journal')).filter((name) => name.endsWith('.json')) : []).toEqual([]);

    // The figures of this run, for the record (the kill times are random).
    console.log(
      `kill test: ${kills} SIGKILLs (${midDelivery} after the first webhook took some of the run's alerts), ${finished} runs finished first; ` +
        `${seen.size} distinct alerts, each at all three sinks; webhook requests ${hook.requests.length} / ${siem.requests.length} for ${seen.size} alerts (the rest are redeliveries); ` +
        `alerts deliver delivered ${summary.delivered}; a whole run took ${fullRunMs} ms`,
    );
    expect(seen.size).toBeGreaterThan(PER_RUN * 4);
  });
});
