import {describe, expect, it} from 'vitest';

import {csvLine, renderTable} from '../../src/output/render.js';
import {safeJson, terminalSafe, truncate} from '../../src/output/terminal.js';
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
