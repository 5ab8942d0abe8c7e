import {describe, expect, it} from 'vitest';

import {documentToJs, MAX_YAML_ALIASES, parseYamlBounded, yaml} from '../../src/util/yaml.js';
import {ALIAS_BOMB} from '../helpers/hostile-files.js';

describe('bounded YAML', () => {
  it('expands a few aliases', () => {
    expect(parseYamlBounded('base: &b {x: 1}\ncopy: *b\n')).toEqual({base: {x: 1}, copy: {x: 1}});
  });

  it('refuses an alias bomb at its first alias, in words a user can act on', () => {
    const lineCounter = new (yaml().LineCounter)();
    const doc = yaml().parseDocument(ALIAS_BOMB, {lineCounter});
    const result = documentToJs(doc, lineCounter, 10);
    expect(result).toEqual({
      problem: {
        line: 12,
        col: 8,
        message: `aliases expand past ${MAX_YAML_ALIASES} nodes (an alias bomb): write the values out instead of aliasing them`,
      },
    });
    expect(() => parseYamlBounded(ALIAS_BOMB)).toThrow(/^2:8: aliases expand past 100 nodes/);
  });
});
