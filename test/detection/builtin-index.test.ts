import {cpSync, existsSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {embeddedDefaults} from '../../src/config/schema.js';
import {BUILTIN_INDEX_FILE, buildBuiltinIndex, readBuiltinIndex, writeBuiltinIndex} from '../../src/detection/builtin-index.js';
import {BUILTIN_RULES_DIR, RuleManager} from '../../src/detection/rule-manager.js';
import {SqlValidator} from '../../src/detection/sql-validator.js';
import {isolatedEnv, removeDir, tempDir} from '../helpers/cli.js';

const dir = tempDir();
afterAll(() => removeDir(dir));
const env = isolatedEnv(join(dir, 'home'));

/** A copy of the built-in pack with its own index, so a test can edit files and the index freely. */
async function packCopy(name: string): Promise<{rules: string; index: string}> {
  const rules = join(dir, name, 'rules');
  cpSync(BUILTIN_RULES_DIR, rules, {recursive: true});
  const index = join(dir, name, 'builtin-rules.json');
  await writeBuiltinIndex(rules, index);
  return {rules, index};
}

function manager(pack: {rules: string; index: string | null}): RuleManager {
  return new RuleManager({config: embeddedDefaults(), env, builtinDir: pack.rules, builtinIndex: pack.index});
}

describe('built-in rule index', () => {
  it('gives the same rules as parsing every file, without parsing any', async () => {
    const pack = await packCopy('same');
    const indexed = await manager(pack).loadRules();
    const parsed = await manager({...pack, index: null}).loadRules();
    expect(indexed.rules.length).toBeGreaterThan(20);
    expect(indexed.indexed).toBe(indexed.rules.length);
    expect(parsed.indexed).toBe(0);
    expect(indexed.rules).toEqual(parsed.rules);
    expect(indexed.lists).toEqual(parsed.lists);
  });

  it('validates an edited file in full: hostile SQL in a built-in file is refused although the index knew the file', async () => {
    const pack = await packCopy('edited');
    const file = join(pack.rules, 'execution', 'temp-dir-execution.yaml');
    const text = readFileSync(file, 'utf8');
    writeFileSync(
      file,
      text.replace(/sql_query: \|\n/, 'sql_query: |\n    SELECT pid FROM processes; DELETE FROM processes; SELECT pid FROM processes WHERE 1 = 0 AND\n'),
    );
    await expect(manager(pack).loadRules()).rejects.toThrow(expect.objectContaining({code: 'RULE_INVALID', file}));
    // A harmless edit is taken too, from the file rather than the index.
    writeFileSync(file, text.replace(/^name: .*$/m, 'name: Renamed locally'));
    const set = await manager(pack).loadRules();
    expect(set.rules.find((r) => r.definition.file === file)?.rule.name).toBe('Renamed locally');
    expect(set.indexed).toBe(set.rules.length - 1);
  });

  it('ignores an index from another validator, a corrupt index and a missing one', async () => {
    const pack = await packCopy('foreign');
    const index = JSON.parse(readFileSync(pack.index, 'utf8')) as {validator: string};
    writeFileSync(pack.index, JSON.stringify({...index, validator: 'f'.repeat(64)}));
    const foreign = await manager(pack).loadRules();
    expect(foreign.indexed).toBe(0);
    expect(foreign.rules.length).toBeGreaterThan(20);
    writeFileSync(pack.index, '{"format": 1, "validator": "abc", "files": {');
    expect(readBuiltinIndex(pack.index)).toBeUndefined();
    expect((await manager(pack).loadRules()).indexed).toBe(0);
    expect((await manager({...pack, index: join(dir, 'no-such-index.json')}).loadRules()).indexed).toBe(0);
  });

  it('refuses to index an invalid pack (the build fails instead of shipping it)', async () => {
    const pack = await packCopy('invalid');
    writeFileSync(join(pack.rules, 'broken.yaml'), 'id: broken\nname: Broken\nseverity: high\nsql_query: DROP TABLE processes\n');
    await expect(buildBuiltinIndex(pack.rules, new SqlValidator())).rejects.toThrow(/broken\.yaml.*only SELECT/s);
  });

  it('records what each rule reads as lexing its SQL finds, and a validator adopting the verdict answers from the record', () => {
    const shipped = readBuiltinIndex();
    const lexer = new SqlValidator();
    for (const entry of Object.values(shipped?.files ?? {})) {
      const sql = entry.definition.sql_query;
      expect(entry.references).toEqual({tables: lexer.referencedTables(sql), lists: lexer.referencedLists(sql)});
    }
    const sql = 'SELECT pid FROM process_traits WHERE is_shell AND name IN (SELECT value FROM list_tools)';
    const lexed = {tables: lexer.referencedTables(sql), lists: lexer.referencedLists(sql)};
    expect(lexed.lists).toContain('tools');
    // The record is what the run uses (as trusted as the verdict it comes with); a malformed one is ignored.
    const recorded = new SqlValidator();
    expect(recorded.adoptValidVerdict(sql, recorded.fingerprint, {tables: ['processes'], lists: ['recorded']})).toBe(true);
    expect(recorded.referencedLists(sql)).toEqual(['recorded']);
    const malformed = new SqlValidator();
    expect(malformed.adoptValidVerdict(sql, malformed.fingerprint, {tables: 'processes', lists: [1]})).toBe(true);
    expect({tables: malformed.referencedTables(sql), lists: malformed.referencedLists(sql)}).toEqual(lexed);
  });

  it('the build wrote the index of the shipped pack, and it matches the rules directory', async () => {
    expect(existsSync(BUILTIN_INDEX_FILE)).toBe(true);
    const shipped = readBuiltinIndex();
    expect(Object.keys(shipped?.files ?? {}).sort()).toEqual(Object.keys((await buildBuiltinIndex(BUILTIN_RULES_DIR, new SqlValidator())).files).sort());
  });
});
