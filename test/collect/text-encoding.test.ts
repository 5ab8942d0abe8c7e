import fc from 'fast-check';
import {describe, expect, it} from 'vitest';

import {escapeBytes, escapeLatin1, needsEscape, unescapeBytes} from '../../src/collect/text-encoding.js';

const bytes = (...parts: (string | number[])[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

describe('escapeBytes / unescapeBytes: the one lossless text form', () => {
  const cases: [string, Buffer, string][] = [
    ['plain text is itself', bytes('/usr/bin/sleep 1000'), '/usr/bin/sleep 1000'],
    ['invalid lead bytes', bytes([0xff, 0xfe], 'upd'), '\\xff\\xfeupd'],
    ['valid multi-byte characters stay', bytes('日本', [0xc0, 0x80]), '日本\\xc0\\x80'],
    ['a truncated sequence at the end', bytes('A', [0xe6, 0x97]), 'A\\xe6\\x97'],
    ['an encoded surrogate is not UTF-8', bytes([0xed, 0xa0, 0x80]), '\\xed\\xa0\\x80'],
    ['above U+10FFFF is not UTF-8', bytes([0xf4, 0x90, 0x80, 0x80]), '\\xf4\\x90\\x80\\x80'],
    ['a four-byte character stays', bytes('a😀', [0x80]), 'a😀\\x80'],
    ['ESC, BEL, CR, NUL and DEL are escaped', bytes('a\x1b[31mb\x07\r\0\x7f'), 'a\\x1b[31mb\\x07\\x0d\\x00\\x7f'],
    ['C1 control characters (U+0085, U+009B) are escaped byte by byte', bytes('a\u0085b\u009b'), 'a\\xc2\\x85b\\xc2\\x9b'],
    ['tab and line feed stay (shells split words on them)', bytes('a\tb\nc'), 'a\tb\nc'],
    ['U+00A0 and above are characters, not controls', bytes('\u00a0é'), '\u00a0é'],
    ['a lone backslash stays', bytes('C:\\temp\\'), 'C:\\temp\\'],
    ["printf '\\x41' stays: 0x41 is never escaped", bytes("printf '\\x41\\x42'"), "printf '\\x41\\x42'"],
    ['literal \\x0a and \\x09 stay: tab and line feed are never escaped', bytes('\\x0a\\x09'), '\\x0a\\x09'],
    ['a backslash before text that reads as an escape is doubled', bytes('a\\xff', [0xff]), 'a\\\\xff\\xff'],
    ['a backslash before an escaped byte is doubled', bytes('\\', [0x1b]), '\\\\\\x1b'],
    ['a backslash before a backslash is doubled', bytes('\\\\'), '\\\\\\'],
    ['upper-case hex is not an escape', bytes('\\xFF'), '\\xFF'],
    ['octal-looking text stays', bytes('/tmp/a\\012b'), '/tmp/a\\012b'],
  ];
  for (const [name, input, text] of cases) {
    it(name, () => {
      expect(escapeBytes(input)).toBe(text);
      expect(unescapeBytes(text)).toEqual(input);
      expect(escapeLatin1(input.toString('latin1'))).toBe(text);
      expect(needsEscape(input)).toBe(text !== input.toString('utf8'));
    });
  }

  it('round-trips every string of up to 4 bytes over an alphabet of the tricky bytes', () => {
    const alphabet = [0x5c, 0x78, 0x30, 0x31, 0x61, 0x66, 0x0a, 0x1b, 0x7f, 0xc2, 0x85, 0xa0, 0xff, 0xe6, 0x97];
    let count = 0;
    const walk = (prefix: number[]): void => {
      const input = Buffer.from(prefix);
      const text = escapeBytes(input);
      if (!unescapeBytes(text).equals(input)) expect([prefix, text]).toBe('a round trip');
      count++;
      if (prefix.length < 4) for (const b of alphabet) walk([...prefix, b]);
    };
    walk([]);
    expect(count).toBe(1 + 15 + 15 ** 2 + 15 ** 3 + 15 ** 4);
  });

  it('round-trips any bytes and gives the same text for the same bytes only (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({maxLength: 64}), fc.uint8Array({maxLength: 64}), (a, b) => {
        const ta = escapeBytes(a);
        expect(unescapeBytes(ta)).toEqual(Buffer.from(a));
        // Injective: different bytes never share a text.
        if (!Buffer.from(a).equals(Buffer.from(b))) expect(escapeBytes(b)).not.toBe(ta);
        // No control character other than tab and line feed survives.
        expect(ta).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
      }),
      {seed: 22, numRuns: 2000},
    );
  });
});
