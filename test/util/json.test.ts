import {describe, expect, it} from 'vitest';

import {depthNote, jsonDepthExceeds, parseJson} from '../../src/util/json.js';

describe('parseJson', () => {
  it('parses JSON nested up to its limit', () => {
    expect(parseJson('{"a": [1, {"b": [2]}]}')).toEqual({a: [1, {b: [2]}]});
    expect(parseJson(`${'['.repeat(64)}${']'.repeat(64)}`)).toBeInstanceOf(Array);
  });

  it('refuses deeper nesting before JSON.parse sees it, in linear time', () => {
    const deep = `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`;
    expect(() => parseJson(deep)).toThrow(SyntaxError);
    try {
      parseJson(deep);
    } catch (error) {
      expect(depthNote(error)).toBe(': nested deeper than 64 levels');
    }
    expect(depthNote(new SyntaxError('Unexpected token'))).toBe('');
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    expect(jsonDepthExceeds(JSON.stringify({a: '[[[[[[', b: 'x\\"[[[['}), 2)).toBe(false);
    expect(jsonDepthExceeds('[[["]"]]]', 2)).toBe(true);
  });
});
