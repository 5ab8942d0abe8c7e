// jsonPieces: the same bytes as JSON.stringify for any JSON-like value, any indent, any piece size, in pieces
// that end between tokens; deep values without the call stack.
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';

import {jsonPieces} from '../../src/output/json-pieces.js';

const joined = (value: unknown, indent: number, pieceChars?: number): string => [...jsonPieces(value, indent, pieceChars)].join('');

describe('jsonPieces', () => {
  it('writes what JSON.stringify writes, whatever the value, indent and piece size', () => {
    // Values with undefined, functions, dates and shared (not circular) objects: the cases JSON.stringify treats apart.
    const leaf = fc.oneof(
      fc.string({unit: 'binary'}),
      fc.double(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.date({noInvalidDate: false}),
    );
    const {tree} = fc.letrec((tie) => ({
      tree: fc.oneof({depthSize: 'small'}, leaf, tie('array'), tie('object')),
      array: fc.array(tie('tree'), {maxLength: 40}),
      object: fc.dictionary(fc.string(), tie('tree'), {maxKeys: 40}),
    }));
    fc.assert(
      fc.property(tree, fc.constantFrom(0, 1, 2, 4, 12), fc.constantFrom(1, 7, 1 << 16), (value, indent, pieceChars) => {
        expect(joined(value, indent, pieceChars)).toBe(JSON.stringify(value, null, indent) ?? '');
      }),
      {seed: 22, numRuns: 300},
    );
  });

  it('keeps toJSON, omitted members, boxed primitives and big nested values as JSON.stringify does', () => {
    const wide = Array.from({length: 3000}, (_, i) => ({
      pid: i,
      argv: ['a', 'b'],
      f: () => 1,
      u: undefined,
      when: new Date(i),
      children: i % 3 === 0 ? [{x: [i]}] : [],
    }));
    const value = {
      rows: wide,
      boxed: [Object(1), Object('s'), Object(true)],
      custom: {toJSON: (key: string) => ({key})},
      nested: {toJSON: () => ({toJSON: () => 'inner stays an object'})},
      holes: [undefined, () => 1, Symbol('x')],
      allGone: {a: undefined},
    };
    for (const indent of [0, 2]) expect(joined(value, indent, 100)).toBe(JSON.stringify(value, null, indent));
    expect(joined(undefined, 2)).toBe('');
  });

  it('ends each piece between tokens and walks a chain deeper than the call stack', () => {
    const pieces = [...jsonPieces({a: Array.from({length: 2000}, (_, i) => `x"${i}\u{1F600}`)}, 2, 64)];
    expect(pieces.length).toBeGreaterThan(10);
    for (const piece of pieces) expect(piece).not.toMatch(/[\uD800-\uDBFF]$/);
    let deep: Record<string, unknown> = {leaf: 1};
    for (let i = 0; i < 50_000; i++) deep = {children: [deep]};
    const text = joined(deep, 0);
    expect(text.startsWith('{"children":[{"children":[')).toBe(true);
    expect(text.endsWith('{"leaf":1}' + ']}'.repeat(50_000))).toBe(true);
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
  });

  it('refuses circular and BigInt values as JSON.stringify does', () => {
    const loop: Record<string, unknown> = {list: Array.from({length: 600}, (_, i) => i)};
    loop.self = {again: loop};
    expect(() => joined(loop, 2)).toThrow(TypeError);
    expect(() => joined({n: 1n}, 2)).toThrow(TypeError);
  });
});
