// The rule-format seam: a Sigma rule in a rules directory is served by every reader of rule files (the
// build-time index, docs generation, RuleManager) through the same path; the rule cache reuses only what is
// unchanged.
import {cpSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {embeddedDefaults} from '../../src/config/schema.js';
import {buildBuiltinIndex} from '../../src/detection/builtin-index.js';
import {RuleCache} from '../../src/detection/rule-cache.js';
import {BUILTIN_RULES_DIR, RuleManager} from '../../src/detection/rule-manager.js';
import {SqlValidator} from '../../src/detection/sql-validator.js';
import {readBuiltinRules, renderRulesDoc} from '../../src/docs/rules-doc.js';
import {isolatedEnv, removeDir, ROOT, tempDir} from '../helpers/cli.js';

const dir = tempDir();
afterAll(() => removeDir(dir));
const env = isolatedEnv(join(dir, 'home'));
const SIGMA = join(ROOT, 'test', 'fixtures', 'sigma', 'rules', 'linux', 'process_creation', 'proc_creation_lnx_base64_decode.yml');
const SIGMA_ID = 'e2072cab-8c9a-459b-b63c-40ae79e27031';

describe('a Sigma rule in the built-in pack', () => {
  const rules = join(dir, 'pack', 'rules');
  cpSync(BUILTIN_RULES_DIR, rules, {recursive: true});
  mkdirSync(join(rules, 'sigma'));
  cpSync(SIGMA, join(rules, 'sigma', 'base64-decode.yml'));

  it('is indexed at build time and loaded from the index like the others', async () => {
    const index = await buildBuiltinIndex(rules, new SqlValidator().withReadOnlyMode(true));
    expect(index.files['sigma/base64-decode.yml']?.definition).toMatchObject({format: 'sigma', id: SIGMA_ID, severity: 'low'});
    const indexFile = join(dir, 'pack', 'index.json');
    writeFileSync(indexFile, JSON.stringify(index));
    const set = await new RuleManager({config: embeddedDefaults(), env, builtinDir: rules, builtinIndex: indexFile}).loadRules();
    expect(set.indexed).toBe(set.rules.length);
    expect(set.rules.find((r) => r.rule.id === SIGMA_ID)?.definition.format).toBe('sigma');
  });

  it('is documented by the generated rules reference', () => {
    const entries = readBuiltinRules(rules);
    expect(entries.find((e) => e.id === SIGMA_ID)).toMatchObject({format: 'sigma', name: 'Decode Base64 Encoded Text', category: 'stealth'});
    expect(renderRulesDoc(entries)).toMatch(/\*\*Decode Base64 Encoded Text\*\* — severity \*\*low\*\*, category `stealth`, sigma format\./);
  });
});

describe('the rule cache', () => {
  const rulesDir = join(dir, 'user-rules');
  mkdirSync(rulesDir);
  const file = join(rulesDir, 'base64.yml');
  cpSync(SIGMA, file);
  const cachePath = join(dir, 'state', 'rule-cache.json');
  const config = {...embeddedDefaults(), detection: {...embeddedDefaults().detection, builtin_rules: false}};
  const load = () => new RuleManager({config, env, extraPaths: [rulesDir], ruleCache: cachePath}).loadRules();

  it('gives the same rules as a full validation, and reuses them while the file is unchanged', async () => {
    const first = await load();
    const cached = JSON.parse(readFileSync(cachePath, 'utf8')) as {files: Record<string, {definition: {sql_query: string}; references: unknown}>};
    const sql = first.rules[0]?.definition.sql_query ?? '';
    expect(cached.files[file]?.definition.sql_query).toBe(sql);
    // What the SQL reads is recorded with it, as lexing it finds (a run over cached rules lexes none).
    const lexer = new SqlValidator();
    expect(cached.files[file]?.references).toEqual({tables: lexer.referencedTables(sql), lists: lexer.referencedLists(sql)});
    const uncached = await new RuleManager({config, env, extraPaths: [rulesDir]}).loadRules();
    expect((await load()).rules).toEqual(uncached.rules);
  });

  it('never reuses an entry for changed bytes: an edit that makes the rule invalid is refused', async () => {
    await load();
    writeFileSync(file, readFileSync(SIGMA, 'utf8').replace("CommandLine|contains: '-d'", "LogonId: '0x0'"));
    await expect(load()).rejects.toThrow(expect.objectContaining({code: 'RULE_INVALID'}));
    cpSync(SIGMA, file);
  });

  it('ignores a cache from another validator', async () => {
    await load();
    const other = RuleCache.load(cachePath, new SqlValidator().withReadOnlyMode(true).withAllowedFunctions(['count']));
    expect(other.lookup(file, readFileSync(file, 'utf8'))).toBeUndefined();
    const same = RuleCache.load(cachePath, new SqlValidator().withReadOnlyMode(true).withTimeout(config.detection.rule_timeout_ms));
    expect(same.lookup(file, readFileSync(file, 'utf8'))?.rule?.id).toBe(SIGMA_ID);
  });
});
