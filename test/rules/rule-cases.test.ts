// Every built-in rule's own test cases (must-match rows and near misses), run by the engine's test runner
// (the code behind `daemoneye rules test`), plus the stricter metadata the built-in pack promises: ATT&CK
// tags, references, false positives, a matching case and a near miss, one file per rule under its category.
import {basename, dirname} from 'node:path';

import {beforeAll, describe, expect, it} from 'vitest';

import {loadConfig} from '../../src/config/index.js';
import type {RuleCaseResult, RuleTestSummary} from '../../src/detection/rule-tests.js';
import {testRules, validateRules} from '../../src/app/rules.js';
import {RULES_DIR, loadRuleFiles} from './builtin-rules.js';

/** The reads here are of files this test wrote: no warning is expected, none is checked. */
const noWarning = (): void => undefined;

const rules = loadRuleFiles();
const config = loadConfig({systemConfigPath: null, userConfigPath: null, env: {}}).values;

/** Rules whose matching case needs configured data; their positive cases live in ioc-and-preload.test.ts. */
const POSITIVE_ELSEWHERE = new Set(['ioc-hash-match']);

describe('the built-in rule pack', () => {
  it('has unique ids, one file per rule, named after its id and filed under its category', () => {
    expect(rules.length).toBeGreaterThanOrEqual(18);
    expect(new Set(rules.map((rule) => rule.id)).size).toBe(rules.length);
    for (const rule of rules) {
      expect(basename(rule.path), rule.path).toBe(`${rule.id}.yaml`);
      expect(basename(dirname(rule.path)), rule.path).toBe(rule.category);
    }
  });

  it('passes the engine validator (`daemoneye rules validate`)', async () => {
    const report = await validateRules({config, env: {}}, [RULES_DIR]);
    expect(report.files.flatMap((file) => file.problems)).toEqual([]);
    expect(report.files).toHaveLength(rules.length);
  });
});

describe('every rule case, run by the engine', () => {
  let summary: RuleTestSummary;
  beforeAll(async () => {
    summary = await testRules({onWarning: noWarning, config, env: {}, targets: [RULES_DIR]});
  });

  it('runs every case of every rule', () => {
    expect(summary.results).toHaveLength(rules.reduce((sum, rule) => sum + rule.tests.length, 0));
  });

  it.each(rules.map((rule) => [rule.id, rule] as const))('%s: metadata, a matching case, a near miss, and every case passes', (_id, rule) => {
    expect(rule.tags.some((tag) => /^attack\.t\d{4}/.test(tag))).toBe(true);
    if (!POSITIVE_ELSEWHERE.has(rule.id)) expect(rule.tests.some((test) => test.expect.length > 0)).toBe(true);
    expect(rule.tests.some((test) => test.expect.length === 0 || test.name.startsWith('near miss'))).toBe(true);
    const failures = summary.results
      .filter((result: RuleCaseResult) => result.rule_id === rule.id && !result.passed)
      .map(
        (result) =>
          `${result.case}: expected [${(result.expected ?? []).join(', ')}], got [${result.actual.join(', ')}]${result.error === null ? '' : ` (${result.error})`}`,
      );
    expect(failures).toEqual([]);
    expect(summary.results.filter((result) => result.rule_id === rule.id)).toHaveLength(rule.tests.length);
  });
});
