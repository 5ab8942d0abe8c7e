// The spool: per sink, the alerts it could not take, kept under alerting.state_dir/spool/<sink>.json
// until a later run (or `alerts deliver`) delivers them. Rewritten atomically under its lock, bounded by
// max_queue_size (oldest dropped and counted). Delivery is at least once: a spool entry is removed
// only after its sink took it, so a run killed midway loses nothing (it may resend).
import {readdirSync, readFileSync, renameSync, rmSync} from 'node:fs';
import {join} from 'node:path';

import {systemErrorCode} from '../errors.js';
import {type Alert, AlertSchema} from '../models/alert.js';
import {writeFileAtomic} from '../util/atomic-write.js';
import {withLock} from '../util/lock.js';

const SPOOL_VERSION = 1;
const SPOOL_SUFFIX = '.json';

export interface SpoolEntry {
  readonly alert: Alert;
  /** When the alert first failed to reach the sink, epoch ms. */
  readonly spooled_at: number;
  /** Runs that tried and failed. */
  readonly attempts: number;
  readonly last_error: string | null;
}

export function spoolDir(stateDir: string): string {
  return join(stateDir, 'spool');
}

export function spoolPath(stateDir: string, sinkName: string): string {
  return join(spoolDir(stateDir), `${sinkName}${SPOOL_SUFFIX}`);
}

/** Sink names that have a spool file. */
export function spooledSinkNames(stateDir: string): string[] {
  try {
    return readdirSync(spoolDir(stateDir))
      .filter((name) => name.endsWith(SPOOL_SUFFIX) && !name.startsWith('.'))
      .map((name) => name.slice(0, -SPOOL_SUFFIX.length))
      .sort();
  } catch {
    return [];
  }
}

/** The entries of a spool file; missing is empty, damaged is moved aside (kept) and reported. */
export function readSpool(path: string, warn: (message: string) => void, now = Date.now()): SpoolEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (systemErrorCode(error) === 'ENOENT') return [];
    warn(`cannot read spool ${path} (${systemErrorCode(error) ?? String(error)}); its alerts wait for a later run`);
    return [];
  }
  let entries: unknown[];
  try {
    const parsed = JSON.parse(text) as {version?: unknown; entries?: unknown};
    if (parsed.version !== SPOOL_VERSION || !Array.isArray(parsed.entries)) throw new Error('unexpected structure');
    entries = parsed.entries;
  } catch (error) {
    const aside = `${path}.corrupt-${now}`;
    try {
      renameSync(path, aside);
    } catch {
      // leave it where it is
    }
    warn(`spool ${path} is corrupt (${(error as Error).message}); kept as ${aside} for inspection, a new spool is started`);
    return [];
  }
  const valid: SpoolEntry[] = [];
  let invalid = 0;
  for (const entry of entries) {
    const record = entry as Partial<SpoolEntry> | null;
    const alert = AlertSchema.safeParse(record?.alert);
    if (!alert.success || record === null) {
      invalid++;
      continue;
    }
    valid.push({
      alert: alert.data,
      spooled_at: typeof record.spooled_at === 'number' ? record.spooled_at : now,
      attempts: typeof record.attempts === 'number' ? record.attempts : 1,
      last_error: typeof record.last_error === 'string' ? record.last_error : null,
    });
  }
  if (invalid > 0) warn(`spool ${path}: ${invalid} entries are not valid alerts and were skipped`);
  return valid;
}

function writeSpool(path: string, sink: string, entries: readonly SpoolEntry[]): void {
  if (entries.length === 0) {
    rmSync(path, {force: true});
    return;
  }
  writeFileAtomic(path, `${JSON.stringify({version: SPOOL_VERSION, sink, entries})}\n`, {mode: 0o600});
}

export interface SpoolUpdate {
  /** Alert ids the sink took this run: removed from the spool. */
  readonly delivered: ReadonlySet<string>;
  /** Alert ids from the spool the sink failed again: their attempt count goes up. */
  readonly failedAgain: ReadonlySet<string>;
  /** New alerts the sink did not take: appended. */
  readonly add: readonly Alert[];
  readonly error: string | null;
  readonly maxQueueSize: number;
  readonly now: number;
  readonly warn: (message: string) => void;
  readonly lockTimeoutMs?: number;
}

/** Apply one run's outcome to a sink's spool under its lock; returns what is pending and what was dropped. */
export async function updateSpool(stateDir: string, sink: string, update: SpoolUpdate): Promise<{pending: number; dropped: number}> {
  const path = spoolPath(stateDir, sink);
  return withLock(
    path,
    () => {
      // Re-read under the lock: a concurrent run may have changed the spool since this run read it.
      const current = readSpool(path, update.warn, update.now);
      const known = new Set(current.map((entry) => entry.alert.id));
      const kept = current
        .filter((entry) => !update.delivered.has(entry.alert.id))
        .map((entry) => (update.failedAgain.has(entry.alert.id) ? {...entry, attempts: entry.attempts + 1, last_error: update.error} : entry));
      for (const alert of update.add) {
        if (!known.has(alert.id)) kept.push({alert, spooled_at: update.now, attempts: 1, last_error: update.error});
      }
      const dropped = Math.max(0, kept.length - update.maxQueueSize);
      const bounded = dropped > 0 ? kept.slice(dropped) : kept;
      writeSpool(path, sink, bounded);
      return {pending: bounded.length, dropped};
    },
    update.lockTimeoutMs === undefined ? {} : {timeoutMs: update.lockTimeoutMs},
  );
}
