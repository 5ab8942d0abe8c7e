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

/** Width of a line's leading spaces. */
const indentOf = (line: string): number => /^ */.exec(line)?.[0].length ?? 0;

/**
 * What is wrong at `lineNumber` when it is a list item (`- …`) indented unlike the items before it: the
 * commonest YAML slip, which the parser reports as several unrelated-sounding errors.
 */
function misindentedItem(lines: readonly string[], lineNumber: number): string | undefined {
  const line = lines[lineNumber - 1] ?? '';
  if (!/^ *- /.test(line)) return undefined;
  const indent = indentOf(line);
  for (let i = lineNumber - 2; i >= 0; i--) {
    const previous = lines[i] ?? '';
    if (previous.trim() === '' || previous.trimStart().startsWith('#')) continue;
    if (indentOf(previous) === 0 && !previous.startsWith('-')) return undefined;
    if (/^ *- /.test(previous) && indentOf(previous) !== indent && Math.abs(indentOf(previous) - indent) <= 3) {
      return `this list item starts at column ${indent + 1}, the one on line ${i + 1} at column ${indentOf(previous) + 1}: items of one list start at the same column`;
    }
  }
  return undefined;
}

/**
 * The syntax problems of a parsed document, in the words a user needs, one per mistake. One slip (a list
 * item indented one space off) makes the yaml parser report five or six errors down the same block; only
 * the first problem of each top-level block (from one unindented key to the next) is kept, so each
 * mistake is one line. A list item indented unlike the items before it is said so; a tab in a line's
 * indentation makes the parser report whatever it then trips over ("Block scalar lines must not be less
 * indented…", "Implicit map keys…"), never naming the tab: such a line's problem says so. `lineOffset`
 * shifts lines (front matter in a .sql rule).
 */
export function yamlProblems(text: string, errors: readonly Yaml.YAMLError[], lineCounter: Yaml.LineCounter, lineOffset = 0): YamlProblem[] {
  if (errors.length === 0) return [];
  const lines = text.split('\n');
  // The first line of the top-level block each line belongs to.
  const blockOf: number[] = [];
  let block = 1;
  lines.forEach((line, index) => {
    if (/^[^\s#]/.test(line) && !line.startsWith('-')) block = index + 1;
    blockOf[index + 1] = block;
  });
  const problems: YamlProblem[] = [];
  const blocks = new Set<number>();
  const located = errors.map((error) => ({error, pos: lineCounter.linePos(error.pos[0])})).sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col);
  for (const {error, pos} of located) {
    const where = blockOf[pos.line] ?? pos.line;
    if (blocks.has(where)) continue;
    blocks.add(where);
    const line = lines[pos.line - 1] ?? '';
    const indent = /^[ \t]*/.exec(line)?.[0] ?? '';
    const tab = indent.indexOf('\t');
    if (tab >= 0 && line.trim() !== '') {
      problems.push({
        line: pos.line + lineOffset,
        col: tab + 1,
        message: 'a tab in the indentation: YAML indents with spaces only (replace the tab with spaces)',
      });
      continue;
    }
    const item = misindentedItem(lines, pos.line);
    if (item !== undefined) {
      problems.push({line: pos.line + lineOffset, col: indentOf(line) + 1, message: item});
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
 * is a problem at the first alias of the document, an alias inside the node it names (`a: &a {b: *a}`,
 * which would make a value that contains itself) or one naming no anchor set before it a problem at that
 * alias (1-based line and column, shifted by `lineOffset`), in words a user can act on, never the
 * library's exception.
 */
export function documentToJs(
  doc: Yaml.Document | Yaml.Document.Parsed,
  lineCounter: Yaml.LineCounter,
  lineOffset = 0,
): {value: unknown} | {problem: YamlProblem} {
  const at = (offset: number, message: string): {problem: YamlProblem} => {
    const pos = lineCounter.linePos(offset);
    return {problem: {line: pos.line + lineOffset, col: pos.col, message}};
  };
  // Aliases that name no earlier anchor, or a node they sit inside: found before toJS, which would throw
  // for the first and build a value that contains itself for the second (every later walk of it recursing
  // until the stack overflows).
  let bad: {problem: YamlProblem} | undefined;
  yaml().visit(doc, {
    Alias(_key, node, path) {
      const offset = node.range?.[0] ?? 0;
      const target = node.resolve(doc as Yaml.Document);
      if (target === undefined) {
        bad = at(offset, `unknown alias *${node.source}: no anchor &${node.source} is set before it (set the anchor first, or write the value out)`);
      } else if (path.includes(target as never)) {
        bad = at(offset, `alias *${node.source} is inside the value it names, which would contain itself (write the value out instead of aliasing it)`);
      }
      return bad === undefined ? undefined : yaml().visit.BREAK;
    },
  });
  if (bad !== undefined) return bad;
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
    return at(offset, `aliases expand past ${MAX_YAML_ALIASES} nodes (an alias bomb): write the values out instead of aliasing them`);
  }
}

/** YAML text as plain JavaScript, aliases bounded; throws an Error whose message is `line:col: problem` for a syntax error or an alias bomb. */
export function parseYamlBounded(text: string): unknown {
  const deep = yamlDepthProblem(text);
  if (deep !== undefined) throw new Error(`${deep.line}:${deep.col}: ${deep.message}`);
  const lineCounter = new (yaml().LineCounter)();
  const doc = yaml().parseDocument(text, {lineCounter, prettyErrors: false});
  const [first] = yamlProblems(text, doc.errors, lineCounter);
  if (first !== undefined) throw new Error(`${first.line}:${first.col}: ${first.message}`);
  const result = documentToJs(doc, lineCounter);
  if ('problem' in result) throw new Error(`${result.problem.line}:${result.problem.col}: ${result.problem.message}`);
  return result.value;
}

/**
 * How deep a YAML document may nest (block and flow collections together): far more than any rule or
 * configuration file needs (about 8). The yaml library parses recursively: 100,000 nested `[` took seconds
 * and ended in "Maximum call stack size exceeded".
 */
export const MAX_YAML_DEPTH = 64;

/**
 * The first place `text` nests deeper than `maxDepth`, found with the yaml library's lexer (iterative,
 * linear, stopping there) before the recursive parser sees the text; undefined when it does not. Block
 * depth is the stack of indentations above a line plus its compact indicators (`- - x`), flow depth the
 * open `[`/`{`; brackets inside quoted or block scalars and comments are text, not nesting. The count may
 * be one level more than the document's (an indented line's first `- `), never fewer.
 */
export function yamlDepthProblem(text: string, maxDepth = MAX_YAML_DEPTH, lineOffset = 0): YamlProblem | undefined {
  const indents: number[] = [];
  let flow = 0;
  let inline = 0;
  let lineStart = true;
  let line = 1;
  let col = 1;
  for (const token of new (yaml().Lexer)().lex(text)) {
    // Control tokens (document and scalar markers) are one character below U+0020 and take no room.
    const control = token.length === 1 && token.charCodeAt(0) < 0x20 && token !== '\n' && token !== '\t';
    if (!control) {
      if (token === '\n') lineStart = true;
      else if (lineStart && flow === 0) {
        lineStart = false;
        inline = 0;
        const indent = /^ */.exec(token)?.[0].length ?? 0;
        if (token.trim() === '' || !token.startsWith(' ')) {
          // An indentation token (or none: column 0): the stack of enclosing indentations.
          while (indents.length > 0 && (indents.at(-1) as number) > indent) indents.pop();
          if (indents.length === 0 || (indents.at(-1) as number) < indent) indents.push(indent);
        }
      }
      if (token === '[' || token === '{') flow++;
      else if ((token === ']' || token === '}') && flow > 0) flow--;
      else if ((token === '-' || token === '?') && flow === 0) inline++;
      if (indents.length + inline + flow > maxDepth) {
        return {
          line: line + lineOffset,
          col,
          message: `nested deeper than ${maxDepth} levels (a depth bomb): a rule or configuration file is never so deep`,
        };
      }
      for (let i = 0; i < token.length; i++) {
        if (token.charCodeAt(i) === 0x0a) {
          line++;
          col = 1;
        } else col++;
      }
    }
  }
  return undefined;
}
