// The spool: per sink, the alerts it has not taken yet, under alerting.state_dir/spool/<sink>.json.
// A run writes its alerts here *before* delivering them (claimed by its pid) and removes them once the
// sink took them, so even a SIGKILLed run loses nothing: its claim goes stale and the next run delivers.
// Rewritten atomically under its lock, bounded by max_queue_size (oldest dropped and counted).
// Delivery is at least once: a run killed after the sink took an alert but before settling resends it.
import {readdirSync, renameSync, rmSync} from 'node:fs';
import {join} from 'node:path';

import {isDaemonEyeError, systemErrorCode} from '../errors.js';
import {type Alert, AlertSchema} from '../models/alert.js';
import {readStateFile, writeStateFile} from '../util/state-file.js';
import {withLock} from '../util/lock.js';
import {processAlive} from '../util/process.js';

const SPOOL_VERSION = 1;
const SPOOL_SUFFIX = '.json';

export interface SpoolEntry {
  readonly alert: Alert;
  /** When the alert entered the spool, epoch ms. */
  readonly spooled_at: number;
  /** Runs that tried and failed. */
  readonly attempts: number;
  readonly last_error: string | null;
  /** The run delivering it right now (pid and since when), null when it waits for the next run. */
  readonly claimed_by: number | null;
  readonly claimed_at: number | null;
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

/**
 * The entries of a spool file; missing is empty, damaged is moved aside (kept) and reported. A spool that
 * is a link, not this user's or writable by others throws STATE_UNSAFE (src/util/state-file.ts): it is
 * never read, nor written over.
 */
export function readSpool(path: string, warn: (message: string) => void, now = Date.now()): SpoolEntry[] {
  let text: string;
  try {
    const bytes = readStateFile(path, {what: 'spool'});
    if (bytes === undefined) return [];
    text = bytes.toString('utf8');
  } catch (error) {
    if (isDaemonEyeError(error) && error.code === 'STATE_UNSAFE') throw error;
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
      claimed_by: typeof record.claimed_by === 'number' ? record.claimed_by : null,
      claimed_at: typeof record.claimed_at === 'number' ? record.claimed_at : null,
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
  writeStateFile(path, `${JSON.stringify({version: SPOOL_VERSION, sink, entries})}\n`, {what: 'spool'});
}

interface SpoolIo {
  readonly now: number;
  readonly warn: (message: string) => void;
  readonly lockTimeoutMs?: number;
  /** The claiming run (default: this process). */
  readonly pid?: number;
}

export interface ClaimOptions extends SpoolIo {
  /** This run's new alerts for the sink: written ahead, claimed by this run. */
  readonly add: readonly Alert[];
  /** A claim older than this is stale even if its pid is alive (pids are reused). */
  readonly staleAfterMs: number;
}

export interface Claim {
  /** Entries of earlier runs this run now delivers, oldest first. */
  readonly earlier: readonly SpoolEntry[];
  /** This run's own alerts, as written ahead. */
  readonly fresh: readonly Alert[];
}

/**
 * Before delivering: under the lock, claim every waiting entry (unclaimed, or claimed by a run that is
 * gone) and write this run's new alerts ahead, claimed too. Entries another live run is delivering are
 * left to it, so concurrent runs do not send them twice.
 */
export async function claimSpool(stateDir: string, sink: string, options: ClaimOptions): Promise<Claim> {
  const path = spoolPath(stateDir, sink);
  const pid = options.pid ?? process.pid;
  return withLock(
    path,
    () => {
      const current = readSpool(path, options.warn, options.now);
      const earlier: SpoolEntry[] = [];
      const claimed = current.map((entry) => {
        const held =
          entry.claimed_by !== null &&
          entry.claimed_by !== pid &&
          processAlive(entry.claimed_by) &&
          options.now - (entry.claimed_at ?? 0) < options.staleAfterMs;
        if (held) return entry;
        const mine = {...entry, claimed_by: pid, claimed_at: options.now};
        earlier.push(mine);
        return mine;
      });
      const known = new Set(current.map((entry) => entry.alert.id));
      const fresh = options.add.filter((alert) => !known.has(alert.id));
      for (const alert of fresh) claimed.push({alert, spooled_at: options.now, attempts: 0, last_error: null, claimed_by: pid, claimed_at: options.now});
      if (earlier.length > 0 || fresh.length > 0) writeSpool(path, sink, claimed);
      return {earlier, fresh};
    },
    options.lockTimeoutMs === undefined ? {} : {timeoutMs: options.lockTimeoutMs},
  );
}

export interface SettleOptions extends SpoolIo {
  /** Alert ids this run claimed (earlier and fresh). */
  readonly claimed: ReadonlySet<string>;
  /** Of those, the ones the sink took: removed. */
  readonly delivered: ReadonlySet<string>;
  readonly error: string | null;
  readonly maxQueueSize: number;
}

/** After delivering: remove what the sink took, release the rest for the next run, enforce the bound. */
export async function settleSpool(stateDir: string, sink: string, options: SettleOptions): Promise<{pending: number; dropped: number}> {
  const path = spoolPath(stateDir, sink);
  const pid = options.pid ?? process.pid;
  return withLock(
    path,
    () => {
      // Re-read under the lock: other runs may have added to the spool meanwhile.
      const current = readSpool(path, options.warn, options.now);
      const kept = current
        .filter((entry) => !(entry.claimed_by === pid && options.delivered.has(entry.alert.id)))
        .map((entry) =>
          entry.claimed_by === pid && options.claimed.has(entry.alert.id)
            ? {...entry, attempts: entry.attempts + 1, last_error: options.error, claimed_by: null, claimed_at: null}
            : entry,
        );
      const dropped = Math.max(0, kept.length - options.maxQueueSize);
      const bounded = dropped > 0 ? kept.slice(dropped) : kept;
      writeSpool(path, sink, bounded);
      return {pending: bounded.length, dropped};
    },
    options.lockTimeoutMs === undefined ? {} : {timeoutMs: options.lockTimeoutMs},
  );
}
