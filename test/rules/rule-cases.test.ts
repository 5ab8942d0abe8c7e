// Runs every built-in rule's own test cases (must-match and near-miss rows) and checks each rule file's
// metadata and SQL shape, so CI fails on any miss.
import {basename, dirname} from 'node:path';

import {describe, expect, it} from 'vitest';

import {ALLOWED_FUNCTIONS, completeRows, flaggedPids, loadRuleFiles, runRule, snapshotDatabase, sqlFacts} from './rule-harness.js';

const rules = loadRuleFiles();

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
});

describe.each(rules.map((rule) => [rule.id, rule] as const))('rule %s', (_id, rule) => {
  it('parses as one SELECT with allow-listed functions and known tables', () => {
    const {functions, tables} = sqlFacts(rule.sql_query);
    for (const name of functions) expect(ALLOWED_FUNCTIONS.has(name), `function ${name}`).toBe(true);
    for (const table of tables) expect(table === 'processes' || table === 'scans' || table.startsWith('list_') || /^[a-z_]+$/.test(table), table).toBe(true);
  });

  it('tags ATT&CK techniques and returns pid and name for every flagged process', async () => {
    expect(rule.tags.some((tag) => /^attack\.t\d{4}/.test(tag))).toBe(true);
    const positive = rule.tests.find((test) => test.expect.length > 0);
    if (!POSITIVE_ELSEWHERE.has(rule.id)) expect(positive, 'at least one case that must match').toBeDefined();
    expect(rule.tests.some((test) => test.expect.length === 0 || test.name.startsWith('near miss'))).toBe(true);
    const db = await snapshotDatabase(completeRows(positive?.processes ?? []));
    try {
      for (const row of runRule(db, rule.sql_query)) {
        expect(typeof row.pid).toBe('number');
        expect(typeof row.name).toBe('string');
      }
    } finally {
      db.close();
    }
  });

  it.each(rule.tests.map((test) => [test.name, test] as const))('case: %s', async (_name, test) => {
    expect(await flaggedPids(rule, test.processes)).toEqual([...test.expect].sort((a, b) => a - b));
  });
});
