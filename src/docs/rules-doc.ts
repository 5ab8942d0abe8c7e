// docs/rules.md: the reference of the built-in rule pack, generated from the rule files under rules/ so the
// page and the rules cannot disagree (a test compares the committed page with this rendering).
import {readdirSync, readFileSync} from 'node:fs';
import {join, relative} from 'node:path';

import {parse as parseYaml} from 'yaml';

import {PACKAGE_ROOT} from '../version.js';

interface RuleDocEntry {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly severity: string;
  readonly category: string;
  readonly tags: readonly string[];
  readonly references: readonly string[];
  readonly false_positives: readonly string[];
  readonly sql_query: string;
  readonly enabled: boolean;
  readonly tests: readonly unknown[];
  readonly file: string;
}

const SEVERITY_ORDER = ['critical', 'high', 'medium', 'low', 'informational'];

function ruleFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...ruleFiles(path));
    else if (entry.name.endsWith('.yaml') || entry.name.endsWith('.yml')) files.push(path);
  }
  return files.sort();
}

/** The built-in rules as the docs need them (the files are validated by `rules validate` and the tests). */
export function readBuiltinRules(rulesDir = join(PACKAGE_ROOT, 'rules')): RuleDocEntry[] {
  return ruleFiles(rulesDir).map((file) => {
    const data = parseYaml(readFileSync(file, 'utf8')) as Partial<RuleDocEntry>;
    return {
      id: String(data.id),
      name: String(data.name),
      description: String(data.description ?? '').trim(),
      severity: String(data.severity),
      category: String(data.category ?? ''),
      tags: data.tags ?? [],
      references: data.references ?? [],
      false_positives: data.false_positives ?? [],
      sql_query: String(data.sql_query ?? ''),
      enabled: data.enabled !== false,
      tests: data.tests ?? [],
      file: relative(PACKAGE_ROOT, file),
    };
  });
}

/** Named lists a query reads (`list_<name>` tables). */
export function tuningLists(sql: string): string[] {
  return [...new Set([...sql.matchAll(/\blist_([a-z0-9_]+)\b/g)].map((match) => match[1] as string))].sort();
}

/** `attack.t1059.004` → a link to the ATT&CK page; tactic tags stay plain text. */
function attackLink(tag: string): string | null {
  const match = /^attack\.t(\d{4})(?:\.(\d{3}))?$/.exec(tag);
  if (match === null) return null;
  const id = `T${match[1]}${match[2] === undefined ? '' : `.${match[2]}`}`;
  const url = `https://attack.mitre.org/techniques/T${match[1]}/${match[2] === undefined ? '' : `${match[2]}/`}`;
  return `[${id}](${url})`;
}

const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

export function renderRulesDoc(rules: readonly RuleDocEntry[] = readBuiltinRules()): string {
  const sorted = [...rules].sort(
    (a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity) || a.category.localeCompare(b.category) || a.id.localeCompare(b.id),
  );
  const techniques = (rule: RuleDocEntry) =>
    rule.tags
      .map(attackLink)
      .filter((link): link is string => link !== null)
      .join(', ');
  const lists = (rule: RuleDocEntry) =>
    tuningLists(rule.sql_query)
      .map((name) => `\`${name}\``)
      .join(', ');
  const lines = [
    '# Built-in detection rules',
    '',
    '<!-- Generated from rules/**/*.yaml by `npm run docs`; do not edit by hand. -->',
    '',
    `DaemonEye ships ${rules.length} rules, one YAML file each under \`rules/<category>/\`. Every rule has test cases that`,
    'must match and near misses that must not (`daemoneye rules test`), and the whole pack raises no high or critical',
    'alert on a busy production server (test/fixtures/busy-server). What a point-in-time snapshot cannot see, and the',
    'event sources that complement it, is in [detection-limits.md](detection-limits.md).',
    '',
    'Severity follows harm and confidence: `critical` is an attacker at work beyond reasonable doubt, `high` is a',
    'strong indicator worth waking someone for, `medium` wants a look today, `low` is context for an investigation.',
    '',
    '**Tuning is by data, never by editing a rule.** Each rule with known false positives reads an allow-list, a',
    'named list that is empty by default. Fill it in the configuration:',
    '',
    '```yaml',
    'detection:',
    '  lists:',
    '    tmp_exec_allow:',
    "      values: ['/tmp/ci-runner-%']        # LIKE patterns where the rule says so, exact values otherwise",
    '    ioc_sha256:',
    '      file: /etc/daemoneye/ioc-sha256.txt  # one value per line, # comments',
    '```',
    '',
    'Switch a rule off with `daemoneye rules disable ID`.',
    '',
    '## Summary',
    '',
    '| id | name | severity | ATT&CK | tuning lists |',
    '|---|---|---|---|---|',
    ...sorted.map((rule) => `| [\`${rule.id}\`](#${rule.id}) | ${cell(rule.name)} | ${rule.severity} | ${techniques(rule)} | ${lists(rule) || '—'} |`),
    '',
  ];
  for (const rule of sorted) {
    lines.push(
      `## ${rule.id}`,
      '',
      `**${rule.name}** — severity **${rule.severity}**, category \`${rule.category}\`${rule.enabled ? '' : ', disabled by default'}. File: \`${rule.file}\`.`,
      '',
      rule.description,
      '',
      `- ATT&CK: ${techniques(rule) || '—'} (tags: ${rule.tags.map((tag) => `\`${tag}\``).join(', ')})`,
      `- Tuning lists: ${lists(rule) || 'none'}`,
      `- Test cases: ${rule.tests.length}`,
      '',
      'False positives:',
      '',
      ...rule.false_positives.map((text) => `- ${text}`),
      '',
      'References:',
      '',
      ...rule.references.map((url) => `- <${url}>`),
      '',
    );
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
