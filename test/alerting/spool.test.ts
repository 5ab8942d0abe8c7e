// The run journal: written ahead for every sink in one atomic file, folded into the spools when its run
// is gone (once, however often it is folded), left alone while its run lives, kept aside when corrupt.
import {spawnSync} from 'node:child_process';
import {existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import {AlertManager} from '../../src/alerting/alert-manager.js';
import {applyDeduplication, dedupeStatePath} from '../../src/alerting/dedupe.js';
import {loadSinkKinds} from '../../src/alerting/sinks/sink-kinds.js';
import {journalDir, readSpool, recoverJournals, spoolPath, writeJournal} from '../../src/alerting/spool.js';
import {removeDir, tempDir} from '../helpers/cli.js';
import {makeAlert, managerConfig, sink} from './helpers.js';

await loadSinkKinds();

let dir: string;
let stateDir: string;
beforeEach(() => {
  dir = tempDir();
  stateDir = join(dir, 'state');
});
afterEach(() => removeDir(dir));

/** The pid of a process that has exited (no run holds it). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {encoding: 'utf8'});
  return Number(child.stdout);
}

const io = {now: Date.now(), warn: () => undefined, staleAfterMs: 60_000};
const ids = (path: string) => readSpool(path, () => undefined).map((entry) => [entry.alert.id, entry.claimed_by]);

describe('run journal', () => {
  it("a dead run's journal is folded into each sink's spool, unclaimed, and removed; folding again adds nothing", async () => {
    const [a, b, c] = [makeAlert(), makeAlert({severity: 'low'}), makeAlert()];
    const pid = deadPid();
    const path = writeJournal(
      stateDir,
      new Map([
        ['hook', [a!, c!]],
        ['archive', [a!, b!, c!]],
        ['empty', []],
      ]),
      {now: 1, pid},
    );
    expect(path).toBe(join(journalDir(stateDir), `${pid}-1.json`));
    expect(await recoverJournals(stateDir, io)).toEqual({folded: 1, problems: []});
    expect(existsSync(path!)).toBe(false);
    expect(ids(spoolPath(stateDir, 'hook'))).toEqual([
      [a!.id, null],
      [c!.id, null],
    ]);
    expect(ids(spoolPath(stateDir, 'archive'))).toEqual([
      [a!.id, null],
      [b!.id, null],
      [c!.id, null],
    ]);
    expect(existsSync(spoolPath(stateDir, 'empty'))).toBe(false);
    // The same journal again (a second run folded it meanwhile): nothing is added twice.
    writeJournal(stateDir, new Map([['hook', [a!, c!]]]), {now: 2, pid});
    expect(await recoverJournals(stateDir, io)).toEqual({folded: 1, problems: []});
    expect(ids(spoolPath(stateDir, 'hook'))).toHaveLength(2);
  });

  it('nothing to write is no journal', () => {
    expect(writeJournal(stateDir, new Map([['hook', []]]), {now: 1})).toBeUndefined();
    expect(existsSync(journalDir(stateDir))).toBe(false);
  });

  it('the journal of a live run is left to it', async () => {
    const path = writeJournal(stateDir, new Map([['hook', [makeAlert()]]]), {now: Date.now(), pid: process.ppid});
    expect(await recoverJournals(stateDir, io)).toEqual({folded: 0, problems: []});
    expect(existsSync(path!)).toBe(true);
    // …unless it is older than the stale limit (its pid was reused).
    expect(await recoverJournals(stateDir, {...io, now: Date.now() + 120_000})).toEqual({folded: 1, problems: []});
  });

  it('a corrupt journal is kept aside and said; a journal naming a sink that is not a file name is refused and kept', async () => {
    mkdirSync(journalDir(stateDir), {recursive: true, mode: 0o700});
    writeFileSync(join(journalDir(stateDir), `${deadPid()}-5.json`), '{"version": 1, "pid"', {mode: 0o600});
    const warnings: string[] = [];
    expect(await recoverJournals(stateDir, {...io, warn: (m: string) => warnings.push(m)})).toEqual({folded: 0, problems: []});
    expect(warnings.join('\n')).toMatch(/is corrupt .*kept as .*corrupt-/u);
    expect(readdirSync(journalDir(stateDir)).some((name) => name.includes('.corrupt-'))).toBe(true);

    const hostile = join(journalDir(stateDir), `${deadPid()}-6.json`);
    const planted = makeAlert();
    writeFileSync(hostile, JSON.stringify({version: 1, pid: 1, created: 6, sinks: {'../../escape': [planted.id]}, alerts: [planted]}), {mode: 0o600});
    const result = await recoverJournals(stateDir, io);
    expect(result.folded).toBe(0);
    expect(result.problems.join('\n')).toMatch(/names a sink "..\/..\/escape" that is not a file name/u);
    expect(existsSync(hostile)).toBe(true);
  });

  it('a journal that is a symbolic link is refused (STATE_UNSAFE), never read', async () => {
    mkdirSync(journalDir(stateDir), {recursive: true, mode: 0o700});
    writeFileSync(join(dir, 'elsewhere.json'), '{}');
    symlinkSync(join(dir, 'elsewhere.json'), join(journalDir(stateDir), `${deadPid()}-7.json`));
    const result = await recoverJournals(stateDir, io);
    expect(result.problems.join('\n')).toMatch(/is a symbolic link/u);
  });

  it('AlertManager: alerts of a run killed right after its journal reach every sink on the next run', async () => {
    const alert = makeAlert();
    writeJournal(
      stateDir,
      new Map([
        ['one', [alert]],
        ['two', [alert]],
      ]),
      {now: Date.now(), pid: deadPid()},
    );
    const config = managerConfig(stateDir, [
      sink({name: 'one', type: 'file', path: join(dir, 'one.ndjson')}),
      sink({name: 'two', type: 'file', path: join(dir, 'two.ndjson')}),
    ]);
    const result = await new AlertManager(config).deliverSpool();
    expect(result).toMatchObject({delivered: 2, spooled: 0, lost: 0, state_errors: []});
    expect(readdirSync(journalDir(stateDir))).toEqual([]);
  });
});

describe('deduplication that cannot write its state', () => {
  it('an unsafe state file (a link): every alert passes, nothing is recorded, the problem is said; beforeRecord still runs first', async () => {
    mkdirSync(stateDir, {recursive: true, mode: 0o700});
    writeFileSync(join(dir, 'target.json'), '{"version":1,"entries":{}}');
    symlinkSync(join(dir, 'target.json'), dedupeStatePath(stateDir));
    const seen: number[] = [];
    const outcome = await applyDeduplication(stateDir, [makeAlert(), makeAlert()], {
      windowMinutes: 60,
      now: Date.now(),
      warn: () => undefined,
      beforeRecord: (passed) => seen.push(passed.length),
    });
    expect(seen).toEqual([1]);
    expect(outcome.passed).toHaveLength(1);
    expect(outcome.suppressed).toHaveLength(1);
    expect(outcome.problems.join('\n')).toMatch(/is a symbolic link/u);
  });
});
