// Every built-in rule and every SigmaHQ fixture rule costs time linear in the attacker's text: run over a
// snapshot of processes whose argv (and LD_PRELOAD) are written for the rules' patterns, at two sizes, each
// rule's cost grows with the text about as the text grows, never as its square. With JavaScript's
// backtracking RegExp, `encoded-payload`, `download-and-execute` and `reverse-shell-command-line` ran into
// the rule timeout on these texts.
//
// The cost is CPU time of this process, each rule run here in one sql.js database set up as a rule worker's
// (rule-database.ts), not the wall time of a worker thread: on a loaded machine a worker descheduled for a
// second made a linear rule look quadratic. A rule that grew too much is measured again, its small and big
// runs alternating in fresh databases (no text or result kept from an earlier run), and counts on its fastest
// runs. A planted quadratic rule shows the check fails when it should.
import {copyFileSync, mkdirSync} from 'node:fs';
import {basename, join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {embeddedDefaults} from '../../src/config/schema.js';
import {readsBaseline} from '../../src/detection/baseline.js';
import {snapshotFromRows} from '../../src/detection/fixture-snapshot.js';
import {listsForRun} from '../../src/detection/lists.js';
import {loadRegexEngine} from '../../src/detection/regex.js';
import {prepareRuleDatabase} from '../../src/detection/rule-database.js';
import {findRuleFiles} from '../../src/detection/rule-paths.js';
import {validateRuleFile} from '../../src/detection/rule-format.js';
import {type RuleSet, RuleManager} from '../../src/detection/rule-manager.js';
import {SqlValidator} from '../../src/detection/sql-validator.js';
import {loadSqlJs} from '../../src/storage/sqljs.js';
import {isolatedEnv, removeDir, ROOT, tempDir} from '../helpers/cli.js';
import {HOSTILE_ARGVS} from '../helpers/hostile-argv.js';

const dir = tempDir();
afterAll(() => removeDir(dir));

const SMALL = 40_000;
const GROWTH = 10;
/** Below this a rule's time is noise (GC, timer resolution): compared from here up. */
const FLOOR_MS = 25;

const EXE: Record<string, {exe: string; name: string}> = {
  bash: {exe: '/usr/bin/bash', name: 'bash'},
  sh: {exe: '/usr/bin/dash', name: 'sh'},
  perl: {exe: '/usr/bin/perl', name: 'perl'},
};

/** Hostile LD_PRELOAD values: the variable is the attacker's too (ld-preload-injection, dynamic-linker-hijack). */
const HOSTILE_PRELOADS: readonly ((n: number) => string)[] = [
  (n) => `/tmp/x.so${':'.repeat(n)}`,
  (n) => `${'/usr/lib/'.repeat(n / 9)}:/tmp/x.so`,
  (n) => `${'./'.repeat(n / 2)} /tmp/x.so`,
  (n) => `/opt/${'a/'.repeat(n / 2)}libjemalloc.so`,
];

/**
 * Each hostile argv twice: under a web server (the rules about a server's children read it) and under the
 * first copy (Sigma's ParentCommandLine reads it), plus a postgres whose title is the text (database rules
 * read their ancestors' command lines) and processes with hostile LD_PRELOAD and 40 mapped libraries each.
 */
function hostileRows(size: number): {processes: Record<string, unknown>[]; libraries: Record<string, unknown>[]} {
  const processes: Record<string, unknown>[] = [
    {pid: 10, ppid: 1, name: 'nginx', executable_path: '/usr/sbin/nginx', command_line: ['nginx: worker process'], uid: 33, tty: null},
    {
      pid: 11,
      ppid: 1,
      name: 'postgres',
      executable_path: '/usr/lib/postgresql/15/bin/postgres',
      command_line: [`postgres: ${'a '.repeat(size / 2)}`],
      uid: 105,
    },
  ];
  let pid = 100;
  for (const hostile of HOSTILE_ARGVS) {
    const {exe, name} = EXE[hostile.program] as {exe: string; name: string};
    const argv = hostile.argv(size);
    const under = pid;
    processes.push({pid: pid++, ppid: 10, name, executable_path: exe, command_line: argv, uid: 33, tty: null});
    processes.push({pid: pid++, ppid: under, name, executable_path: exe, command_line: argv, uid: 33, tty: null});
    processes.push({pid: pid++, ppid: 11, name, executable_path: exe, command_line: argv, uid: 105, tty: null});
  }
  const libraries: Record<string, unknown>[] = [];
  for (const preload of HOSTILE_PRELOADS) {
    const id = pid++;
    processes.push({
      pid: id,
      ppid: 1,
      name: 'sleep',
      executable_path: '/usr/bin/sleep',
      command_line: ['sleep', '300'],
      ld_preload: preload(size),
      ld_audit: preload(size),
    });
    for (let i = 0; i < 40; i++) libraries.push({pid: id, path: i === 0 ? '/tmp/x.so' : `/usr/lib/x86_64-linux-gnu/lib${i}.so`});
  }
  return {processes, libraries};
}

let rules: RuleSet;
const validator = new SqlValidator().withReadOnlyMode(true);

beforeAll(async () => {
  // The SigmaHQ fixture rules that compile (two are refused by design), beside the built-in pack.
  const sigma = join(dir, 'sigma');
  mkdirSync(sigma);
  for (const file of findRuleFiles(join(ROOT, 'test', 'fixtures', 'sigma'))) {
    if (validateRuleFile(file, validator).valid) copyFileSync(file, join(sigma, basename(file)));
  }
  rules = await new RuleManager({config: embeddedDefaults(), env: isolatedEnv(join(dir, 'home')), extraPaths: [sigma], validator}).loadRules();
});

/** The enabled rules; those comparing with a baseline snapshot need one (`detect --baseline`) and are left out. */
function enabledRules(): RuleSet['rules'] {
  return rules.rules.filter((r) => r.rule.enabled && !readsBaseline(r.rule.sql_query));
}

interface Measured {
  readonly ms: number;
  readonly error?: string;
}

const snapshots = new Map<number, Uint8Array>();

/** The hostile snapshot of `size` (built once per size). */
async function snapshotOf(size: number): Promise<Uint8Array> {
  let bytes = snapshots.get(size);
  if (bytes === undefined) {
    const rows = hostileRows(size);
    bytes = await snapshotFromRows(rows.processes, {tables: {process_libraries: rows.libraries}});
    snapshots.set(size, bytes);
  }
  return bytes;
}

/**
 * Each of `queries` (id → SQL) run to its last row over a fresh rule database of the hostile snapshot of
 * `size`, one after the other as a worker runs them: CPU time (user + system) of this process, or the error.
 */
async function measure(size: number, queries: ReadonlyMap<string, string>): Promise<Map<string, Measured>> {
  const SQL = await loadSqlJs();
  await loadRegexEngine();
  const db = new SQL.Database(await snapshotOf(size));
  try {
    prepareRuleDatabase(
      db,
      listsForRun(
        rules.lists,
        [...queries.values()].flatMap((sql) => validator.referencedLists(sql)),
      ),
    );
    const measured = new Map<string, Measured>();
    for (const [id, sql] of queries) {
      const start = process.cpuUsage();
      try {
        const statement = db.prepare(sql);
        try {
          while (statement.step());
        } finally {
          statement.free();
        }
        const used = process.cpuUsage(start);
        measured.set(id, {ms: (used.user + used.system) / 1000});
      } catch (error) {
        measured.set(id, {ms: 0, error: error instanceof Error ? error.message : String(error)});
      }
    }
    return measured;
  } finally {
    db.close();
  }
}

/** How much more a query cost at the big size than at the small one (the small one floored at FLOOR_MS). */
const growth = (small: Measured | undefined, big: Measured | undefined): number => (big?.ms ?? 0) / Math.max(small?.ms ?? 0, FLOOR_MS);
/** Linear: ≈ GROWTH×; quadratic ≈ GROWTH²×. The slack absorbs sql.js's own costs and a busy machine's caches. */
const LIMIT = GROWTH * 3;

/**
 * The queries whose cost grew more than linearly (with slack) from SMALL to SMALL × GROWTH, as `id: a → b
 * (ratio)`: every query measured once at each size; each suspect measured again `again` times, small and big
 * alternating in fresh databases, and judged on its fastest runs.
 */
async function superlinear(
  queries: ReadonlyMap<string, string>,
  again = 3,
): Promise<{small: Map<string, Measured>; big: Map<string, Measured>; slow: Map<string, string>}> {
  const small = await measure(SMALL, queries);
  const big = await measure(SMALL * GROWTH, queries);
  const suspects = new Map([...queries].filter(([id]) => growth(small.get(id), big.get(id)) > LIMIT));
  const slow = new Map<string, string>();
  if (suspects.size === 0) return {small, big, slow};
  const best = {small: new Map<string, number>(), big: new Map<string, number>()};
  const keep = (into: Map<string, number>, runs: Map<string, Measured>): void => {
    for (const [id, m] of runs) into.set(id, Math.min(into.get(id) ?? Number.POSITIVE_INFINITY, m.ms));
  };
  for (let i = 0; i < again; i++) {
    keep(best.small, await measure(SMALL, suspects));
    keep(best.big, await measure(SMALL * GROWTH, suspects));
  }
  for (const id of suspects.keys()) {
    const a = best.small.get(id) ?? 0;
    const b = best.big.get(id) ?? 0;
    const ratio = growth({ms: a}, {ms: b});
    if (ratio > LIMIT) slow.set(id, `${id}: ${a.toFixed(0)} ms → ${b.toFixed(0)} ms CPU (${ratio.toFixed(1)}×)`);
  }
  return {small, big, slow};
}

/**
 * A rule quadratic in the text on purpose: for every 100th character of the longest command line, the rest of
 * it copied (substr) and searched (instr). 40 KB: 400 copies of ≤ 40 KB; 400 KB: 4,000 copies of ≤ 400 KB.
 * What the check can see: a rule costing L (linear) + Q (quadratic) at SMALL costs 10·L + 100·Q at ten times
 * the text, so it is flagged (> 30×) once Q is above about 0.3·L at SMALL. Copying every 400th character put
 * this rule at that edge (37 → 921 ms on a quiet machine, 24×: missed); every 100th puts Q above L at SMALL.
 */
const PLANTED_QUADRATIC = `SELECT p.pid FROM processes p
  WHERE p.pid = (SELECT x.pid FROM processes x ORDER BY length(x.cmdline) DESC LIMIT 1)
    AND (WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 100 FROM k WHERE n + 100 <= length(p.cmdline))
         SELECT count(*) FROM k WHERE instr(substr(p.cmdline, k.n), 'no such text') > 0) = 0`;

describe('hostile argvs against every built-in rule and the SigmaHQ rules', () => {
  it('each rule runs, and its cost grows linearly with the text', {timeout: 900_000}, async () => {
    const enabled = enabledRules();
    expect(enabled.filter((r) => r.definition.format === 'sigma').length).toBeGreaterThanOrEqual(140);
    expect(enabled.length).toBeGreaterThanOrEqual(170);
    const queries = new Map(enabled.map((r) => [r.rule.id, r.rule.sql_query]));
    const {small, big, slow} = await superlinear(queries);
    for (const id of queries.keys()) {
      expect(small.get(id)?.error, id).toBeUndefined();
      expect(big.get(id)?.error, id).toBeUndefined();
    }
    const worst = [...big].sort((x, y) => y[1].ms - x[1].ms).slice(0, 5);
    console.log(`hostile argvs, ${SMALL * GROWTH} characters each: costliest rules ${worst.map(([id, m]) => `${id} ${m.ms.toFixed(0)} ms CPU`).join(', ')}`);
    expect([...slow.values()]).toEqual([]);
  });

  it('the check fails on a rule whose cost grows as the square of the text', {timeout: 300_000}, async () => {
    const {slow, small, big} = await superlinear(new Map([['planted-quadratic', PLANTED_QUADRATIC]]), 1);
    console.log(`planted quadratic rule: ${small.get('planted-quadratic')?.ms.toFixed(0)} → ${big.get('planted-quadratic')?.ms.toFixed(0)} ms CPU`);
    expect([...slow.keys()]).toEqual(['planted-quadratic']);
  });
});
