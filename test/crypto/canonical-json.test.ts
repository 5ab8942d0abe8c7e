import {describe, expect, it} from 'vitest';

import {canonicalJson, toPlainJson} from '../../src/crypto/canonical-json.js';

describe('canonicalJson (RFC 8785)', () => {
  it('sorts keys by UTF-16 code units at every level and adds no whitespace', () => {
    expect(canonicalJson({b: 1, a: {d: [3, {z: 1, y: 2}], c: null}, A: true})).toBe('{"A":true,"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson({'\u20ac': 1, '\r': 2, '\ud83d\ude00': 3, a: 4})).toBe('{"\\r":2,"a":4,"€":1,"😀":3}');
  });

  it('prints numbers in ECMAScript shortest form', () => {
    expect(canonicalJson([1e21, 1e-7, 0.1, -0, 1700000000000123, 4.5])).toBe('[1e+21,1e-7,0.1,0,1700000000000123,4.5]');
  });

  it('escapes strings as JSON does', () => {
    expect(canonicalJson('a"b\\c\n\u0001')).toBe('"a\\"b\\\\c\\n\\u0001"');
  });

  it('refuses values JSON cannot carry instead of dropping them', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(/canonical JSON/);
    expect(() => canonicalJson(Number.POSITIVE_INFINITY)).toThrow(/canonical JSON/);
    expect(() => canonicalJson(10n)).toThrow(/canonical JSON/);
    expect(() => canonicalJson('\ud800')).toThrow(/lone surrogate/);
  });

  it('toPlainJson drops undefined members and turns dates into strings', () => {
    expect(toPlainJson({a: undefined, b: new Date(0)})).toEqual({b: '1970-01-01T00:00:00.000Z'});
    expect(toPlainJson(undefined)).toBeNull();
  });
});

describe('recordHashInput', () => {
  it('writes the same bytes as canonicalJson over the seven hashed members', async () => {
    const {recordHashInput} = await import('../../src/audit/ledger-record.js');
    const fields = {
      seq: 7,
      type: 'checkpoint' as const,
      time: 1,
      actor: 'a "quoted" \u00e9',
      action: 'x\ny',
      payload: {z: [1, {b: 2, a: null}], a: '😀'},
      prev_hash: 'f'.repeat(64),
    };
    expect(recordHashInput(fields)).toBe(canonicalJson(fields));
  });
});
