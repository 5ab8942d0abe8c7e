import {describe, expect, it} from 'vitest';

import {paletteFor, PLAIN} from '../../src/output/colour.js';
import {Logger} from '../../src/output/logger.js';
import {renderTable} from '../../src/output/render.js';

const ESC = '\u001b';
const stripAnsi = (text: string): string => text.replace(/\u001b\[[0-9;]*m/g, '');

describe('colour', () => {
  it('is off unless the stream is a terminal, NO_COLOR is unset and TERM is not dumb', async () => {
    expect(await paletteFor({isTTY: false}, {})).toBe(PLAIN);
    expect(await paletteFor({isTTY: true}, {NO_COLOR: '1'})).toBe(PLAIN);
    expect(await paletteFor({isTTY: true}, {TERM: 'dumb'})).toBe(PLAIN);
    const palette = await paletteFor({isTTY: true}, {});
    expect(palette.enabled).toBe(true);
    expect(palette.severity('critical')('CRITICAL')).toBe(`${ESC}[1m${ESC}[31mCRITICAL${ESC}[39m${ESC}[22m`);
    expect(palette.health('healthy')('healthy')).toBe(`${ESC}[32mhealthy${ESC}[39m`);
    expect(palette.level('info')('x')).toBe('x');
  });

  it('a coloured table lines up exactly like the plain one', async () => {
    const palette = await paletteFor({isTTY: true}, {});
    const rows = [
      {severity: 'low' as const, rule: 'a-rule'},
      {severity: 'critical' as const, rule: 'another-rule'},
    ];
    const columns = (withPaint: boolean) => [
      {
        header: 'SEVERITY',
        get: (r: (typeof rows)[number]) => r.severity,
        ...(withPaint ? {paint: (r: (typeof rows)[number]) => palette.severity(r.severity)} : {}),
      },
      {header: 'RULE', get: (r: (typeof rows)[number]) => r.rule},
    ];
    const coloured = renderTable(rows, columns(true));
    expect(coloured).toContain(ESC);
    expect(stripAnsi(coloured)).toBe(renderTable(rows, columns(false)));
  });

  it('colours the level word of log lines, never what a process put in a message', async () => {
    const lines: string[] = [];
    const logger = new Logger({level: 'debug', format: 'text', palette: await paletteFor({isTTY: true}, {}), write: (line) => lines.push(line)});
    logger.warn(`rule failed for ${ESC}[31mevil${ESC}]0;title\u0007`);
    logger.info('plain');
    expect(lines[0]).toBe(`daemoneye: ${ESC}[33mwarn:${ESC}[39m rule failed for \\x1b[31mevil\\x1b]0;title\\x07\n`);
    expect(lines[1]).toBe('daemoneye: plain\n');
  });
});
