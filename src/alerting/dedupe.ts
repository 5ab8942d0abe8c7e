// Deduplication across runs: `dedupe.json` under alerting.state_dir maps each dedupe key to when it
// last left the process. The check and the update happen under one lock, so concurrent runs agree on
// who sends an alert; a corrupt state file is set aside, reported and rebuilt, never fatal.
import {renameSync} from 'node:fs';
import {join} from 'node:path';

import {isDaemonEyeError, systemErrorCode} from '../errors.js';
import type {Alert} from '../models/alert.js';
import {readStateFile, writeStateFile} from '../util/state-file.js';
import {withLock} from '../util/lock.js';

export const DEDUPE_STATE_FILE = 'dedupe.json';
const STATE_VERSION = 1;

export interface DedupeOptions {
  readonly windowMinutes: number;
  readonly now: number;
  readonly warn: (message: string) => void;
  readonly lockTimeoutMs?: number;
}

export interface DedupeOutcome {
  readonly passed: Alert[];
  readonly suppressed: Alert[];
}

export function dedupeStatePath(stateDir: string): string {
  return join(stateDir, DEDUPE_STATE_FILE);
}

/** Read the key → time map; a missing file is empty, a damaged one is moved aside and reported. */
export function readDedupeState(path: string, warn: (message: string) => void, now = Date.now()): Map<string, number> {
  let text: string;
  try {
    const bytes = readStateFile(path, {what: 'dedupe state'});
    if (bytes === undefined) return new Map();
    text = bytes.toString('utf8');
  } catch (error) {
    if (isDaemonEyeError(error) && error.code === 'STATE_UNSAFE') throw error;
    warn(`cannot read ${path} (${systemErrorCode(error) ?? String(error)}); deduplication starts afresh`);
    return new Map();
  }
  try {
    const parsed = JSON.parse(text) as {version?: unknown; entries?: unknown};
    if (parsed.version !== STATE_VERSION || parsed.entries === null || typeof parsed.entries !== 'object' || Array.isArray(parsed.entries)) {
      throw new Error('unexpected structure');
    }
    const entries = new Map<string, number>();
    for (const [key, value] of Object.entries(parsed.entries as Record<string, unknown>)) {
      if (typeof value === 'number' && Number.isFinite(value)) entries.set(key, value);
    }
    return entries;
  } catch (error) {
    const aside = `${path}.corrupt-${now}`;
    try {
      renameSync(path, aside);
    } catch {
      // Could not keep the evidence; the rebuilt state still replaces it.
    }
    warn(`dedupe state ${path} is corrupt (${(error as Error).message}); kept as ${aside} and rebuilt: alerts of the last window may be sent again`);
    return new Map();
  }
}

function writeDedupeState(path: string, entries: Map<string, number>): void {
  writeStateFile(path, `${JSON.stringify({version: STATE_VERSION, entries: Object.fromEntries(entries)})}\n`, {what: 'dedupe state'});
}

/**
 * Split alerts into those that may leave the process and those whose dedupe key left within the window
 * (in an earlier run, or earlier in this batch). Passed keys are recorded as sent now: a passed alert is
 * printed, delivered or spooled, so it is never lost and must not be sent twice.
 */
export async function applyDeduplication(stateDir: string, alerts: readonly Alert[], options: DedupeOptions): Promise<DedupeOutcome> {
  const path = dedupeStatePath(stateDir);
  const windowMs = options.windowMinutes * 60_000;
  return withLock(
    path,
    () => {
      const entries = readDedupeState(path, options.warn, options.now);
      for (const [key, time] of entries) if (options.now - time >= windowMs || time > options.now + windowMs) entries.delete(key);
      const passed: Alert[] = [];
      const suppressed: Alert[] = [];
      for (const alert of alerts) {
        const last = entries.get(alert.dedupe_key);
        if (last !== undefined && options.now - last < windowMs) {
          suppressed.push(alert);
        } else {
          passed.push(alert);
          entries.set(alert.dedupe_key, options.now);
        }
      }
      writeDedupeState(path, entries);
      return {passed, suppressed};
    },
    options.lockTimeoutMs === undefined ? {} : {timeoutMs: options.lockTimeoutMs},
  );
}
