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
  /**
   * Called with the alerts that pass once they are decided, before their keys are recorded as sent (still
   * under the lock): the caller writes them ahead there, so a key is never recorded for an alert that was
   * not saved first. It must not throw.
   */
  readonly beforeRecord?: (passed: readonly Alert[]) => void;
}

export interface DedupeOutcome {
  readonly passed: Alert[];
  readonly suppressed: Alert[];
  /** Why the state could not be locked, read or written (the decision then stands on what could be read). */
  readonly problems: string[];
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

const describe = (error: unknown): string => (isDaemonEyeError(error) ? error.toOneLine() : error instanceof Error ? error.message : String(error));

/**
 * Split alerts into those that may leave the process and those whose dedupe key left within the window
 * (in an earlier run, or earlier in this batch). Passed keys are recorded as sent now, after `beforeRecord`
 * wrote them ahead: a passed alert is printed, delivered or spooled, so it is never lost and must not be
 * sent twice. State that cannot be locked, read or written (a full or read-only disk, STATE_UNSAFE) never
 * stops alerts: the decision is made on what could be read (nothing: every alert passes), nothing is
 * recorded, and `problems` says why.
 */
export async function applyDeduplication(stateDir: string, alerts: readonly Alert[], options: DedupeOptions): Promise<DedupeOutcome> {
  const path = dedupeStatePath(stateDir);
  const windowMs = options.windowMinutes * 60_000;
  const decide = (entries: Map<string, number>): {passed: Alert[]; suppressed: Alert[]} => {
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
    return {passed, suppressed};
  };
  let decided = false;
  try {
    return await withLock(
      path,
      () => {
        const entries = readDedupeState(path, options.warn, options.now);
        const outcome = decide(entries);
        decided = true;
        options.beforeRecord?.(outcome.passed);
        const problems: string[] = [];
        try {
          writeDedupeState(path, entries);
        } catch (error) {
          problems.push(describe(error));
        }
        return {...outcome, problems};
      },
      options.lockTimeoutMs === undefined ? {} : {timeoutMs: options.lockTimeoutMs},
    );
  } catch (error) {
    if (decided) throw error;
    // No lock (a full or read-only disk, a lock held too long) or an unsafe state file: decide on what can
    // be read without the lock, record nothing.
    const problems = [describe(error)];
    let entries = new Map<string, number>();
    try {
      entries = readDedupeState(path, options.warn, options.now);
    } catch (inner) {
      if (!problems.includes(describe(inner))) problems.push(describe(inner));
    }
    const outcome = decide(entries);
    options.beforeRecord?.(outcome.passed);
    return {...outcome, problems};
  }
}
