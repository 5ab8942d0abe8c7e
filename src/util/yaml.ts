// The yaml module, loaded on first use: it takes ≈ 20–40 ms to load, and most runs (no configuration file,
// only indexed built-in rules) never parse YAML. Its Node build is CommonJS, so a synchronous require gives
// the same module a static import would.
import {createRequire} from 'node:module';

import type * as Yaml from 'yaml';

let yamlModule: typeof Yaml | undefined;

export function yaml(): typeof Yaml {
  yamlModule ??= createRequire(import.meta.url)('yaml') as typeof Yaml;
  return yamlModule;
}

/** One YAML syntax problem at a 1-based line and column. */
export interface YamlProblem {
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

/**
 * The syntax problems of a parsed document, in the words a user needs. A tab in a line's indentation makes
 * the yaml parser report whatever it then trips over ("Block scalar lines must not be less indented…",
 * "Implicit map keys…"), often twice and never naming the tab: such lines get one problem that says so,
 * and the parser's own errors on them are dropped. `lineOffset` shifts lines (front matter in a .sql rule).
 */
export function yamlProblems(text: string, errors: readonly Yaml.YAMLError[], lineCounter: Yaml.LineCounter, lineOffset = 0): YamlProblem[] {
  if (errors.length === 0) return [];
  const tabLines = new Map<number, number>();
  text.split('\n').forEach((line, index) => {
    const indent = /^[ \t]*/.exec(line)?.[0] ?? '';
    const tab = indent.indexOf('\t');
    if (tab >= 0 && line.trim() !== '') tabLines.set(index + 1, tab + 1);
  });
  const problems: YamlProblem[] = [];
  const reported = new Set<number>();
  for (const error of errors) {
    const pos = lineCounter.linePos(error.pos[0]);
    const tabCol = tabLines.get(pos.line);
    if (tabCol !== undefined) {
      if (!reported.has(pos.line))
        problems.push({
          line: pos.line + lineOffset,
          col: tabCol,
          message: 'a tab in the indentation: YAML indents with spaces only (replace the tab with spaces)',
        });
      reported.add(pos.line);
      continue;
    }
    problems.push({line: pos.line + lineOffset, col: pos.col, message: error.message.split('\n')[0] ?? error.message});
  }
  return problems;
}
