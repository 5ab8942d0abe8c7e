import {readdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';

import {describe, expect, it} from 'vitest';

import {documentToJs, MAX_YAML_ALIASES, MAX_YAML_DEPTH, parseYamlBounded, yaml, yamlDepthProblem, yamlProblems} from '../../src/util/yaml.js';
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

  it('refuses an alias inside the value it names (a value that would contain itself), at that alias', () => {
    // toJS builds such a value without a word; every later walk of it recursed until the stack overflowed.
    for (const [text, where] of [
      ['a: &a\n  b: *a\n', '2:6'],
      ['collection:\n  env_variables: &a [PATH, *a]\n', '2:28'],
      ['x: &a\n  - y:\n      - *a\n', '3:9'],
    ] as const) {
      expect(() => parseYamlBounded(text), text).toThrow(new RegExp(`^${where}: alias \\*a is inside the value it names`));
    }
    // An alias beside (not inside) its anchor's value is fine.
    expect(parseYamlBounded('a: &a {b: 1}\nc: {d: *a}\n')).toEqual({a: {b: 1}, c: {d: {b: 1}}});
  });

  it('names an alias with no anchor before it as unknown, not as a bomb', () => {
    expect(() => parseYamlBounded('lists:\n  shells: *nope\n')).toThrow(/^2:11: unknown alias \*nope: no anchor &nope is set before it/);
    expect(() => parseYamlBounded('a: *b\nb: &b 1\n')).toThrow(/^1:4: unknown alias \*b/);
  });
});

describe('yamlDepthProblem', () => {
  it('counts block indentation, compact items and flow brackets together', () => {
    const text = 'a:\n  b:\n    c: [1, {d: [2]}]\n';
    expect(yamlDepthProblem(text, 6)).toBeUndefined();
    expect(yamlDepthProblem(text, 5)).toMatchObject({line: 3, col: 16});
    // An indented line's own indentation and its first item count as two levels: never fewer than there are.
    expect(yamlDepthProblem('x:\n  - - - y\n', 5)).toBeUndefined();
    expect(yamlDepthProblem('x:\n  - - - y\n', 4)).toMatchObject({line: 2, col: 7});
  });

  it('does not count brackets in quoted or block scalars and comments', () => {
    const text = `q: "${'['.repeat(100)}"\nb: |\n  ${'{'.repeat(100)}\nc: 1 # ${'['.repeat(100)}\n`;
    expect(yamlDepthProblem(text, 2)).toBeUndefined();
  });

  it('stops at the first level past the limit, whatever follows', () => {
    const bomb = `id: x\nname: ${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}\n`;
    expect(yamlDepthProblem(bomb)).toEqual({
      line: 2,
      col: 70,
      message: `nested deeper than ${MAX_YAML_DEPTH} levels (a depth bomb): a rule or configuration file is never so deep`,
    });
    expect(() => parseYamlBounded(bomb)).toThrow(/^2:70: nested deeper than 64 levels/);
  });

  it('leaves every built-in rule alone', () => {
    for (const file of readdirSync('rules', {recursive: true, encoding: 'utf8'}).filter((f) => f.endsWith('.yaml'))) {
      expect(yamlDepthProblem(readFileSync(join('rules', file), 'utf8')), file).toBeUndefined();
    }
  });
});
