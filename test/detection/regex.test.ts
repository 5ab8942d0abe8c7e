import {describe, expect, it} from 'vitest';

import {checkRegex, compileRegex, RegexError, regexCache} from '../../src/detection/regex.js';
import {expectLinearTime} from '../helpers/linear-time.js';

const matches = (pattern: string, text: string, flags = ''): boolean => compileRegex(pattern, flags).test(text);

describe('the regular-expression dialect (RE2, as Sigma rules assume where it agrees with PCRE)', () => {
  it('. stops only at \\n (JavaScript also stops at \\r, U+2028, U+2029)', () => {
    expect(matches('^a.b$', 'a\rb')).toBe(true);
    expect(matches('^a.b$', 'a\u2028b')).toBe(true);
    expect(matches('^a.b$', 'a\u2029b')).toBe(true);
    expect(matches('^a.b$', 'a\nb')).toBe(false);
    expect(matches('^a.b$', 'a\nb', 's')).toBe(true);
  });

  it('\\s is ASCII whitespace [\\t\\n\\f\\r ] (JavaScript adds \\v and every Unicode space)', () => {
    for (const space of [' ', '\t', '\n', '\f', '\r']) expect(matches('^a\\sb$', `a${space}b`)).toBe(true);
    for (const space of ['\u000b', '\u00a0', '\u2003', '\u3000', '\ufeff']) expect(matches('^a\\sb$', `a${space}b`)).toBe(false);
    expect(matches('^a\\Sb$', 'a\u00a0b')).toBe(true);
  });

  it('\\d, \\w and \\b are ASCII', () => {
    expect(matches('^\\d$', '\u0663')).toBe(false);
    expect(matches('^\\w$', 'é')).toBe(false);
    expect(matches('\\bcurl\\b', 'xcurl')).toBe(false);
    expect(matches('\\bcurl\\b', '/usr/bin/curl -s')).toBe(true);
  });

  it('$ is the end of the text, ^ and $ meet \\n only with m', () => {
    expect(matches('sh$', 'sh\n')).toBe(false);
    expect(matches('^b$', 'a\nb\nc')).toBe(false);
    expect(matches('^b$', 'a\nb\nc', 'm')).toBe(true);
    expect(matches('^b$', 'a\rb\rc', 'm')).toBe(false);
  });

  it('i folds case beyond ASCII', () => {
    expect(matches('ÉTÉ', 'été', 'i')).toBe(true);
    expect(matches('(?i)curl', 'CURL')).toBe(true);
    expect(matches('curl', 'CURL')).toBe(false);
  });

  it('reads the RE2 syntax Sigma rules use: classes, counted repetition, non-capturing and named groups, \\x escapes', () => {
    expect(matches('[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}', 'wget http://10.0.0.1/x')).toBe(true);
    expect(matches('(?:\\s-[^-\\s]{0,20}i|\\s--inode\\s)', 'ls -lai /')).toBe(true);
    expect(matches('(?P<tool>nc|ncat)\\s', 'ncat -e')).toBe(true);
    expect(matches('(?<tool>nc|ncat)\\s', 'ncat -e')).toBe(true);
    expect(matches("[\\x22']\\$\\x{27}", `"$'`)).toBe(true);
    expect(matches('[[:digit:]]+', 'abc123')).toBe(true);
    expect(matches('\\Qa.b\\E', 'axb')).toBe(false);
  });
});

describe('constructs RE2 cannot run are refused with the construct named and its place', () => {
  it.each([
    ['curl(?=.*sh)', '(?=', 'lookahead', 4],
    ['curl(?!x)', '(?!', 'negative lookahead', 4],
    ['(?<=a)b', '(?<=', 'lookbehind', 0],
    ['x(?<!a)b', '(?<!', 'negative lookbehind', 1],
    ['(a+)\\1', '\\1', 'backreference', 4],
    ['(?<n>a)\\k<n>', '\\k', 'backreference', 7],
    ['(?>a+)b', '(?>', 'atomic group', 0],
    ['a*+b', '*+', 'possessive quantifier', 1],
    ['a{2}+b', '}+', 'possessive quantifier', 3],
    ['(a)?(?(1)b|c)', '(?(', 'conditional', 4],
    ['(a(?R)?b)', '(?R', 'recursion', 2],
    ['a(?#note)b', '(?#', 'comment group', 1],
    ['sh\\Z', '\\Z', 'escape `\\Z`', 2],
    ['a\\hb', '\\h', 'escape `\\h`', 1],
    ['\\u0041', '\\u', 'JavaScript escape', 0],
  ])('%s → %s', (pattern, construct, name, index) => {
    const problem = checkRegex(pattern);
    expect(problem).toMatchObject({construct, index});
    expect(problem?.message).toContain(name);
    expect(problem?.message).toContain(`at character ${index + 1} of the pattern`);
    expect(() => compileRegex(pattern)).toThrow(RegexError);
  });

  it('a construct inside a character class or \\Q…\\E is a literal, not refused', () => {
    expect(checkRegex('[(?=]x')).toBeNull();
    expect(checkRegex('\\Q(?=\\E')).toBeNull();
    expect(checkRegex('\\(?=')).toBeNull();
  });

  it('syntax errors name the engine problem and where it is', () => {
    expect(checkRegex('(unclosed')?.message).toMatch(/invalid regular expression.*missing closing \)/);
    expect(checkRegex('a{2,1001}')?.message).toMatch(/at character 2: invalid repeat count/);
    expect(checkRegex('a', 'g')?.message).toMatch(/flags are any of i, m, s, not "g"/);
  });

  it('valid patterns pass', () => {
    for (const pattern of ['', 'a|b', '^\\S+(\\s+-[a-z]+)*\\s*$', '(.){200,}', '[^/\\s:]+']) expect(checkRegex(pattern)).toBeNull();
  });
});

describe('regexCache', () => {
  it('compiles each pattern and flag set once and keeps at most its size', () => {
    const cache = regexCache(2);
    const a = cache('a');
    expect(cache('a')).toBe(a);
    expect(cache('a', 'i')).not.toBe(a);
    cache('b');
    // Full: dropped whole, so `a` is compiled anew.
    expect(cache('a')).not.toBe(a);
    expect(cache('a').test('xax')).toBe(true);
  });
});

describe('matching takes time linear in the text', () => {
  // Patterns a backtracking engine runs for minutes on these texts (nested and overlapping quantifiers).
  const cases: [string, (n: number) => string][] = [
    ['^(a+)+$', (n) => `${'a'.repeat(n)}!`],
    ['(x+x+)+y', (n) => 'x'.repeat(n)],
    ['(base64\\s+-d)([0-9]?>&[0-9]|[^;&])*\\|\\s*sh\\b', (n) => `base64 -d ${'1>&2 '.repeat(n / 5)}`],
    ['\\b(curl|wget)\\b[^|;&]*\\|\\s*sh\\b', (n) => 'curl '.repeat(n / 5)],
    ['(.*a){12}z', (n) => 'a'.repeat(n)],
  ];
  it.each(cases)('%s', (pattern, text) => {
    const regex = compileRegex(pattern);
    expectLinearTime((n) => {
      const input = text(n);
      return () => regex.test(input);
    }, 100_000);
  });
});
