import {describe, expect, it} from 'vitest';

import type {Alert} from '../../src/models/alert.js';
import {boundAlertSize, cutMarker} from '../../src/models/alert-size.js';
import {alertOfRows} from '../helpers/alerts.js';

const alert = alertOfRows;

const size = (a: Alert): number => Buffer.byteLength(JSON.stringify(a), 'utf8');

describe('boundAlertSize', () => {
  it('leaves an alert that fits as it is', () => {
    const small = alert([{pid: 1, name: 'x', cmdline: 'x -y'}]);
    expect(boundAlertSize(small, 4096)).toBe(small);
  });

  it('cuts a 1 MB argv to fit, marking how much was cut, inside arrays too, never splitting a character', () => {
    const huge = alert([{pid: 1, name: 'curl', cmdline: 'curl '.repeat(200_000), command_line: ['sh', 'é'.repeat(300_000)]}]);
    const bounded = boundAlertSize(huge, 65_536);
    expect(size(bounded)).toBeLessThanOrEqual(65_536);
    const row = (bounded.alert_data as {processes: Record<string, unknown>[]; cut: boolean}).processes[0] as {cmdline: string; command_line: string[]};
    expect(row.cmdline).toMatch(/^curl curl .*…\[cut: \d+ bytes\]$/);
    expect(row.command_line[1]).toMatch(/^é+…\[cut: \d+ bytes\]$/);
    expect(row.command_line[1]).not.toContain('\uFFFD');
    expect((bounded.alert_data as {cut: boolean}).cut).toBe(true);
    // The bytes named by the marker are exactly those removed.
    const removed = Number(/\[cut: (\d+) bytes\]$/.exec(row.cmdline)?.[1]);
    expect(Buffer.byteLength(row.cmdline.slice(0, row.cmdline.indexOf('…[cut')), 'utf8') + removed).toBe(1_000_000);
    // The original is untouched.
    expect(((huge.alert_data as {processes: {cmdline: string}[]}).processes[0] as {cmdline: string}).cmdline).toHaveLength(1_000_000);
  });

  it('drops rows past the first when many rows cannot fit, saying how many', () => {
    const rows = Array.from({length: 5000}, (_, i) => ({pid: i + 1, name: `p${i}`, cmdline: `/usr/bin/p${i} --flag value-${'x'.repeat(40)}`}));
    const bounded = boundAlertSize(alert(rows), 65_536);
    const data = bounded.alert_data as {processes: unknown[]; rows_omitted: number};
    expect(size(bounded)).toBeLessThanOrEqual(65_536);
    expect(data.processes.length + data.rows_omitted).toBe(5000);
    expect(data.processes[0]).toEqual(rows[0]);
    // Every pid is still named.
    expect(bounded.affected_processes).toHaveLength(5000);
  });

  it('names the marker format', () => {
    expect(cutMarker(12)).toBe('…[cut: 12 bytes]');
  });
});
