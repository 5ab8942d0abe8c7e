// The spool: per sink, the alerts it has not taken yet, under alerting.state_dir/spool/<sink>.json.
// A run writes its alerts ahead, before the first delivery to any sink: first one run journal
// (spool/journal/<pid>-<ms>.json, every alert for every sink, in one atomic write), then each sink's spool
// (claimed by its pid), then the journal goes. A sink's entries leave its spool once it took them, so a
// SIGKILLed run loses nothing: a journal left by a dead run is folded into the spools by the next run or
// `alerts deliver`, and a dead run's claims are free again. Each spool is rewritten atomically under its
// lock, bounded by max_queue_size (oldest dropped and counted). Delivery is at least once: a run killed
// after a sink took an alert but before settling sends it again.
import {readdirSync, renameSync, rmSync} from 'node:fs';
import {join} from 'node:path';

import {DaemonEyeError, isDaemonEyeError, systemErrorCode} from '../errors.js';
import {type Alert, AlertSchema} from '../models/alert.js';
import {readStateFile, writeStateFile} from '../util/state-file.js';
import {withLock} from '../util/lock.js';
import {processAlive} from '../util/process.js';

const SPOOL_VERSION = 1;
const JOURNAL_VERSION = 1;
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

/** Where run journals live: `<alerts>/spool/journal/`. */
export function journalDir(stateDir: string): string {
  return join(spoolDir(stateDir), 'journal');
}

/** A run's write-ahead record: every alert of the run, and which sinks each is for (by alert id). */
interface RunJournal {
  readonly version: number;
  readonly pid: number;
  readonly created: number;
  readonly sinks: Readonly<Record<string, readonly string[]>>;
  readonly alerts: readonly Alert[];
}

function journalText(pid: number, created: number, perSink: ReadonlyMap<string, readonly Alert[]>): string | undefined {
  const alerts = new Map<string, Alert>();
  const sinks: Record<string, string[]> = {};
  for (const [sink, list] of perSink) {
    if (list.length === 0) continue;
    sinks[sink] = list.map((alert) => alert.id);
    for (const alert of list) alerts.set(alert.id, alert);
  }
  if (alerts.size === 0) return undefined;
  const journal: RunJournal = {version: JOURNAL_VERSION, pid, created, sinks, alerts: [...alerts.values()]};
  return `${JSON.stringify(journal)}\n`;
}

/**
 * Write ahead, before any delivery: one file holding, for each sink, the alerts this run will deliver to
 * it (`perSink`, sink name → alerts), written atomically (temp file, fsync, rename), so a kill leaves all of
 * it or none. Returns its path, or undefined when there is nothing to write. Throws the file error (a full
 * or read-only disk) or STATE_UNSAFE.
 */
export function writeJournal(stateDir: string, perSink: ReadonlyMap<string, readonly Alert[]>, options: {now: number; pid?: number}): string | undefined {
  const pid = options.pid ?? process.pid;
  const text = journalText(pid, options.now, perSink);
  if (text === undefined) return undefined;
  const path = join(journalDir(stateDir), `${pid}-${options.now}.json`);
  writeStateFile(path, text, {what: 'run journal'});
  return path;
}

/**
 * After delivery, for the sinks whose spool could not take this run's alerts: keep in the journal only
 * what those sinks did not take (`perSink`), or remove it when nothing is left. Throws the file error.
 */
export function settleJournal(path: string, perSink: ReadonlyMap<string, readonly Alert[]>, options: {now: number; pid?: number}): void {
  const text = journalText(options.pid ?? process.pid, options.now, perSink);
  if (text === undefined) rmSync(path, {force: true});
  else writeStateFile(path, text, {what: 'run journal'});
}

/** Remove a journal whose alerts every sink's spool now holds. Throws the file error. */
export function removeJournal(path: string): void {
  rmSync(path, {force: true});
}

function readJournal(path: string, warn: (message: string) => void, now: number): RunJournal | undefined {
  const bytes = readStateFile(path, {what: 'run journal'});
  if (bytes === undefined) return undefined;
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as Partial<RunJournal>;
    if (
      parsed.version !== JOURNAL_VERSION ||
      typeof parsed.pid !== 'number' ||
      !Array.isArray(parsed.alerts) ||
      typeof parsed.sinks !== 'object' ||
      parsed.sinks === null
    ) {
      throw new Error('unexpected structure');
    }
    const alerts = parsed.alerts.flatMap((alert) => {
      const valid = AlertSchema.safeParse(alert);
      return valid.success ? [valid.data] : [];
    });
    if (alerts.length < parsed.alerts.length)
      warn(`run journal ${path}: ${parsed.alerts.length - alerts.length} entries are not valid alerts and were skipped`);
    const sinks: Record<string, string[]> = {};
    for (const [sink, ids] of Object.entries(parsed.sinks)) if (Array.isArray(ids)) sinks[sink] = ids.filter((id): id is string => typeof id === 'string');
    return {version: JOURNAL_VERSION, pid: parsed.pid, created: typeof parsed.created === 'number' ? parsed.created : now, sinks, alerts};
  } catch (error) {
    const aside = `${path}.corrupt-${now}`;
    try {
      renameSync(path, aside);
    } catch {
      // leave it where it is
    }
    warn(`run journal ${path} is corrupt (${(error as Error).message}); kept as ${aside} for inspection`);
    return undefined;
  }
}

export interface RecoverOptions extends SpoolIo {
  /** A journal older than this is folded even if its pid is alive (pids are reused). */
  readonly staleAfterMs: number;
}

export interface Recovery {
  /** Journals of dead runs folded into the spools (and removed). */
  readonly folded: number;
  /** Why a journal could not be folded (it stays, and is tried again on the next run). */
  readonly problems: readonly string[];
}

/**
 * Fold the journals of runs that are gone (killed before their alerts reached the spools) into each sink's
 * spool, unclaimed, so this run delivers them; then remove them. A journal of a live run is left to it.
 * Adding is by alert id, so a journal folded twice adds nothing the second time.
 */
export async function recoverJournals(stateDir: string, options: RecoverOptions): Promise<Recovery> {
  let names: string[];
  try {
    names = readdirSync(journalDir(stateDir)).filter((name) => name.endsWith('.json') && !name.startsWith('.'));
  } catch (error) {
    if (systemErrorCode(error) === 'ENOENT') return {folded: 0, problems: []};
    return {folded: 0, problems: [`cannot list ${journalDir(stateDir)} (${systemErrorCode(error) ?? String(error)}): its journals wait for a later run`]};
  }
  const self = options.pid ?? process.pid;
  let folded = 0;
  const problems: string[] = [];
  for (const name of names.sort()) {
    const path = join(journalDir(stateDir), name);
    const pidOfName = Number(name.split('-')[0]);
    const createdOfName = Number(name.slice(0, -'.json'.length).split('-')[1]);
    if (pidOfName === self) continue;
    if (Number.isInteger(pidOfName) && processAlive(pidOfName) && options.now - createdOfName < options.staleAfterMs) continue;
    try {
      const done = await withLock(
        path,
        async () => {
          const journal = readJournal(path, options.warn, options.now);
          if (journal === undefined) return false;
          const byId = new Map(journal.alerts.map((alert) => [alert.id, alert]));
          for (const [sink, ids] of Object.entries(journal.sinks)) {
            const alerts = ids.flatMap((id) => byId.get(id) ?? []);
            if (alerts.length > 0) await addToSpool(stateDir, sink, alerts, options);
          }
          removeJournal(path);
          return true;
        },
        options.lockTimeoutMs === undefined ? {} : {timeoutMs: options.lockTimeoutMs},
      );
      if (done) folded++;
    } catch (error) {
      problems.push(`run journal ${path} not folded into the spools: ${isDaemonEyeError(error) ? error.toOneLine() : String(error)}`);
    }
  }
  return {folded, problems};
}

/** Add alerts a dead run left, unclaimed, to a sink's spool (those it already holds are skipped). */
async function addToSpool(stateDir: string, sink: string, alerts: readonly Alert[], options: SpoolIo): Promise<void> {
  if (!/^[A-Za-z0-9_.-]+$/u.test(sink) || sink === '.' || sink === '..') {
    throw new DaemonEyeError('STATE_UNSAFE', `a run journal names a sink "${sink}" that is not a file name: not used`, {
      hint: 'remove the journal if no DaemonEye run wrote it',
    });
  }
  const path = spoolPath(stateDir, sink);
  await withLock(
    path,
    () => {
      const current = readSpool(path, options.warn, options.now);
      const known = new Set(current.map((entry) => entry.alert.id));
      const added = alerts.filter((alert) => !known.has(alert.id));
      if (added.length === 0) return;
      writeSpool(path, sink, [
        ...current,
        ...added.map((alert) => ({alert, spooled_at: options.now, attempts: 0, last_error: null, claimed_by: null, claimed_at: null})),
      ]);
    },
    options.lockTimeoutMs === undefined ? {} : {timeoutMs: options.lockTimeoutMs},
  );
}
