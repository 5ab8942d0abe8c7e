import {cpSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {embeddedDefaults} from '../../src/config/schema.js';
import {setRuleEnabled} from '../../src/detection/config-edit.js';
import {snapshotFromRows} from '../../src/detection/fixture-snapshot.js';
import {listsForRun, loadNamedLists, parseListText} from '../../src/detection/lists.js';
import {prepareRuleDatabase} from '../../src/detection/rule-database.js';
import {findRuleFiles, RuleManager} from '../../src/detection/rule-manager.js';
import {loadSqlJs} from '../../src/storage/sqljs.js';
import {MAX_LIST_ENTRIES} from '../../src/util/read-file.js';
import {isolatedEnv, removeDir, ROOT, tempDir} from '../helpers/cli.js';
import {makeFifo} from '../helpers/hostile-files.js';

const FIXTURES = join(ROOT, 'test/fixtures/rules');
const dir = tempDir();
afterAll(() => removeDir(dir));

function config(detection: Record<string, unknown> = {}) {
  const defaults = embeddedDefaults();
  return {...defaults, detection: {...defaults.detection, ...detection}};
}

describe('RuleManager', () => {
  const env = isolatedEnv(join(dir, 'home'));

  it('loads rules from --rules paths with their lists, skipping built-ins when asked', async () => {
    const manager = new RuleManager({config: config({builtin_rules: false}), extraPaths: [FIXTURES], env});
    const set = await manager.loadRules();
    expect(set.rules.map((r) => r.rule.id).sort()).toEqual(['test-deleted-executable', 'test-exec-from-tmp', 'test-shell-from-web-server']);
    expect(set.rules.every((r) => r.rule.source_type === 'file')).toBe(true);
    expect(set.lists.test_web_servers).toEqual(['nginx', 'apache2', 'httpd']);
  });

  it('marks rules in the user rules directory as user, applies enabled/disabled ids', async () => {
    const userRules = join(dir, 'home', '.config', 'daemoneye', 'rules');
    mkdirSync(userRules, {recursive: true});
    cpSync(join(FIXTURES, 'execution', 'exec-from-tmp.yaml'), join(userRules, 'exec-from-tmp.yaml'));
    const manager = new RuleManager({config: config({builtin_rules: false, disabled_rules: ['test-exec-from-tmp']}), env});
    const {rules} = await manager.loadRules();
    expect(rules[0]?.rule).toMatchObject({id: 'test-exec-from-tmp', source_type: 'user', enabled: false});
    expect(RuleManager.select(rules, [])).toEqual([]);
    expect(RuleManager.select(rules, ['test-exec-from-tmp'])).toHaveLength(1);
    expect(() => RuleManager.select(rules, ['nope'])).toThrow(/no rule with id nope/);
    removeDir(userRules);
  });

  it('refuses a rule path that is a FIFO in one line, named or found in a directory (never an internal error)', async () => {
    const pipes = join(dir, 'pipes');
    mkdirSync(pipes);
    const fifo = makeFifo(join(pipes, 'rule.yaml'));
    expect(findRuleFiles(fifo)).toEqual([fifo]);
    const refusal = expect.objectContaining({
      exitCode: 2,
      file: fifo,
      message: 'is a FIFO (named pipe), not a regular file: a rule file is never read from one',
    });
    for (const path of [fifo, pipes]) {
      const manager = new RuleManager({config: config({builtin_rules: false}), extraPaths: [path], env});
      await expect(manager.loadRules()).rejects.toThrow(refusal);
    }
    await expect(new RuleManager({config: config(), env}).validateRuleFile(fifo)).rejects.toThrow(refusal);
  });

  it('refuses duplicate ids naming both files, and invalid files before anything runs', async () => {
    const copy = join(dir, 'dupes');
    mkdirSync(copy);
    cpSync(join(FIXTURES, 'execution', 'exec-from-tmp.yaml'), join(copy, 'again.yaml'));
    const dupes = new RuleManager({config: config({builtin_rules: false}), extraPaths: [FIXTURES, copy], env});
    await expect(dupes.loadRules()).rejects.toThrow(/rule id test-exec-from-tmp is defined twice: .*exec-from-tmp\.yaml and .*again\.yaml/);
    writeFileSync(join(copy, 'again.yaml'), 'id: x\nseverity: bad\n');
    const invalid = new RuleManager({config: config({builtin_rules: false}), extraPaths: [copy], env});
    await expect(invalid.loadRules()).rejects.toThrow(expect.objectContaining({code: 'RULE_INVALID', exitCode: 2, file: join(copy, 'again.yaml')}));
  });
});

describe('named lists', () => {
  it('parses one value per line with comments, merges sources, and gives undefined lists as empty tables', () => {
    expect(parseListText('# comment\n a \n\nb\n#c\n')).toEqual(['a', 'b']);
    const file = join(dir, 'extra.txt');
    writeFileSync(file, 'httpd\nlighttpd\n');
    const lists = loadNamedLists({test_web_servers: {file}, tools: {values: ['nc']}}, [FIXTURES]);
    expect(lists).toEqual({test_web_servers: ['nginx', 'apache2', 'httpd', 'lighttpd'], tools: ['nc']});
    expect(listsForRun(lists, ['tools', 'missing'])).toMatchObject({missing: [], tools: ['nc']});
    expect(() => loadNamedLists({x: {file: join(dir, 'nope.txt')}}, [])).toThrow(/nope\.txt/);
  });
});

describe('named lists are bounded (trial 8 F10: a million shells timed out six rules)', () => {
  it('a list file of more than 100,000 values is refused naming the file; 100,000 are read', () => {
    const ruleDir = join(dir, 'many-shells');
    mkdirSync(join(ruleDir, 'lists'), {recursive: true});
    const file = join(ruleDir, 'lists', 'shells.txt');
    writeFileSync(file, Array.from({length: MAX_LIST_ENTRIES + 1}, (_, i) => `shell${i}\n`).join(''));
    expect(() => loadNamedLists({}, [ruleDir])).toThrow(`${file}: the named list shells holds 100001 values; at most 100000 are read`);
    writeFileSync(file, Array.from({length: MAX_LIST_ENTRIES}, (_, i) => `shell${i}\n`).join(''));
    expect(loadNamedLists({}, [ruleDir]).shells).toHaveLength(MAX_LIST_ENTRIES);
    // Merged with the configuration past the bound: refused at the configuration key.
    expect(() => loadNamedLists({shells: {values: ['one-more']}}, [ruleDir])).toThrow(
      /detection\.lists\.shells\.values: the named list shells holds 100001 values/,
    );
  });

  it('a list file over 8 MiB is refused before it is read', () => {
    const file = join(dir, 'big-list.txt');
    writeFileSync(file, `${'x'.repeat(1023)}\n`.repeat(8 * 1024 + 1));
    expect(() => loadNamedLists({x: {file}}, [])).toThrow(/is 8 MiB, more than the 8 MiB a list file may have/);
  });

  it('a list table is indexed: is_shell reads it by index, no temporary b-tree per query', async () => {
    const SQL = await loadSqlJs();
    const db = new SQL.Database(await snapshotFromRows([]));
    try {
      const values = Array.from({length: 1000}, (_, i) => `shell${i}`);
      prepareRuleDatabase(db, {shells: values, interpreters: ['python*']});
      const plan = db
        .exec('EXPLAIN QUERY PLAN SELECT pid FROM process_traits WHERE is_shell')[0]
        ?.values.map((row) => String(row[3]))
        .join('\n');
      expect(plan).toMatch(/USING (COVERING )?INDEX list_shells_value/);
      expect(plan).not.toMatch(/B-TREE|LIST SUBQUERY/);
    } finally {
      db.close();
    }
  });
});

describe('setRuleEnabled', () => {
  it('creates the file when missing, keeps comments, moves ids between the lists', () => {
    const file = join(dir, 'cfg', 'config.yaml');
    expect(setRuleEnabled(file, 'a', false)).toMatchObject({created: true, changed: true});
    expect(readFileSync(file, 'utf8')).toBe('detection:\n  disabled_rules:\n    - a\n');
    writeFileSync(file, '# my settings\napp:\n  log_level: warn # keep me\ndetection:\n  disabled_rules: [a, b]\n');
    expect(setRuleEnabled(file, 'a', true)).toMatchObject({created: false, changed: true});
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('# my settings');
    expect(text).toContain('log_level: warn # keep me');
    expect(text).toMatch(/disabled_rules: \[ b \]/);
    expect(text).toMatch(/enabled_rules:\n\s+- a/);
    expect(setRuleEnabled(file, 'a', true).changed).toBe(false);
  });

  it('refuses a file that is not valid YAML, leaving it untouched', () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'detection: [unclosed\n');
    expect(() => setRuleEnabled(file, 'a', true)).toThrow(expect.objectContaining({code: 'CONFIG_YAML_SYNTAX'}));
    expect(readFileSync(file, 'utf8')).toBe('detection: [unclosed\n');
  });
});
