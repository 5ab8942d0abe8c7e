import {writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {validateRuleFile, validateRuleText} from '../../src/detection/rule-format.js';
import {removeDir, ROOT, tempDir} from '../helpers/cli.js';

const dir = tempDir();
afterAll(() => removeDir(dir));

const GOOD = `id: good-rule
name: Good rule
severity: high
sql_query: SELECT pid, name FROM processes WHERE name = 'x'
tests:
  - name: flags x
    processes: [{pid: 1, name: x}, {pid: 2}]
    expect: [1]
`;

describe('rule files', () => {
  it('reads a YAML rule with defaults', () => {
    const result = validateRuleText('good.yaml', GOOD);
    expect(result.problems).toEqual([]);
    expect(result.rule).toMatchObject({id: 'good-rule', version: 1, enabled: true, tags: [], category: null, description: null});
  });

  it('reads the fixture rules, including a .sql rule with front matter', () => {
    const result = validateRuleFile(join(ROOT, 'test/fixtures/rules/defense-evasion/deleted-executable.sql'));
    expect(result.problems).toEqual([]);
    expect(result.rule?.sql_query).toMatch(/^SELECT pid, name, executable_path/);
    expect(result.rule?.group_by).toEqual(['executable_path']);
  });

  it('a pattern the linear-time engine cannot run: the line and column of the construct itself', () => {
    const yamlRule = [
      'id: lookaround',
      'name: Lookaround',
      'severity: low',
      'sql_query: |',
      '  SELECT pid, name',
      '  FROM processes',
      "  WHERE cmdline REGEXP 'it''s (?=x)'",
      "    AND regexp_flags('(a)\\1', 'i', name)",
      '',
    ].join('\n');
    expect(validateRuleText('la.yaml', yamlRule).problems).toEqual([
      expect.stringMatching(/^la\.yaml:7:31: sql_query: the pattern 'it''s \(\?=x\)': lookahead `\(\?=…\)` at character 6 of the pattern is not supported: /),
      expect.stringMatching(/^la\.yaml:8:26: sql_query: the pattern '\(a\)\\1': backreference `\\1` at character 4 of the pattern/),
    ]);
    const sqlRule = [
      '/* ---',
      'id: la2',
      'name: Lookbehind',
      'severity: low',
      '--- */',
      '',
      "SELECT pid FROM processes WHERE name REGEXP '\\bfoo(?<!bar)'",
      '',
    ].join('\n');
    expect(validateRuleText('la.sql', sqlRule).problems).toEqual([expect.stringMatching(/^la\.sql:7:51: sql_query: the pattern .* negative lookbehind /)]);
    // A one-line quoted scalar without escapes is the file's text: the problem points at the construct.
    const quoted = 'id: q\nname: Q\nseverity: low\nsql_query: "SELECT pid FROM processes WHERE name REGEXP \'a(?=b)\'"\n';
    expect(validateRuleText('q.yaml', quoted).problems).toEqual([expect.stringMatching(/^q\.yaml:4:59: sql_query: the pattern 'a\(\?=b\)': lookahead/)]);
    // One with an escape is not (the YAML rewrote it): the problem points at the value.
    const escaped = 'id: q\nname: Q\nseverity: low\nsql_query: "SELECT pid FROM processes WHERE name REGEXP \'a(?=b)\\\\t\'"\n';
    expect(validateRuleText('q.yaml', escaped).problems).toEqual([expect.stringMatching(/^q\.yaml:4:12: sql_query: the pattern 'a\(\?=b\)/)]);
  });

  it('a timeout_ms past what Node timers take is refused at its line, not shortened to 1 ms', () => {
    const result = validateRuleText('t.yaml', GOOD.replace('severity: high\n', 'severity: high\ntimeout_ms: 2147483648\n'));
    expect(result.problems).toEqual([expect.stringMatching(/^t\.yaml:4:1: timeout_ms: .*at most 2147483647 ms/)]);
  });

  it('malformed YAML: one line naming file, line and column', () => {
    const result = validateRuleText('bad.yaml', 'id: x\nname: [unclosed\nseverity: high\n');
    expect(result.valid).toBe(false);
    expect(result.problems[0]).toMatch(/^bad\.yaml:\d+:\d+: invalid YAML: /);
  });

  it('missing fields and a bad severity: one line per problem', () => {
    const result = validateRuleText('missing.yaml', 'id: some-rule\nseverity: severe\n');
    expect(result.problems).toEqual([
      'missing.yaml:1:1: name: required field is missing',
      expect.stringMatching(/^missing\.yaml:2:1: severity: .*"low"\|"medium"\|"high"\|"critical"/),
      'missing.yaml:1:1: sql_query: required field is missing',
    ]);
  });

  it('unknown keys, bad tags and refused SQL are located', () => {
    const text = `id: r\nname: R\nseverity: low\ntags: [Attack.T1059]\nsql_query: |\n  SELECT pid FROM processes;\n  DROP TABLE processes\n`;
    const result = validateRuleText('r.yaml', text);
    // Every problem in one pass: the metadata problem does not hide the SQL one.
    expect(result.problems).toEqual([
      expect.stringMatching(/^r\.yaml:4:8: tags\.0: tags are lower case/),
      expect.stringMatching(/^r\.yaml:5:12: sql_query: exactly one statement is allowed/),
      expect.stringMatching(/^r\.yaml:5:12: sql_query: only SELECT or WITH … SELECT is allowed, not DROP/),
    ]);
    const sql = validateRuleText('s.yaml', text.replace('Attack.T1059', 'attack.t1059').replace('name: R', 'name: R\nbogus: 1'));
    expect(sql.problems).toEqual([
      // At the key's own line and column (it was 1:1, the mapping's), with no guess for a word nothing is near.
      's.yaml:3:1: bogus: unknown key',
      expect.stringMatching(/^s\.yaml:\d+:12: sql_query: exactly one statement/),
      expect.stringMatching(/^s\.yaml:\d+:12: sql_query: only SELECT/),
    ]);
    // A misspelt key: its own place and the nearest key a rule has, at the top level and inside a test case.
    const misspelt = validateRuleText('m.yaml', `${GOOD.replace('severity:', 'severty:')}`);
    expect(misspelt.problems).toContain(
      `m.yaml:${GOOD.split('\n').findIndex((line) => line.startsWith('severity:')) + 1}:1: severty: unknown key (did you mean "severity"?)`,
    );
    const nested = validateRuleText('n.yaml', GOOD.replace('processes:', 'procesess:'));
    expect(nested.problems).toContainEqual(expect.stringMatching(/^n\.yaml:\d+:\d+: tests\.0\.procesess: unknown key \(did you mean "processes"\?\)$/));
    const refused = validateRuleText('q.yaml', text.replace('Attack.T1059', 'attack.t1059'));
    expect(refused.problems[0]).toMatch(/^q\.yaml:5:12: sql_query: exactly one statement is allowed/);
    expect(refused.sqlErrors.map((e) => e.reason)).toContain('multiple_statements');
  });

  it('test-case rows with unknown columns or pids not in the case are problems', () => {
    const text = GOOD.replace('{pid: 2}', '{pid: 2, colour: red}').replace('expect: [1]', 'expect: [1, 9]');
    const result = validateRuleText('t.yaml', text);
    expect(result.problems).toEqual([
      expect.stringMatching(/^t\.yaml:7:36: tests\.0\.processes\.1: unknown process column: colour/),
      expect.stringMatching(/^t\.yaml:8:\d+: tests\.0\.expect: pid 9 is not among the case's processes/),
    ]);
  });

  it('a .sql file needs its front matter, and keeps SQL out of it', () => {
    const bare = join(dir, 'bare.sql');
    writeFileSync(bare, 'SELECT pid FROM processes\n');
    expect(validateRuleFile(bare).problems[0]).toMatch(/bare\.sql:1:1: a \.sql rule must start with a YAML front-matter comment/);
    const twice = join(dir, 'twice.sql');
    writeFileSync(twice, '/* ---\nid: t\nname: T\nseverity: low\nsql_query: SELECT 1\n--- */\nSELECT pid FROM processes\n');
    expect(validateRuleFile(twice).problems).toEqual([expect.stringMatching(/twice\.sql:5:1: sql_query: a \.sql rule keeps its SQL after the front matter/)]);
    const badSql = join(dir, 'bad-sql.sql');
    writeFileSync(badSql, '/* ---\nid: t\nname: T\nseverity: low\n--- */\nSELECT nope FROM processes\n');
    expect(validateRuleFile(badSql).problems).toEqual([expect.stringMatching(/bad-sql\.sql:6:8: sql_query: unknown column nope/)]);
  });
});
