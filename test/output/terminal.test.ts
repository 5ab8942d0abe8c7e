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
