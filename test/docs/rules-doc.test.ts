import {readFileSync} from 'node:fs';
import {join} from 'node:path';

import {describe, expect, it} from 'vitest';

import {readBuiltinRules, renderRulesDoc, tuningLists} from '../../src/docs/rules-doc.js';
import {ROOT} from '../helpers/cli.js';

describe('docs/rules.md', () => {
  it('keeps docs/rules.md in step with the rule files (run `npm run build && npm run docs` after changing them)', () => {
    expect(readFileSync(join(ROOT, 'docs', 'rules.md'), 'utf8')).toBe(renderRulesDoc());
  });

  it('documents every rule with its severity, ATT&CK links and tuning lists', () => {
    const doc = renderRulesDoc();
    const rules = readBuiltinRules();
    expect(rules.length).toBeGreaterThanOrEqual(18);
    for (const rule of rules) {
      expect(doc).toContain(`## ${rule.id}\n`);
      for (const list of tuningLists(rule.sql_query)) expect(doc).toContain(`\`${list}\``);
    }
    expect(doc).toContain('[T1059.004](https://attack.mitre.org/techniques/T1059/004/)');
    expect(doc).toMatch(/\| \[`reverse-shell-command-line`\]\(#reverse-shell-command-line\) \| .* \| critical \|/);
  });

  it('finds the named lists a query reads', () => {
    expect(tuningLists('SELECT 1 FROM processes p WHERE p.x NOT IN (SELECT value FROM list_b) AND EXISTS (SELECT 1 FROM list_a_1)')).toEqual(['a_1', 'b']);
  });
});
