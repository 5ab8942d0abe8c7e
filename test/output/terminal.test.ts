import {describe, expect, it} from 'vitest';

import {csvLine, renderTable} from '../../src/output/render.js';
import {Logger} from '../../src/output/logger.js';
import {safeJson, terminalOutput, terminalSafe, truncate} from '../../src/output/terminal.js';
import {DaemonEyeError} from '../../src/errors.js';
import {resolveFormat} from '../../src/output/format.js';

describe('terminal safety', () => {
  it('makes ANSI escapes, C1 controls, newlines and bidi overrides visible', () => {
    expect(terminalSafe('evil\u001b[2Jname')).toBe('evil\\x1b[2Jname');
    expect(terminalSafe('a\nb\tc\r')).toBe('a\\nb\\tc\\r');
    expect(terminalSafe('x\u009by')).toBe('x\\x9by');
    expect(terminalSafe('file\u202egpj.exe')).toBe('file\\u202egpj.exe');
    expect(terminalSafe('日本語 ok')).toBe('日本語 ok');
  });

  // One case per kind of the policy (src/output/terminal.ts, TERMINAL_UNSAFE_CLASS): each shown, not acted on or hidden.
  const INVISIBLE: readonly (readonly [string, string])[] = [
    ['\u200e', '\\u200e'], // LEFT-TO-RIGHT MARK
    ['\u200f', '\\u200f'], // RIGHT-TO-LEFT MARK
    ['\u061c', '\\u061c'], // ARABIC LETTER MARK
    ['\u200b', '\\u200b'], // ZERO WIDTH SPACE
    ['\u200c', '\\u200c'], // ZERO WIDTH NON-JOINER
    ['\u200d', '\\u200d'], // ZERO WIDTH JOINER
    ['\u2060', '\\u2060'], // WORD JOINER
    ['\ufeff', '\\ufeff'], // BYTE ORDER MARK
    ['\u00ad', '\\xad'], // SOFT HYPHEN
    ['\u2064', '\\u2064'], // INVISIBLE PLUS
    ['\ufff9', '\\ufff9'], // INTERLINEAR ANNOTATION ANCHOR
    ['\u{e0041}', '\\u{e0041}'], // TAG LATIN CAPITAL LETTER A
    ['\u{e0001}', '\\u{e0001}'], // LANGUAGE TAG
    ['\ufe0f', '\\ufe0f'], // VARIATION SELECTOR-16
    ['\u{e0100}', '\\u{e0100}'], // VARIATION SELECTOR-17
    ['\u3164', '\\u3164'], // HANGUL FILLER
    ['\u034f', '\\u034f'], // COMBINING GRAPHEME JOINER
    ['\u180e', '\\u180e'], // MONGOLIAN VOWEL SEPARATOR
    ['\u2066', '\\u2066'], // LEFT-TO-RIGHT ISOLATE
    ['\u2029', '\\u2029'], // PARAGRAPH SEPARATOR
    ['\ud800', '\\ud800'], // a lone surrogate
  ];

  it('makes bidi marks, zero-width, format, tag, variation-selector and filler characters visible', () => {
    for (const [char, shown] of INVISIBLE) {
      expect(terminalSafe(`ss${char}hd`), shown).toBe(`ss${shown}hd`);
      expect(terminalOutput(`ss${char}hd\n`, true), shown).toBe(`ss${shown}hd\n`);
    }
  });

  it('keeps the letters, marks and symbols of every script readable', () => {
    for (const text of ['José Müller', 'Jose\u0301', 'журнал', '進程 ok', 'עברית', 'العربية', 'ß→∑ €', 'naïve café'])
      expect(terminalSafe(text), text).toBe(text);
  });

  it('JSON: every character of the policy escaped, the value the same once parsed', () => {
    for (const [char] of INVISIBLE) {
      const text = safeJson({name: `a${char}b\u0085`});
      expect(terminalOutput(text, false), JSON.stringify(char)).toBe(text);
      expect(text).toMatch(/^[\x20-\x7e]+$/);
      expect(JSON.parse(text)).toEqual({name: `a${char}b\u0085`});
    }
  });

  it('keeps JSON valid while escaping what JSON.stringify leaves raw', () => {
    const text = safeJson({name: 'a\u009bb\u2028c\u001b'});
    expect(text).toBe('{"name":"a\\u009bb\\u2028c\\u001b"}');
    expect(JSON.parse(text)).toEqual({name: 'a\u009bb\u2028c\u001b'});
  });

  it('truncates by characters with an ellipsis', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
  });
});

describe('terminalOutput: a whole text for a terminal', () => {
  it('keeps line feeds, tabs and CR LF line ends; escapes every other control, OSC, a lone CR and bidi overrides', () => {
    expect(terminalOutput('a,b\r\nc\td\n', false)).toBe('a,b\r\nc\td\n');
    expect(terminalOutput('x\u001b]0;T\u0007y\rz\u202e\b\u009b', false)).toBe('x\\x1b]0;T\\x07y\\rz\\u202e\\x08\\x9b');
  });

  it("keeps the palette's colours only when colour is on, and never another SGR", () => {
    expect(terminalOutput('\u001b[31mhigh\u001b[39m', true)).toBe('\u001b[31mhigh\u001b[39m');
    expect(terminalOutput('\u001b[31mhigh\u001b[39m', false)).toBe('\\x1b[31mhigh\\x1b[39m');
    // Conceal (8) and a 256-colour sequence are not ours.
    expect(terminalOutput('\u001b[8mhidden\u001b[38;5;1m', true)).toBe('\\x1b[8mhidden\\x1b[38;5;1m');
  });
});

describe('the logger', () => {
  it('scrubs known secrets and what the policy finds, in text and JSON (before serialising: a quote in a secret)', () => {
    for (const format of ['text', 'json'] as const) {
      const lines: string[] = [];
      const logger = new Logger({level: 'debug', format, write: (line) => lines.push(line)});
      logger.addSecret('s3"cret');
      logger.warn('sink said s3"cret and https://u:pw@h/?token=t0k', {header: 'Authorization: Bearer abc123', raw: 's3"cret'});
      logger.reportError(new DaemonEyeError('IO_READ_FAILED', 'cannot read /tmp/ghp_0123456789abcdefghijklmnopqrstuvwxyz', {hint: 'x'}));
      const text = lines.join('');
      expect(text, format).not.toMatch(/s3\\?"cret|pw@|t0k|abc123|ghp_0123/);
      expect(text).toContain('[REDACTED]');
      if (format === 'json') for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
    }
  });

  it('report lines: no prefix, scrubbed, terminal-safe', () => {
    const lines: string[] = [];
    const logger = new Logger({level: 'error', format: 'text', write: (line) => lines.push(line)});
    logger.report('bad\u001b]0;x\u0007.yaml: password=hunter2');
    expect(lines).toEqual(['bad\\x1b]0;x\\x07.yaml: password=[REDACTED]\n']);
  });
});

describe('renderers', () => {
  it('quotes CSV per RFC 4180', () => {
    expect(csvLine(['a', 'b,c', 'say "hi"', 'x\ny', null, 3, ['z']])).toBe('a,"b,c","say ""hi""","x\ny",,3,"[""z""]"\r\n');
    expect(csvLine(['x\r\ny', 'p\rq'])).toBe('"x\r\ny","p\rq"\r\n');
  });

  it('CSV for a terminal: a CR or LF in a cell is shown as \\r / \\n, so no cell can end a row', () => {
    expect(csvLine(['x\r\ny', 'p\rq', 'a\nb,c', 'plain'], true)).toBe('x\\r\\ny,p\\rq,"a\\nb,c",plain\r\n');
  });

  it('renders a table with safe, fitted cells', () => {
    const text = renderTable(
      [
        {pid: 1, name: 'init'},
        {pid: 4242, name: 'evil\u001b[31m'},
      ],
      [
        {header: 'PID', get: (r: {pid: number}) => r.pid, align: 'right'},
        {header: 'NAME', get: (r: {name: string}) => r.name},
      ],
      12,
    );
    expect(text).toBe(' PID  NAME\n   1  init\n4242  evil\\…\n');
    expect(text).not.toContain('\u001b');
  });

  it('caps a column at its width only on a terminal: to a file or pipe every value is whole', () => {
    const rows = [{path: '/usr/lib/x86_64-linux-gnu/libc.so.6'}, {path: '/tmp/x'}];
    const columns = [
      {header: 'PATH', get: (r: {path: string}) => r.path, width: 10},
      {header: 'N', get: () => 1},
    ];
    const piped = renderTable(rows, columns);
    expect(piped.split('\n')[1]).toMatch(/^\/usr\/lib\/x86_64-linux-gnu\/libc\.so\.6 +1$/);
    expect(piped).not.toContain('…');
    expect(renderTable(rows, columns, 80)).toContain('/usr/lib/…  1');
  });

  it('defaults to table on a TTY and NDJSON when piped', () => {
    expect(resolveFormat(undefined, {isTTY: true})).toBe('table');
    expect(resolveFormat(undefined, {isTTY: false})).toBe('ndjson');
    expect(resolveFormat('json', {isTTY: true})).toBe('json');
  });
});
