import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {FIXTURE_RULES, writeFixtureSnapshot, writeRule} from './detection-fixtures.js';

const dir = tempDir();
const home = join(dir, 'home');
const env = isolatedEnv(home, {DAEMONEYE_DETECTION__BUILTIN_RULES: 'false'});
const snapshot = join(dir, 'snapshot.db');

beforeAll(async () => writeFixtureSnapshot(snapshot));
afterAll(() => removeDir(dir));

describe('daemoneye rules list / enable / disable', () => {
  it('lists rules with source type, and switches one off and on in the user configuration, keeping comments', async () => {
    const list = await runCli(['rules', 'list', '--rules', FIXTURE_RULES, '--format', 'json'], {env});
    expect(list.code).toBe(0);
    const rules = JSON.parse(list.stdout) as {id: string; enabled: boolean; source_type: string; severity: string; tags: string[]}[];
    expect(rules.map((r) => [r.id, r.severity, r.enabled, r.source_type])).toEqual([
      ['test-deleted-executable', 'medium', true, 'file'],
      ['test-exec-from-tmp', 'high', true, 'file'],
      ['test-shell-from-web-server', 'critical', true, 'file'],
    ]);
    const userConfig = join(home, '.config', 'daemoneye', 'config.yaml');
    const envWithRules = {...env, DAEMONEYE_DETECTION__RULES_PATHS: `["${FIXTURE_RULES}"]`};
    const disable = await runCli(['rules', 'disable', 'test-exec-from-tmp'], {env: envWithRules});
    expect(disable.code).toBe(0);
    expect(disable.stderr).toMatch(/rule test-exec-from-tmp disabled in .*config\.yaml \(created\)/);
    writeFileSync(userConfig, `# operator notes\n${readFileSync(userConfig, 'utf8')}`);
    const after = JSON.parse((await runCli(['rules', 'list', '--format', 'json'], {env: envWithRules})).stdout) as {id: string; enabled: boolean}[];
    expect(after.find((r) => r.id === 'test-exec-from-tmp')?.enabled).toBe(false);
    const detect = await runCli(['detect', '--input', snapshot], {env: envWithRules});
    expect(parseNdjson<{rule_id: string}>(detect.stdout).map((a) => a.rule_id)).not.toContain('test-exec-from-tmp');
    const enable = await runCli(['rules', 'enable', 'test-exec-from-tmp'], {env: envWithRules});
    expect(enable.code).toBe(0);
    const text = readFileSync(userConfig, 'utf8');
    expect(text).toContain('# operator notes');
    expect(text).toMatch(/enabled_rules:\n\s+- test-exec-from-tmp/);
    expect(text).not.toMatch(/disabled_rules/);
    const unknown = await runCli(['rules', 'enable', 'no-such-rule'], {env: envWithRules});
    expect(unknown.code).toBe(2);
  });

  it('rules enable writes the --config file when given', async () => {
    const file = join(dir, 'explicit.yaml');
    writeFileSync(file, '# explicit\ndetection:\n  rule_timeout_ms: 5000 # tuned\n');
    const result = await runCli(['rules', 'disable', 'test-deleted-executable', '--config', file, '--format', 'json'], {
      env: {...env, DAEMONEYE_DETECTION__RULES_PATHS: `["${FIXTURE_RULES}"]`},
    });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({file, rule_id: 'test-deleted-executable', enabled: false, changed: true});
    expect(readFileSync(file, 'utf8')).toBe('# explicit\ndetection:\n  rule_timeout_ms: 5000 # tuned\n  disabled_rules:\n    - test-deleted-executable\n');
  });
});

describe('daemoneye rules validate', () => {
  it('exit 0 for valid rules, 1 with one file:line:col line per problem, 2 for an unreadable path', async () => {
    const ok = await runCli(['rules', 'validate', FIXTURE_RULES, '--format', 'json'], {env});
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({valid: true});
    const badDir = join(dir, 'invalid');
    const bad = writeRule(badDir, 'bad.yaml', 'id: Bad Id\nname: x\nseverity: severe\nsql_query: SELECT nope FROM processes\n');
    const broken = writeRule(badDir, 'broken.yaml', 'id: b\nname: [\n');
    const result = await runCli(['rules', 'validate', badDir], {env});
    expect(result.code).toBe(1);
    const lines = result.stderr.split('\n').filter((l) => l.startsWith(badDir));
    expect(lines).toEqual([
      `${bad}:1:1: id: rule ids are lower-case letters, digits, ".", "_" and "-"`,
      expect.stringMatching(new RegExp(`^${bad}:3:1: severity: `)),
      expect.stringMatching(new RegExp(`^${bad}:4:\\d+: sql_query: .*nope`)),
      expect.stringMatching(new RegExp(`^${broken}:\\d+:\\d+: invalid YAML: `)),
    ]);
    expect(result.stderr).toMatch(/0 valid, 2 invalid/);
    const missing = await runCli(['rules', 'validate', join(dir, 'nope')], {env});
    expect(missing.code).toBe(2);
  });
});

describe('daemoneye rules test', () => {
  it('runs every case and closes with N passed, N failed; junit for CI', async () => {
    const result = await runCli(['rules', 'test', FIXTURE_RULES], {env});
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/PASS test-shell-from-web-server: bash under nginx/);
    expect(result.stderr.trim().split('\n').at(-1)).toBe('5 passed, 0 failed');
    expect(parseNdjson(result.stdout)).toHaveLength(5);
    const junit = await runCli(['rules', 'test', FIXTURE_RULES, '--format', 'junit'], {env});
    expect(junit.stdout).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="daemoneye rules" tests="5" failures="0">/);
    expect(junit.stdout).toContain('<testcase classname="test-exec-from-tmp" name="binary in /tmp is flagged"');
  });

  it('a failing case exits 1 and says what was expected; rule ids select rules', async () => {
    const failing = writeRule(
      join(dir, 'failing'),
      'wrong.yaml',
      `id: wrong-expectation\nname: Wrong\nseverity: low\nsql_query: SELECT pid FROM processes WHERE name = 'x'\ntests:\n  - name: expects the wrong pid\n    processes: [{pid: 1, name: x}, {pid: 2, name: y}]\n    expect: [2]\n`,
    );
    const result = await runCli(['rules', 'test', failing, '--format', 'junit'], {env});
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/FAIL wrong-expectation: expects the wrong pid: expected pids \[2\], got \[1\]/);
    expect(result.stderr.trim().split('\n').at(-1)).toBe('0 passed, 1 failed');
    expect(result.stdout).toContain('<failure message="expected pids [2], got [1]"/>');
    const byId = await runCli(['rules', 'test', 'test-exec-from-tmp', '--rules', FIXTURE_RULES], {env});
    expect(byId.code).toBe(0);
    expect(byId.stderr.trim().split('\n').at(-1)).toBe('2 passed, 0 failed');
  });

  it('runs rules on a given snapshot file or process rows with --input', async () => {
    const onSnapshot = await runCli(['rules', 'test', 'test-exec-from-tmp', '--rules', FIXTURE_RULES, '--input', snapshot], {env});
    expect(onSnapshot.code).toBe(0);
    expect(onSnapshot.stderr).toMatch(/PASS test-exec-from-tmp: input \(flags pids 5\)/);
    const rows = join(dir, 'rows.json');
    writeFileSync(
      rows,
      JSON.stringify([
        {pid: 70, name: 'nginx'},
        {pid: 71, name: 'sh', ppid: 70},
      ]),
    );
    const onRows = await runCli(['rules', 'test', '--rules', FIXTURE_RULES, '--input', rows, '--format', 'json'], {env});
    expect(onRows.code).toBe(0);
    const summary = JSON.parse(onRows.stdout) as {results: {rule_id: string; actual: number[]}[]};
    expect(summary.results.find((r) => r.rule_id === 'test-shell-from-web-server')?.actual).toEqual([71]);
    const badRows = writeRule(dir, 'bad-rows.json', '[{"pid": 1, "colour": "red"}]');
    const refused = await runCli(['rules', 'test', '--rules', FIXTURE_RULES, '--input', badRows], {env});
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/bad-rows\.json: unknown process column: colour/);
  });
});

describe('rules commands a CI job relies on', () => {
  it('rules test --format junit with one invalid rule file: the other rules still run, the invalid one is a failed case (exit 2)', async () => {
    const mixed = join(dir, 'mixed');
    for (const name of ['a.yaml', 'b.yaml'])
      writeRule(
        mixed,
        name,
        `id: ok-${name[0]}\nname: Ok\nseverity: low\nsql_query: SELECT pid FROM processes WHERE name = 'x'\ntests:\n  - name: flags x\n    processes: [{pid: 1, name: x}]\n    expect: [1]\n`,
      );
    const broken = writeRule(mixed, 'c.yaml', 'id: broken-rule\nname: Broken\nseverity: severe\nsql_query: SELECT pid FROM processes\n');
    const result = await runCli(['rules', 'test', mixed, '--format', 'junit'], {env});
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/<testsuites name="daemoneye rules" tests="3" failures="1">/);
    // Every suite is named by its rule id, the invalid file's too; every case has the file and line CI annotators need.
    const a = join(mixed, 'a.yaml');
    expect(result.stdout).toContain(`<testsuite name="ok-a" tests="1" failures="0" time=`);
    expect(result.stdout).toContain(`<testcase classname="ok-a" name="flags x" file="${a}" line="6"`);
    expect(result.stdout).toContain(`<testcase classname="ok-b" name="flags x" file="${join(mixed, 'b.yaml')}" line="6"`);
    expect(result.stdout).toMatch(
      new RegExp(
        `<testsuite name="broken-rule" tests="1" failures="1" time="0.000" file="${broken}">\\n    <testcase classname="broken-rule" name="rule file is valid" file="${broken}" line="3" time="0.000">\\n      <failure message="${broken}:3:1: severity: `,
      ),
    );
    // Run from the repository holding the rules, paths are relative to it (as annotators resolve them).
    const fromRepo = await runCli(['rules', 'test', 'mixed', '--format', 'junit'], {env, cwd: dir});
    expect(fromRepo.stdout).toContain('<testcase classname="ok-a" name="flags x" file="mixed/a.yaml" line="6"');
    // An invalid file whose YAML does not even parse is named by its file stem, the id by convention.
    const unparsable = join(dir, 'unparsable');
    writeRule(unparsable, 'half-typed.yaml', 'id: [unclosed\n');
    const bad = await runCli(['rules', 'test', unparsable, '--format', 'junit'], {env});
    expect(bad.stdout).toContain('<testsuite name="half-typed"');
    expect(result.stderr.trim().split('\n').at(-1)).toBe('2 passed, 1 failed (1 invalid rule file)');
  });

  it('rules validate and rules test refuse a directory holding no rules (exit 2), so a typo in CI does not pass', async () => {
    const empty = join(dir, 'empty-rules');
    writeRule(empty, 'README.md', '# not a rule\n');
    for (const command of ['validate', 'test']) {
      const result = await runCli(['rules', command, empty], {env});
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim()).toBe(
        `daemoneye: error: ${empty} holds no rule files (*.yaml, *.yml, *.sql) (check the path; rules are one YAML (or SQL with front matter) file each)`,
      );
    }
  });

  it('rules validate reports metadata, SQL and test-case problems in one pass', async () => {
    const file = writeRule(
      join(dir, 'many-problems'),
      'many.yaml',
      [
        'id: Many Problems',
        'name: Many',
        'severity: severe',
        'sql_query: SELECT pid FROM processes WHERE load_extension(name)',
        'tests:',
        '  - name: wrong expectation',
        '    processes: [{pid: 1, name: x}, {pid: 1, name: y}]',
        '    expect: [9]',
        '',
      ].join('\n'),
    );
    const result = await runCli(['rules', 'validate', file], {env});
    expect(result.code).toBe(1);
    const lines = result.stderr.split('\n').filter((l) => l.startsWith(file));
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^${file}:1:1: id: `)),
      expect.stringMatching(new RegExp(`^${file}:3:1: severity: `)),
      expect.stringMatching(new RegExp(`^${file}:4:\\d+: sql_query: .*load_extension`)),
      expect.stringMatching(new RegExp(`^${file}:7:\\d+: tests\\.0\\.processes\\.1: pid 1 appears twice in this case`)),
      expect.stringMatching(new RegExp(`^${file}:8:\\d+: tests\\.0\\.expect: pid 9 is not among the case's processes`)),
    ]);
  });
});

describe('YAML with a tab', () => {
  it('a tab inside a block scalar is one problem that names the tab (rules validate and config validate)', async () => {
    const rule = writeRule(join(dir, 'tabbed'), 'tab.yaml', 'id: tabbed\nname: T\nseverity: low\nsql_query: |\n  SELECT pid\n\tFROM processes\n');
    const result = await runCli(['rules', 'validate', rule], {env});
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n').filter((l) => l.startsWith(rule))).toEqual([
      `${rule}:6:1: invalid YAML: a tab in the indentation: YAML indents with spaces only (replace the tab with spaces)`,
    ]);
    const config = writeRule(join(dir, 'tabbed'), 'config.yaml', 'detection:\n  lists:\n    admins: |\n      alice\n\t  bob\n');
    const checked = await runCli(['config', 'validate', config, '--format', 'json'], {env});
    expect(checked.code).toBe(1);
    expect(JSON.parse(checked.stdout)).toMatchObject({
      files: [
        {
          errors: [
            {message: 'invalid YAML: a tab in the indentation: YAML indents with spaces only (replace the tab with spaces)', source: config, location: '5:1'},
          ],
        },
      ],
    });
    // The same one line as rules validate: the file named once, then the place.
    expect(checked.stderr).toContain(`${config}:5:1: invalid YAML: a tab in the indentation`);
    expect(checked.stderr.split(config)).toHaveLength(2);
  });
});

describe('rule authoring errors point at the mistake, with a suggestion, one line per mistake', () => {
  it('a typo in sql_query is reported at its line and column in the file, with the column or table it meant', async () => {
    const block = writeRule(
      join(dir, 'authoring'),
      'block.yaml',
      ['id: typo-in-block', 'name: Typo', 'severity: high', 'sql_query: |', '  SELECT pid, name', '  FROM processes', "  WHERE nmae = 'nc'", ''].join('\n'),
    );
    const plain = writeRule(
      join(dir, 'authoring'),
      'plain.yaml',
      "id: typo-in-plain\nname: Typo\nseverity: high\nsql_query: SELECT pid FROM proceses WHERE name = 'x'\n",
    );
    const quoted = writeRule(
      join(dir, 'authoring'),
      'quoted.yaml',
      `id: typo-quoted\nname: Typo\nseverity: high\nsql_query: "SELECT p.pid FROM processes p WHERE p.nmae = 'x'"\n`,
    );
    const keyword = writeRule(
      join(dir, 'authoring'),
      'keyword.yaml',
      'id: keyword-column\nname: K\nseverity: high\nsql_query: |\n  SELECT pid, start, end\n  FROM process_memory_map\n',
    );
    const result = await runCli(['rules', 'validate', join(dir, 'authoring')], {env});
    expect(result.code).toBe(1);
    const lines = result.stderr.split('\n');
    expect(lines).toContain(`${block}:7:9: sql_query: unknown column nmae (tables: processes); did you mean name?; see docs/schema.md`);
    expect(lines.find((l) => l.startsWith(plain))).toMatch(new RegExp(`^${plain}:4:28: sql_query: unknown table proceses \\(did you mean processes\\?\\)`));
    expect(lines).toContain(`${quoted}:4:51: sql_query: unknown column p.nmae (processes); did you mean p.name?`);
    expect(lines.find((l) => l.startsWith(keyword))).toMatch(/workaround: end is an SQL keyword: quote the column as "end"/);
  });

  it('a badly indented list item is one problem that says so, not six', async () => {
    const file = writeRule(
      join(dir, 'indented'),
      'indented.yaml',
      [
        'id: indented',
        'name: Indented',
        'severity: high',
        "sql_query: SELECT pid, name FROM processes WHERE name = 'nc'",
        'tests:',
        '  - name: flags nc',
        '    processes: [{pid: 1, name: nc}]',
        '    expect: [1]',
        ' - name: not sh',
        '    processes: [{pid: 2, name: sh}]',
        '    expect: []',
        '',
      ].join('\n'),
    );
    const result = await runCli(['rules', 'validate', file], {env});
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n').filter((l) => l.startsWith(file))).toEqual([
      `${file}:9:2: invalid YAML: this list item starts at column 2, the one on line 6 at column 3: items of one list start at the same column`,
    ]);
  });

  it('a command names a rule file the way the user gave its path, in every message, as rules validate does', async () => {
    // Before, `detect --rules rel` named /abs/rel/bad.yaml in its error and its details, `rules validate rel/bad.yaml` rel/bad.yaml.
    const cwd = join(dir, 'relative');
    const rel = 'my-rules';
    const bad = `${rel}/bad.yaml`;
    writeRule(join(cwd, rel), 'bad.yaml', 'id: bad-rule\nname: Bad\nseverty: low\nsql_query: SELECT pid FROM processes\n');
    const expected = [`${bad}:1:1: severity: required field is missing`, `${bad}:3:1: severty: unknown key (did you mean "severity"?)`];
    const validated = await runCli(['rules', 'validate', bad, '--format', 'json'], {env, cwd});
    expect(validated.code).toBe(1);
    expect((JSON.parse(validated.stdout) as {files: {problems: string[]}[]}).files[0]?.problems).toEqual(expected);
    for (const args of [
      ['detect', '--rules', rel, '--input', snapshot, '--format', 'json'],
      ['detect', '--rules', `./${rel}/`, '--input', snapshot, '--format', 'json'],
      ['rules', 'test', '--rules', rel, '--format', 'json'],
      ['rules', 'list', '--rules', rel, '--format', 'json'],
    ]) {
      const result = await runCli(args, {env, cwd});
      const what = `${args.join(' ')}: ${result.stderr}`;
      expect(result.code, what).toBe(2);
      const error = (JSON.parse(result.stderr) as {error: {message: string; file: string; details: string[]}}).error;
      expect(error.file, what).toBe(bad);
      expect(error.message, what).toMatch(new RegExp(`^${bad}:1:1: severity: required field is missing`));
      expect(error.details, what).toEqual(expected);
      expect(result.stderr, what).not.toContain(cwd);
    }
  });
});
