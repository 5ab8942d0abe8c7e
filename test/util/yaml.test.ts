import {describe, expect, it} from 'vitest';

import {documentToJs, MAX_YAML_ALIASES, parseYamlBounded, yaml, yamlProblems} from '../../src/util/yaml.js';
import {ALIAS_BOMB} from '../helpers/hostile-files.js';

function problems(text: string): ReturnType<typeof yamlProblems> {
  const counter = new (yaml().LineCounter)();
  const doc = yaml().parseDocument(text, {lineCounter: counter, prettyErrors: false});
  return yamlProblems(text, doc.errors, counter);
}

describe('yamlProblems: one problem per mistake, in the words a user needs', () => {
  it("a list item indented one space off is one problem naming both columns, not the parser's six", () => {
    const text = 'id: x\ntests:\n  - name: a\n    expect: [1]\n - name: b\n    expect: []\nname: y\n';
    expect(problems(text)).toEqual([
      {line: 5, col: 2, message: 'this list item starts at column 2, the one on line 3 at column 3: items of one list start at the same column'},
    ]);
  });

  it('two mistakes in two blocks are two problems', () => {
    expect(problems('a:\n\t- x\nb: 1\nc:\n\t- y\n').map((p) => p.line)).toEqual([2, 5]);
  });

  it('a tab in the indentation is named', () => {
    expect(problems('tags:\n\t- a\n')).toEqual([
      {line: 2, col: 1, message: 'a tab in the indentation: YAML indents with spaces only (replace the tab with spaces)'},
    ]);
  });

  it("other syntax errors keep the parser's own first line", () => {
    const [problem, ...rest] = problems('name: [unclosed\n');
    expect(problem?.message).toMatch(/^Flow sequence/);
    expect(rest).toEqual([]);
    expect(problem?.message).not.toBe('');
  });
});

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
