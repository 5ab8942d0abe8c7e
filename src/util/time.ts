// One parser for every time a user types (--since, --until, audit show): ISO 8601, epoch milliseconds,
// or a duration ago (`90m`, `24h`, `7d`).
import {DaemonEyeError} from '../errors.js';

/** The widest range of epoch milliseconds a Date holds (±100,000,000 days). */
const MAX_EPOCH_MS = 8.64e15;

const UNIT_MS: Record<string, number> = {ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000};
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;
const EPOCH_MS = /^\d{1,16}$/;
// A date, optionally with a time and zone: 2024-05-01, 2024-05-01T10:00, 2024-05-01 10:00:00Z, …
const ISO = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * The longest delay Node's timers take, 2^31−1 ms (≈ 24.8 days): a longer one silently becomes 1 ms. Every
 * duration a user gives (timeouts, deadlines) is bounded by it where it is read.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** Parse a duration such as `90m` into milliseconds; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (match === null) return undefined;
  return Math.round(Number(match[1]) * (UNIT_MS[match[2] as string] as number));
}

/**
 * A point in time as epoch milliseconds. Durations count back from `now`; dates without a zone are UTC
 * (a responder comparing hosts in several zones wants one clock).
 */
export function parseTime(text: string, now: number = Date.now(), flag = 'time'): number {
  const value = text.trim();
  const duration = parseDuration(value);
  if (duration !== undefined) return inDateRange(now - duration, text, flag);
  if (EPOCH_MS.test(value)) return inDateRange(Number(value), text, flag);
  if (ISO.test(value)) {
    const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(value) || !/[T ]/.test(value);
    const normalised = value.replace(' ', 'T');
    const ms = Date.parse(hasZone ? (/[T ]/.test(value) ? normalised : `${normalised}T00:00:00Z`) : `${normalised}Z`);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new DaemonEyeError('INVALID_TIME', `${flag}: cannot read "${text}" as a time`, {
    hint: 'use ISO 8601 (2024-05-01T10:00:00Z), epoch milliseconds, or a duration ago (90m, 24h, 7d)',
  });
}

function inDateRange(ms: number, text: string, flag: string): number {
  if (Number.isFinite(ms) && Math.abs(ms) <= MAX_EPOCH_MS) return ms;
  throw new DaemonEyeError('INVALID_TIME', `${flag}: "${text}" is outside the dates a clock can show`, {
    hint: 'use a date between the years -271821 and 275760, or a shorter duration',
  });
}

/** RFC 3339 rendering of epoch ms, for humans. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString();
}
