import fc from 'fast-check';
import {createRequire} from 'node:module';
import {describe, expect, it} from 'vitest';

import type {RE2JS as Re2js} from 're2js';

import {compileRegex} from '../../src/detection/regex.js';
import {requiredLiterals} from '../../src/detection/regex-literals.js';

const {RE2JS} = createRequire(import.meta.url)('re2js') as {RE2JS: typeof Re2js};

describe('requiredLiterals', () => {
  it('names the texts one of which every match holds', () => {
    expect(requiredLiterals('\\bjournalctl\\b')).toEqual(['journalctl']);
    // Of two sets, the one whose shortest text is longest.
    expect(requiredLiterals('\\b(shred|wipe|srm|sdelete)\\b[^|;&]*(/var/log|wtmp)')).toEqual(['/var/log', 'wtmp']);
    expect(requiredLiterals('bash\\s+-i\\s*>&\\s*/dev/tcp/')).toEqual(['/dev/tcp/']);
    expect(requiredLiterals('(curl|wget)[^|]*\\|\\s*(ba)?sh')).toEqual(['curl', 'wget']);
    expect(requiredLiterals('a(bc)+d')).toEqual(['bc']);
    expect(requiredLiterals('(?:ab){2,}x')).toEqual(['ab']);
    expect(requiredLiterals('^/tmp/')).toEqual(['/tmp/']);
    expect(requiredLiterals('auth\\.log')).toEqual(['auth.log']);
  });

  it('says nothing where a match may hold no fixed text, or where it cannot follow the pattern', () => {
    for (const pattern of ['.', '\\S', 'a|.', '(a|)b?', 'x*', '(ab)?', 'a{0,3}', '', '^$', 'a{,3}', '(?i)abc', '(?s:a.b)', '\\x41b', '\\Qa.b\\E', 'é', '\\pL+'])
      expect(requiredLiterals(pattern), pattern).toBeNull();
    // Case-insensitive: RE2 folds more than ASCII (K matches the Kelvin sign).
    expect(requiredLiterals('abc', 'i')).toBeNull();
  });

  it('never changes what a pattern matches (random patterns and texts, against the engine alone)', () => {
    const atom = fc.constantFrom('a', 'b', 'ab', 'ba', '.', '[ab]', '[^a]', '\\b', '^', '$', '\\s', '\\.', '-', ' ', '(?:a|b)', '(a|bb)', '(ab|)');
    const quantifier = fc.constantFrom('', '', '', '*', '+', '?', '{2}', '{1,}', '{0,2}', '+?', '*?');
    const piece = fc
      .tuple(atom, quantifier)
      .map(([a, q]) => (q === '' ? a : a.length > 1 && !a.startsWith('(') && !a.startsWith('[') && !a.startsWith('\\') ? `(?:${a})${q}` : `${a}${q}`));
    const branch = fc.array(piece, {minLength: 0, maxLength: 5}).map((pieces) => pieces.join(''));
    const pattern = fc.array(branch, {minLength: 1, maxLength: 3}).map((branches) => branches.join('|'));
    const text = fc.string({unit: fc.constantFrom('a', 'b', ' ', '.', '-', '\n', 'x'), maxLength: 12});
    fc.assert(
      fc.property(pattern, fc.array(text, {minLength: 1, maxLength: 8}), fc.constantFrom('', 'm', 's'), (source, texts, flags) => {
        const engine = RE2JS.compile(source, (flags.includes('m') ? RE2JS.MULTILINE : 0) | (flags.includes('s') ? RE2JS.DOTALL : 0));
        const ours = compileRegex(source, flags);
        for (const t of texts) expect(ours.test(t), `${source} on ${JSON.stringify(t)}`).toBe(engine.test(t));
      }),
      {numRuns: 2000, seed: 22},
    );
  });
});
