// Every number a user gives is bounded by what it can mean: each integer flag of every command has a maximum
// (a safe integer; a time in ms at most what Node's timers take, past which a delay silently becomes 1 ms),
// and each integer configuration key refuses a value past its bound, a float, a negative and 1e309. Found
// from the commands and the schema themselves, so a new flag or key is held to it without a new test.
import {readFileSync} from 'node:fs';
import {join} from 'node:path';

import {describe, expect, it} from 'vitest';

import {leafDocs, schemaAt} from '../../src/config/schema-walk.js';
import {ConfigSchema} from '../../src/config/schema.js';
import {MAX_TIMER_MS} from '../../src/util/time.js';
import {ROOT} from '../helpers/cli.js';

interface IntegerFlag {
  readonly min?: number;
  readonly max?: number;
  readonly parse: (input: string, context: unknown, options: unknown) => Promise<unknown>;
}

const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>};

describe('numeric flags', () => {
  it('every integer flag of every command has a maximum, and a value past it is refused', async () => {
    const seen: string[] = [];
    for (const id of Object.keys(manifest.commands)) {
      const module = (await import(join(ROOT, 'commands', `${id.replace(/:/g, '/')}.ts`))) as {default: {flags?: Record<string, unknown>}};
      for (const [name, flag] of Object.entries(module.default.flags ?? {})) {
        if (typeof flag !== 'object' || flag === null || !('min' in flag || 'max' in flag)) continue;
        const integer = flag as IntegerFlag;
        const what = `${id} --${name}`;
        seen.push(what);
        expect(integer.max, `${what} has no maximum`).toBeTypeOf('number');
        expect(integer.max as number, what).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
        if (/timeout|-ms$|sample/.test(name)) expect(integer.max as number, `${what} is a time in ms`).toBeLessThanOrEqual(MAX_TIMER_MS);
        await expect(integer.parse(String((integer.max as number) + 1), {}, integer), what).rejects.toThrow(/less than or equal/);
        await expect(integer.parse('99999999999999999999', {}, integer), what).rejects.toThrow();
      }
    }
    // The walk found the flags it is about (a change to how oclif keeps min/max would make it find none).
    expect(seen).toEqual(expect.arrayContaining(['detect --timeout', 'verify --max-bytes', 'export --scan-id', 'ship --scan-id', 'scan --pid']));
  });
});

describe('numeric configuration keys', () => {
  it('every integer key refuses a float, a negative, 1e309 (Infinity) and a value past any bound a host can need', () => {
    const keys = leafDocs(ConfigSchema).filter((leaf) => /integer/.test(leaf.type));
    expect(keys.length).toBeGreaterThan(10);
    for (const {key} of keys) {
      const schema = schemaAt(ConfigSchema, key.split('.'), undefined);
      expect(schema, key).toBeDefined();
      for (const value of [1.5, -1, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 2, 2 ** 60]) {
        expect(schema?.safeParse(value).success, `${key} = ${value}`).toBe(false);
      }
      if (/_ms$/.test(key)) expect(schema?.safeParse(MAX_TIMER_MS + 1).success, `${key} past Node's timers`).toBe(false);
    }
  });
});
