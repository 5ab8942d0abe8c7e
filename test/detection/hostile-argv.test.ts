// Every built-in rule and every SigmaHQ fixture rule costs time linear in the attacker's text: run over a
// snapshot of processes whose argv (and LD_PRELOAD) are written for the rules' patterns, at two sizes, each
// rule's query time grows with the text about as the text grows, never as its square. With JavaScript's
// backtracking RegExp, `encoded-payload`, `download-and-execute` and `reverse-shell-command-line` ran into
// the rule timeout on these texts.
import {copyFileSync, mkdirSync} from 'node:fs';
import {basename, join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {embeddedDefaults} from '../../src/config/schema.js';
import {readsBaseline} from '../../src/detection/baseline.js';
import {DetectionEngine} from '../../src/detection/engine.js';
import {snapshotFromRows} from '../../src/detection/fixture-snapshot.js';
import {findRuleFiles} from '../../src/detection/rule-paths.js';
import {validateRuleFile} from '../../src/detection/rule-format.js';
import {type RuleSet, RuleManager} from '../../src/detection/rule-manager.js';
import {type DetectionResult, runRulesOnSnapshot} from '../../src/detection/rules-on-snapshot.js';
import {SqlValidator} from '../../src/detection/sql-validator.js';
import {isolatedEnv, removeDir, ROOT, tempDir} from '../helpers/cli.js';
import {HOSTILE_ARGVS} from '../helpers/hostile-argv.js';

const dir = tempDir();
const engine = new DetectionEngine({workers: 2});
afterAll(async () => {
  await engine.close();
  removeDir(dir);
});

const SMALL = 40_000;
const GROWTH = 10;
/** Below this a rule's time is noise (worker scheduling, GC): compared from here up. */
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

beforeAll(() => {
  // The SigmaHQ fixture rules that compile (two are refused by design), beside the built-in pack.
  const sigma = join(dir, 'sigma');
  mkdirSync(sigma);
  for (const file of findRuleFiles(join(ROOT, 'test', 'fixtures', 'sigma'))) {
    if (validateRuleFile(file, validator).valid) copyFileSync(file, join(sigma, basename(file)));
  }
  rules = new RuleManager({config: embeddedDefaults(), env: isolatedEnv(join(dir, 'home')), extraPaths: [sigma], validator}).loadRules();
});

/** The enabled rules; those comparing with a baseline snapshot need one (`detect --baseline`) and are left out. */
function enabledRules(): RuleSet['rules'] {
  return rules.rules.filter((r) => r.rule.enabled && !readsBaseline(r.rule.sql_query));
}

/** Each rule's result over the hostile snapshot of `size`; `only` narrows the rules, `times` keeps each rule's fastest run. */
async function run(size: number, only?: ReadonlySet<string>, times = 1): Promise<Map<string, DetectionResult>> {
  const rows = hostileRows(size);
  const snapshot = await snapshotFromRows(rows.processes, {tables: {process_libraries: rows.libraries}});
  const best = new Map<string, DetectionResult>();
  for (let i = 0; i < times; i++) {
    const result = await runRulesOnSnapshot({
      engine,
      validator,
      rules: enabledRules().filter((r) => only === undefined || only.has(r.rule.id)),
      lists: rules.lists,
      snapshot,
      // Generous on purpose: the assertion is on how time grows, and a rule cut short would hide it.
      config: {scanId: 1, timeout: 600_000, ruleTimeoutMs: 300_000, keyFields: ['rule_id', 'process_name']},
    });
    for (const r of result.results) {
      const known = best.get(r.rule_id);
      if (known === undefined || (r.status === 'ok' && r.execution_time_ms < known.execution_time_ms)) best.set(r.rule_id, r);
    }
  }
  return best;
}

/** Rules whose time grew more than linearly (with slack) from `small` to `big`, as `id: a → b (ratio)`. */
function superlinear(small: Map<string, DetectionResult>, big: Map<string, DetectionResult>): Map<string, string> {
  const slow = new Map<string, string>();
  for (const [id, b] of big) {
    const a = small.get(id);
    const ratio = b.execution_time_ms / Math.max(a?.execution_time_ms ?? 0, FLOOR_MS);
    // Linear: ≈ 10×; quadratic ≈ 100×. The slack absorbs a loaded machine and sql.js's own costs.
    if (ratio > GROWTH * 3) slow.set(id, `${id}: ${a?.execution_time_ms} ms → ${b.execution_time_ms} ms (${ratio.toFixed(1)}×)`);
  }
  return slow;
}

describe('hostile argvs against every built-in rule and the SigmaHQ rules', () => {
  it('each rule runs, and its time grows linearly with the text', {timeout: 900_000}, async () => {
    const enabled = enabledRules();
    expect(enabled.filter((r) => r.definition.format === 'sigma').length).toBeGreaterThanOrEqual(140);
    expect(enabled.length).toBeGreaterThanOrEqual(170);
    const small = await run(SMALL);
    const big = await run(SMALL * GROWTH);
    for (const {rule} of enabled) {
      expect(small.get(rule.id)?.status, `${rule.id}: ${small.get(rule.id)?.error ?? ''}`).toBe('ok');
      expect(big.get(rule.id)?.status, `${rule.id}: ${big.get(rule.id)?.error ?? ''}`).toBe('ok');
    }
    const worst = [...big.values()].sort((x, y) => y.execution_time_ms - x.execution_time_ms).slice(0, 5);
    console.log(`hostile argvs, ${SMALL * GROWTH} characters each: slowest rules ${worst.map((r) => `${r.rule_id} ${r.execution_time_ms} ms`).join(', ')}`);
    // One run of every rule finds the suspects; each is measured again alone (fastest of three) before it counts.
    const suspects = new Set(superlinear(small, big).keys());
    if (suspects.size === 0) return;
    const again = superlinear(await run(SMALL, suspects, 3), await run(SMALL * GROWTH, suspects, 3));
    expect([...again.values()]).toEqual([]);
  });
});
