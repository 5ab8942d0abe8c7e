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

/**
 * How many aliases a YAML document may expand (the yaml library's `maxAliasCount`, counted as it weighs
 * them). Rule and configuration files rarely use anchors at all; a "billion laughs" of nested aliases
 * would otherwise expand to gigabytes.
 */
export const MAX_YAML_ALIASES = 100;

/**
 * A parsed document as plain JavaScript, with alias expansion bounded by MAX_YAML_ALIASES. An alias bomb
 * is a problem at the first alias of the document (1-based line and column, shifted by `lineOffset`), in
 * words a user can act on, never the library's exception.
 */
export function documentToJs(
  doc: Yaml.Document | Yaml.Document.Parsed,
  lineCounter: Yaml.LineCounter,
  lineOffset = 0,
): {value: unknown} | {problem: YamlProblem} {
  try {
    return {value: doc.toJS({maxAliasCount: MAX_YAML_ALIASES})};
  } catch (error) {
    if (!(error instanceof ReferenceError) && !/alias/i.test((error as Error).message)) throw error;
    let offset = 0;
    yaml().visit(doc, {
      Alias(_key, node) {
        offset = node.range?.[0] ?? 0;
        return yaml().visit.BREAK;
      },
    });
    const pos = lineCounter.linePos(offset);
    return {
      problem: {
        line: pos.line + lineOffset,
        col: pos.col,
        message: `aliases expand past ${MAX_YAML_ALIASES} nodes (an alias bomb): write the values out instead of aliasing them`,
      },
    };
  }
}

/** YAML text as plain JavaScript, aliases bounded; throws an Error whose message is `line:col: problem` for a syntax error or an alias bomb. */
export function parseYamlBounded(text: string): unknown {
  const lineCounter = new (yaml().LineCounter)();
  const doc = yaml().parseDocument(text, {lineCounter, prettyErrors: false});
  const [first] = yamlProblems(text, doc.errors, lineCounter);
  if (first !== undefined) throw new Error(`${first.line}:${first.col}: ${first.message}`);
  const result = documentToJs(doc, lineCounter);
  if ('problem' in result) throw new Error(`${result.problem.line}:${result.problem.col}: ${result.problem.message}`);
  return result.value;
}
