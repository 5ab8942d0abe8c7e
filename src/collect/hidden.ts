// Hidden processes, one representation for two checks (the `hidden` and `hidden_evidence` columns):
// - every scan: mounts over /proc/PID entries (/proc/self/mountinfo), the cheap trick `mount --bind EMPTYDIR
//   /proc/PID` that makes ps and a plain walk lose a process;
// - `scan --hidden-check`: a sweep of the whole pid space with kill(pid, 0), which finds processes that
//   exist but that /proc's directory listing leaves out (a readdir-hooking rootkit in the scanner's view).
import {readdirSync, readFileSync} from 'node:fs';

import {emptyPlatformData, type HiddenKind, type LinuxPlatformData, type ProcessRecord} from '../models/process.js';
import {describeMount, type MountEntry, mountsOverProcEntries, parseMountinfo} from './mountinfo.js';
import type {CollectedProcess} from './procfs.js';
import {errorCode} from './proc-read.js';

/**
 * Whether a pid exists in this pid namespace: kill(pid, 0) delivers nothing but checks the target (kill(2)):
 * success or EPERM (exists, not ours to signal) mean it exists, ESRCH that it does not. A thread id answers
 * too, for its thread group.
 */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
}

/**
 * Mounts over /proc entries, by pid, as the scanning process sees them (its mount namespace). An
 * unreadable mountinfo (no /proc, a test's fixture root) gives none: the check is skipped, not failed.
 */
export function readProcEntryMounts(procRoot: string): Map<number, MountEntry[]> {
  let text: string;
  try {
    text = readFileSync(`${procRoot}/self/mountinfo`, 'latin1');
  } catch {
    return new Map();
  }
  return mountsOverProcEntries(parseMountinfo(text), procRoot);
}

/** `hidden_evidence` for covered entries: each mount, then the children that name the pid as their parent. */
export function mountEvidence(mounts: readonly MountEntry[], children: readonly number[]): string {
  const parts = mounts.map(describeMount);
  if (children.length > 0) parts.push(`children: ${children.join(', ')}`);
  return parts.join('; ');
}

/** Mark a collected record hidden (its other fields stay as read). */
export function markHidden(collected: CollectedProcess, kind: HiddenKind, evidence: string): void {
  const platform = collected.platform as {hidden: HiddenKind | null; hidden_evidence: string | null};
  platform.hidden = kind;
  platform.hidden_evidence = evidence;
}

/**
 * The record of a hidden process of which nothing can be read (its /proc entry covered by a mount, or
 * unreadable by path): what is known is the pid, that it is alive (kill(pid, 0)) and the evidence (the
 * covering mounts, its children). Every other field is null (or empty) and `accessible` is false.
 */
export function coveredProcessRecord(
  pid: number,
  kind: HiddenKind,
  evidence: string,
  context: {readonly scanId: number; readonly id: string; readonly now: number},
): CollectedProcess {
  const platform: LinuxPlatformData = {...emptyPlatformData(), hidden: kind, hidden_evidence: evidence};
  const record: ProcessRecord = {
    id: context.id,
    scan_id: context.scanId,
    collection_time: context.now,
    pid,
    ppid: null,
    name: '',
    executable_path: null,
    command_line: [],
    start_time: null,
    cpu_usage: null,
    memory_usage: null,
    executable_hash: null,
    hash_algorithm: null,
    user_id: null,
    accessible: false,
    file_exists: false,
    platform_data: platform,
  };
  return {record, platform, image: null};
}

/** A pid the sweep found alive but missing from the listing, and how. */
export interface UnlistedPid {
  readonly pid: number;
  readonly evidence: string;
}

export interface PidSweepOptions {
  readonly procRoot: string;
  /** The pids /proc's listing showed (thread-group leaders). */
  readonly listed: ReadonlySet<number>;
  /** Highest pid to probe (/proc/sys/kernel/pid_max). */
  readonly pidMax: number;
  /** Test hook: the existence probe (default kill(pid, 0)). */
  readonly exists?: (pid: number) => boolean;
}

export interface PidSweepResult {
  readonly unlisted: UnlistedPid[];
  /** Pids probed. */
  readonly probed: number;
  /** Live ids that are threads of a listed process (the expected case for every non-leader thread). */
  readonly threads: number;
}

/** The thread group id a /proc/ID/status names (`Tgid:`), null when unreadable. */
function tgidOf(procRoot: string, id: number): number | null {
  try {
    const match = /^Tgid:\s*(\d+)$/m.exec(readFileSync(`${procRoot}/${id}/status`, 'utf8'));
    return match === null ? null : Number(match[1]);
  } catch {
    return null;
  }
}

/**
 * Probe every pid from 1 to pidMax with kill(pid, 0) and keep those alive but not listed. A live id is a
 * thread of a listed process (its /proc/ID/status, readable by path though never listed, names a listed
 * Tgid: expected), a thread of an unlisted process (its Tgid is reported), or an unlisted process itself.
 * A process born after the listing would look unlisted: the caller lists /proc again and drops those.
 * Cost: one syscall per pid (measured ≈ 0.15 s for 32,768 pids, ≈ 1 s for 400,000; see bench/).
 */
export function sweepPidSpace(options: PidSweepOptions): PidSweepResult {
  const exists = options.exists ?? pidExists;
  const found = new Map<number, string[]>();
  let threads = 0;
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0; // one ESRCH per absent pid: a stack trace each would cost more than the syscall
  try {
    for (let pid = 1; pid <= options.pidMax; pid++) {
      if (options.listed.has(pid) || !exists(pid)) continue;
      const tgid = tgidOf(options.procRoot, pid);
      if (tgid !== null && tgid !== pid) {
        if (options.listed.has(tgid)) {
          threads++;
          continue;
        }
        const reasons = found.get(tgid) ?? [];
        reasons.push(`thread ${pid} answers kill(${pid}, 0) and its /proc/${pid}/status names Tgid ${tgid}`);
        found.set(tgid, reasons);
        continue;
      }
      const reasons = found.get(pid) ?? [];
      reasons.push(
        tgid === pid
          ? `kill(${pid}, 0) succeeds and /proc/${pid}/status is readable by path`
          : `kill(${pid}, 0) succeeds but /proc/${pid}/status cannot be read`,
      );
      found.set(pid, reasons);
    }
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
  const unlisted = [...found]
    .sort(([a], [b]) => a - b)
    .map(([pid, reasons]) => ({pid, evidence: `not in the listing of ${options.procRoot}: ${reasons.join('; ')}`}));
  return {unlisted, probed: options.pidMax, threads};
}

/** /proc/sys/kernel/pid_max (the kernel's default, 32768, when unreadable). */
export function readPidMax(procRoot: string): number {
  try {
    const value = Number(readFileSync(`${procRoot}/sys/kernel/pid_max`, 'utf8').trim());
    return Number.isInteger(value) && value > 0 ? value : 32_768;
  } catch {
    return 32_768;
  }
}

export interface HiddenCheckContext {
  readonly procRoot: string;
  readonly scanId: number;
  /** `--pid`: only these pids are reported; all when absent. */
  readonly pids?: readonly number[] | undefined;
  /** Re-reads pids by path, as the walk does (for processes the sweep found). */
  readonly readByPath: (pids: readonly number[]) => CollectedProcess[];
  readonly newId: () => string;
}

export interface HiddenCheckOutcome {
  /** Records to add (hidden processes the walk did not return). */
  readonly added: CollectedProcess[];
  /** Pids among those added that the walk had counted as vanished or missing (covered entries). */
  readonly recovered: number[];
  /** Pids probed by the sweep (0 without it). */
  readonly probed: number;
}

function childrenOf(pid: number, collected: readonly CollectedProcess[]): number[] {
  return collected.filter((c) => c.record.ppid === pid).map((c) => c.record.pid);
}

/**
 * Mark and add covered (always) and, with `sweep`, unlisted processes. `collected` is the walk's result
 * and is marked in place; what the walk could not read is returned in `added`.
 */
export function findHiddenProcesses(collected: readonly CollectedProcess[], context: HiddenCheckContext, sweep: boolean): HiddenCheckOutcome {
  const wanted = context.pids === undefined ? undefined : new Set(context.pids);
  const byPid = new Map(collected.map((c) => [c.record.pid, c]));
  const added: CollectedProcess[] = [];
  const now = Date.now();
  for (const [pid, mounts] of readProcEntryMounts(context.procRoot)) {
    if (wanted !== undefined && !wanted.has(pid)) continue;
    const evidence = mountEvidence(mounts, childrenOf(pid, collected));
    const existing = byPid.get(pid);
    if (existing !== undefined) markHidden(existing, 'proc_mount', evidence);
    else if (pidExists(pid)) {
      const record = coveredProcessRecord(pid, 'proc_mount', evidence, {scanId: context.scanId, id: context.newId(), now});
      added.push(record);
      byPid.set(pid, record);
    }
  }
  let probed = 0;
  if (sweep && wanted === undefined) {
    const listed = new Set<number>(byPid.keys());
    const result = sweepPidSpace({procRoot: context.procRoot, listed, pidMax: readPidMax(context.procRoot)});
    probed = result.probed;
    // Born after the first listing: listed now, so not hidden.
    const relisted = new Set(listPidsQuiet(context.procRoot));
    const candidates = result.unlisted.filter((u) => !relisted.has(u.pid) && !byPid.has(u.pid));
    const read = new Map(context.readByPath(candidates.map((c) => c.pid)).map((c) => [c.record.pid, c]));
    for (const candidate of candidates) {
      const children = childrenOf(candidate.pid, [...collected, ...added]);
      const evidence = children.length === 0 ? candidate.evidence : `${candidate.evidence}; children: ${children.join(', ')}`;
      const record = read.get(candidate.pid);
      if (record !== undefined) {
        markHidden(record, 'unlisted', evidence);
        added.push(record);
      } else if (pidExists(candidate.pid)) {
        added.push(coveredProcessRecord(candidate.pid, 'unlisted', evidence, {scanId: context.scanId, id: context.newId(), now}));
      }
    }
  }
  return {added, recovered: added.filter((a) => a.platform.hidden === 'proc_mount').map((a) => a.record.pid), probed};
}

function listPidsQuiet(procRoot: string): number[] {
  try {
    return readdirSync(procRoot)
      .filter((name) => /^[1-9][0-9]*$/.test(name))
      .map(Number);
  } catch {
    return [];
  }
}
