import {describe, expect, it} from 'vitest';

import {yaml, yamlProblems} from '../../src/util/yaml.js';

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
