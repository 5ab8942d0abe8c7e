// The regular-expression engine of every pattern that runs over collected text: SQL `REGEXP`,
// `regexp_flags()` and Sigma's `|re`. Process names, argv, paths and environments are the attacker's text,
// so matching must take time linear in that text whatever it holds: a backtracking engine (JavaScript's
// RegExp, PCRE) can be made to run for minutes by one crafted command line. This module runs patterns on
// re2js, a pure-JavaScript port of RE2 (RE2/J's design: a lazy DFA, falling back to a Pike-VM NFA, never
// backtracking), and checks patterns before a rule runs, naming the construct RE2 lacks.
//
// The dialect is RE2's (docs/rules-sql.md, "Regular expressions"), which is what Sigma's rules assume where
// RE2 and PCRE agree: `.` matches any character but `\n` (JavaScript's also stops at `\r`, U+2028 and
// U+2029), `\s` is ASCII whitespace `[\t\n\f\r ]` (JavaScript's includes every Unicode space), `\d`, `\w`
// and `\b` are ASCII. Lookaround, backreferences, atomic groups, possessive quantifiers, conditionals and
// recursion cannot be matched in linear time and are refused; so are PCRE-only escapes RE2 does not read.
import {createRequire} from 'node:module';

import type {RE2JS as Re2js} from 're2js';

import {requiredLiterals} from './regex-literals.js';

// Loaded on first use (≈ 15–60 ms): commands that never match a pattern do not pay for it.
let engine: typeof Re2js | undefined;
function re2js(): typeof Re2js {
  engine ??= (createRequire(import.meta.url)('re2js') as {RE2JS: typeof Re2js}).RE2JS;
  return engine;
}

/** Load the engine now (a rule worker does it while it starts, so no rule pays for it). */
export function loadRegexEngine(): void {
  re2js();
}

/** Flags a pattern may carry: `i` case-insensitive, `m` `^`/`$` at line breaks, `s` `.` matches `\n`. */
export const REGEX_FLAGS = /^[ims]*$/;

/** A compiled pattern. `test` is unanchored, like RegExp.prototype.test, and linear in `text`. */
export interface LinearRegex {
  readonly source: string;
  readonly flags: string;
  test(text: string): boolean;
}

/** Why a pattern cannot run on the engine: the construct, where it is (0-based, in the pattern) and what to write. */
export interface RegexProblem {
  /** The construct as written, e.g. `(?=`, `\1`, `*+`. */
  readonly construct: string;
  /** Index of the construct in the pattern (code units), or null when the engine did not say. */
  readonly index: number | null;
  /** One sentence: what is wrong and what to write instead. */
  readonly message: string;
}

/** Thrown by compileRegex for a pattern the engine refuses. */
export class RegexError extends Error {
  constructor(readonly problem: RegexProblem) {
    super(problem.message);
    this.name = 'RegexError';
  }
}

interface Unsupported {
  /** Matches the construct at a position of the pattern (outside a character class). */
  readonly test: (pattern: string, at: number) => string | null;
  readonly what: (construct: string) => string;
  readonly instead: string;
}

const LOOKAROUND_INSTEAD =
  'the linear-time engine (RE2) has no lookaround; match the text in two conditions instead (`x REGEXP a AND NOT (x REGEXP b)`), or spell the allowed alternatives out';

const prefix =
  (...constructs: string[]) =>
  (pattern: string, at: number): string | null =>
    constructs.find((c) => pattern.startsWith(c, at)) ?? null;

/** Constructs of PCRE and JavaScript that RE2 does not have, found before the engine's own, terser error. */
const UNSUPPORTED: readonly Unsupported[] = [
  {test: prefix('(?<='), what: () => 'lookbehind `(?<=…)`', instead: LOOKAROUND_INSTEAD},
  {test: prefix('(?<!'), what: () => 'negative lookbehind `(?<!…)`', instead: LOOKAROUND_INSTEAD},
  {test: prefix('(?='), what: () => 'lookahead `(?=…)`', instead: LOOKAROUND_INSTEAD},
  {test: prefix('(?!'), what: () => 'negative lookahead `(?!…)`', instead: LOOKAROUND_INSTEAD},
  {test: prefix('(?>'), what: () => 'atomic group `(?>…)`', instead: 'write a plain group `(?:…)`: RE2 never backtracks, so it needs none'},
  {
    test: prefix('(?(', '(?R', '(?&', '(?P>'),
    what: (c) => `${c.startsWith('(?(') ? 'conditional' : 'recursion'} \`${c}…\``,
    instead: 'RE2 has neither conditionals nor recursion',
  },
  {test: prefix('(?#'), what: () => 'comment group `(?#…)`', instead: 'remove the comment'},
  {
    test: (p, at) =>
      p[at] === '\\' && /[1-9]/.test(p[at + 1] ?? '')
        ? p.slice(at, at + 2)
        : p.startsWith('\\k<', at) || p.startsWith('\\k{', at) || p.startsWith('\\g', at)
          ? p.slice(at, at + 2)
          : null,
    what: (c) => `backreference \`${c}\``,
    instead: 'backreferences cannot be matched in linear time; compare the two parts with SQL instead',
  },
  {test: prefix('\\Z'), what: () => 'escape `\\Z`', instead: 'write `\\z` (end of text) or `$`'},
  {test: prefix('\\G', '\\K', '\\R', '\\X'), what: (c) => `escape \`${c}\``, instead: 'RE2 does not have it'},
  {test: prefix('\\h'), what: () => 'escape `\\h`', instead: 'write `[ \\t]`'},
  {test: prefix('\\e'), what: () => 'escape `\\e`', instead: 'write `\\x1b`'},
  {test: prefix('\\c'), what: () => 'control escape `\\c`', instead: 'write the character as `\\xHH`'},
  {test: prefix('\\u'), what: () => 'JavaScript escape `\\u`', instead: 'write `\\x{HHHH}`'},
];

/** A possessive quantifier (`a*+`, `a++`, `a?+`, `a{2}+`) at `at`, when `at` ends a quantifier. */
function possessive(pattern: string, at: number): string | null {
  const c = pattern[at];
  if ((c === '*' || c === '+' || c === '?' || c === '}') && pattern[at + 1] === '+') return `${c}+`;
  return null;
}

/** The first unsupported construct outside character classes and escapes, with its index. */
function findUnsupported(pattern: string): RegexProblem | null {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (inClass) {
      if (c === '\\') i++;
      else if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      // `[]…]` and `[^]…]`: a `]` right after the opening is a literal.
      if (pattern[i + 1] === '^') i++;
      if (pattern[i + 1] === ']') i++;
      continue;
    }
    if (c === '\\' && pattern[i + 1] === 'Q') {
      // \Q…\E quotes literally.
      const end = pattern.indexOf('\\E', i + 2);
      i = end === -1 ? pattern.length : end + 1;
      continue;
    }
    for (const rule of UNSUPPORTED) {
      const construct = rule.test(pattern, i);
      if (construct !== null)
        return {construct, index: i, message: `${rule.what(construct)} at character ${i + 1} of the pattern is not supported: ${rule.instead}`};
    }
    const quantifier = possessive(pattern, i);
    if (quantifier !== null) {
      return {
        construct: quantifier,
        index: i,
        message: `possessive quantifier \`${quantifier}\` at character ${i + 1} of the pattern is not supported: drop the second \`+\` (RE2 never backtracks, so it needs none)`,
      };
    }
    if (c === '\\') i++;
  }
  return null;
}

function engineFlags(flags: string): number {
  const RE2JS = re2js();
  let value = 0;
  if (flags.includes('i')) value |= RE2JS.CASE_INSENSITIVE;
  if (flags.includes('m')) value |= RE2JS.MULTILINE;
  if (flags.includes('s')) value |= RE2JS.DOTALL;
  return value;
}

/** The engine's own error as a problem: `error parsing regexp: missing closing ): \`(ab\`` names the text. */
function engineProblem(pattern: string, error: unknown): RegexProblem {
  const detail = (error instanceof Error ? error.message : String(error)).replace(/^error parsing regexp: /, '');
  const quoted = /`([^`]*)`\s*$/.exec(detail)?.[1];
  const found = quoted === undefined || quoted === '' ? -1 : pattern.indexOf(quoted);
  const index = found === -1 ? null : found;
  return {construct: quoted ?? '', index, message: `invalid regular expression${index === null ? '' : ` at character ${index + 1}`}: ${detail}`};
}

/**
 * Whether `pattern` (with `flags`, any of `i`, `m`, `s`) runs on the engine: null, or the problem with the
 * construct named (lookahead, backreference, …) and where it is in the pattern.
 */
export function checkRegex(pattern: string, flags = ''): RegexProblem | null {
  try {
    compileRegex(pattern, flags);
    return null;
  } catch (error) {
    if (error instanceof RegexError) return error.problem;
    throw error;
  }
}

/**
 * Compile `pattern` for linear-time matching (RE2 syntax; flags any of `i`, `m`, `s`). Throws RegexError
 * naming the construct the engine lacks, or the syntax error.
 */
export function compileRegex(pattern: string, flags = ''): LinearRegex {
  if (!REGEX_FLAGS.test(flags)) {
    throw new RegexError({construct: flags, index: null, message: `flags are any of i, m, s, not "${flags}"`});
  }
  let compiled: Re2js;
  try {
    compiled = re2js().compile(pattern, engineFlags(flags));
  } catch (error) {
    throw new RegexError(findUnsupported(pattern) ?? engineProblem(pattern, error));
  }
  // Most rows hold none of a pattern's required literals: `includes` rules them out ≈ 50× faster than the engine.
  const literals = requiredLiterals(pattern, flags);
  if (literals === null) return {source: pattern, flags, test: (text) => compiled.test(text)};
  return {source: pattern, flags, test: (text) => literals.some((literal) => text.includes(literal)) && compiled.test(text)};
}

/**
 * A per-caller cache of compiled patterns (rule databases keep one each): at most `size` patterns, the
 * whole cache dropped when full (patterns come from rule text, so a full cache means a rule builds
 * patterns from data).
 */
export function regexCache(size = 256): (pattern: string, flags?: string) => LinearRegex {
  const patterns = new Map<string, LinearRegex>();
  return (pattern, flags = '') => {
    const key = `${flags}/${pattern}`;
    let regex = patterns.get(key);
    if (regex === undefined) {
      regex = compileRegex(pattern, flags);
      if (patterns.size >= size) patterns.clear();
      patterns.set(key, regex);
    }
    return regex;
  };
}
