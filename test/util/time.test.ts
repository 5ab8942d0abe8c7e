import {describe, expect, it} from 'vitest';

import {parseDuration, parseTime} from '../../src/util/time.js';

describe('parseTime', () => {
  const now = Date.UTC(2026, 0, 10, 12, 0, 0);

  it('reads durations back from now', () => {
    expect(parseTime('90m', now)).toBe(now - 90 * 60_000);
    expect(parseTime('24h', now)).toBe(now - 86_400_000);
    expect(parseTime('7d', now)).toBe(now - 7 * 86_400_000);
    expect(parseDuration('1.5s')).toBe(1500);
  });

  it('reads epoch milliseconds and ISO 8601 (UTC without a zone)', () => {
    expect(parseTime('1640995200000', now)).toBe(1640995200000);
    expect(parseTime('2022-01-01', now)).toBe(1640995200000);
    expect(parseTime('2022-01-01T00:00:00Z', now)).toBe(1640995200000);
    expect(parseTime('2022-01-01T01:00:00+01:00', now)).toBe(1640995200000);
    expect(parseTime('2022-01-01 00:00', now)).toBe(1640995200000);
  });

  it('refuses anything else with a hint', () => {
    for (const bad of ['yesterday', '12x', '2022-13-45', '', '-5m']) {
      expect(() => parseTime(bad, now, '--since')).toThrow(/--since: cannot read/);
    }
  });

  it('refuses a time outside what a Date holds, instead of failing later', () => {
    expect(() => parseTime('99999999999999d', now, '--since')).toThrow(/--since: "99999999999999d" is outside the dates a clock can show/);
  });
});
