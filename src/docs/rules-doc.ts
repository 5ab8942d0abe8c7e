// docs/rules.md: the reference of the built-in rule pack, generated from the rule files under rules/ so the
// page and the rules cannot disagree (a test compares the committed page with this rendering). Files are read
// through the rule-format seam, so a Sigma rule in the pack is documented like any other.
import {readdirSync, readFileSync} from 'node:fs';
import {join, relative} from 'node:path';

import {findRuleFiles} from '../detection/rule-paths.js';
import {validateRuleText} from '../detection/rule-format.js';
import {SqlValidator} from '../detection/sql-validator.js';
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
  readonly format: string;
}

const SEVERITY_ORDER = ['critical', 'high', 'medium', 'low', 'informational'];

/** The built-in rules as the docs need them, in any rule format; an invalid file throws (the docs must not describe it). */
export function readBuiltinRules(rulesDir = join(PACKAGE_ROOT, 'rules')): RuleDocEntry[] {
  const validator = new SqlValidator().withReadOnlyMode(true);
  return findRuleFiles(rulesDir).map((file) => {
    const result = validateRuleText(file, readFileSync(file, 'utf8'), validator);
    if (result.rule === undefined) throw new Error(`cannot document ${file}: ${result.problems.join('; ')}`);
    const rule = result.rule;
    return {
      id: rule.id,
      name: rule.name,
      description: (rule.description ?? '').trim(),
      severity: rule.severity,
      category: rule.category ?? '',
      tags: rule.tags,
      references: rule.references,
      false_positives: rule.false_positives,
      sql_query: rule.sql_query,
      enabled: rule.enabled,
      tests: rule.tests,
      file: relative(PACKAGE_ROOT, file),
      format: rule.format,
    };
  });
}

/** A list shipped with the pack (`rules/lists/<name>.txt`): its header comment and its values. */
export interface SharedListDoc {
  readonly name: string;
  readonly comment: string;
  readonly values: readonly string[];
}

/** The pack's shared definitions: every `rules/lists/*.txt`, sorted by name. */
export function readSharedLists(rulesDir = join(PACKAGE_ROOT, 'rules')): SharedListDoc[] {
  const dir = join(rulesDir, 'lists');
  let entries: string[];
  try {
    entries = readdirSync(dir).filter((entry) => entry.endsWith('.txt') && !entry.startsWith('.'));
  } catch {
    return [];
  }
  return entries.sort().map((entry) => {
    const lines = readFileSync(join(dir, entry), 'utf8').split(/\r?\n/);
    const comment = lines
      .filter((line) => line.startsWith('#'))
      .map((line) => line.replace(/^#\s?/, ''))
      .join('\n')
      .trim();
    const values = lines.map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
    return {name: entry.slice(0, -'.txt'.length), comment, values};
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

export function renderRulesDoc(rules: readonly RuleDocEntry[] = readBuiltinRules(), shared: readonly SharedListDoc[] = readSharedLists()): string {
  const sharedNames = new Set(shared.map((list) => list.name));
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
      .filter((name) => !sharedNames.has(name))
      .map((name) => `\`${name}\``)
      .join(', ');
  const sharedOf = (rule: RuleDocEntry) =>
    tuningLists(rule.sql_query)
      .filter((name) => sharedNames.has(name))
      .map((name) => `[\`${name}\`](#list-${name})`)
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
    'strong indicator worth waking someone for, `medium` wants a look today, `low` is context for an investigation,',
    "`informational` (Sigma's level for enrichment rules) raises no alert on a sink by default.",
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
    'Notions several rules share — shells, interpreters, web servers, temp directories, directories that hold no',
    "programs, the shape of a kernel thread's name — are defined once, as lists shipped with the pack",
    '(`rules/lists/<name>.txt`, read by rules as `list_<name>`; see [Shared definitions](#shared-definitions)), and the',
    "executable's base name is the column `exe_name`. Adding a value through `detection.lists.<name>` extends the",
    'definition for every rule that uses it.',
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
      `**${rule.name}** — severity **${rule.severity}**, category \`${rule.category}\`${rule.enabled ? '' : ', disabled by default'}${rule.format === 'daemoneye' ? '' : `, ${rule.format} format`}. File: \`${rule.file}\`.`,
      '',
      rule.description,
      '',
      `- ATT&CK: ${techniques(rule) || '—'} (tags: ${rule.tags.map((tag) => `\`${tag}\``).join(', ')})`,
      `- Tuning lists: ${lists(rule) || 'none'}`,
      ...(sharedOf(rule) === '' ? [] : [`- Shared definitions: ${sharedOf(rule)}`]),
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
  lines.push('## Shared definitions', '', 'The lists shipped in `rules/lists/`, each with the comment that says what it holds and how it was derived.', '');
  for (const list of shared) {
    lines.push(
      `### list ${list.name}`,
      '',
      list.comment,
      '',
      `Used by: ${
        sorted
          .filter((rule) => tuningLists(rule.sql_query).includes(list.name))
          .map((rule) => `[\`${rule.id}\`](#${rule.id})`)
          .join(', ') || 'no built-in rule'
      }.`,
      '',
      `Values: ${list.values.map((value) => `\`${value}\``).join(', ')}`,
      '',
    );
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
