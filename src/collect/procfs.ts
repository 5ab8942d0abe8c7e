// The Linux collector: one synchronous pass over /proc/PID/* per process, turning the parsers' output into
// ProcessRecords. A process that exits mid-read is dropped; a file it may not read nulls its fields only.
import * as crypto from 'node:crypto';
import {
  closeSync,
  constants as fsConstants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  statSync,
  type Stats,
} from 'node:fs';

import type {LinuxPlatformData, ProcessRecord} from '../models/process.js';
import {
  type CgroupInfo,
  cgroupPrefixes,
  decodeTtyNr,
  isKernelThread,
  parseCgroup,
  parseExeLink,
  parseNamespaceLink,
  parseStat,
  parseStatus,
  type ProcStat,
  splitCmdlineBytes,
} from './parsers.js';
import {escapeBytes, needsEscape} from './text-encoding.js';
import {identityOf} from './hash.js';
import type {FileIdentity} from './hash-cache.js';
import {type FdLink, type FdListing, readFdLinks} from './fds.js';
import {errorCode, isGone, readProcBytes, readProcHeadTail, readProcStream, readProcText, sameFileAt, statQuiet} from './proc-read.js';
import {type ArgvCut, type ArgvLimits, argvShare, cutArgvBytes} from './argv-limit.js';
import {type EnvSelection, EnvironSelector, type SelectedEnviron} from './envs.js';
import {type EnvironLimits, environFloor, environShare} from './environ-limit.js';
import type {FanoutCut} from './fanout.js';

/**
 * USER_HZ, the unit of the tick fields in /proc/PID/stat. It is part of the kernel's user-space ABI and
 * 100 on every architecture Node runs on (x86, arm, arm64, ppc, s390, riscv); Node cannot call sysconf.
 */
export const CLOCK_TICKS_PER_SECOND = 100;

/**
 * The running image of a process: what executable hashing needs (one hash per device + inode). Its file
 * identity (device, inode, size, mtime, ctime) is also the hash cache's key.
 */
export interface ExecutableImage extends FileIdentity {
  readonly regular: boolean;
  /** Where to read it: /proc/PID/exe (works even when the file was deleted). */
  readonly readPath: string;
}

/** The image as stat saw it. */
export function executableImage(stats: Stats, readPath: string): ExecutableImage {
  return {...identityOf(stats), regular: stats.isFile(), readPath};
}

export interface CollectedProcess {
  readonly record: ProcessRecord;
  readonly platform: LinuxPlatformData;
  readonly image: ExecutableImage | null;
}

/** CPU time of a process at a first sample (for `--cpu-sample`). */
export interface CpuSample {
  readonly startTicks: number;
  readonly cpuTicks: number;
}

export interface ProcfsWalkContext {
  readonly procRoot: string;
  readonly scanId: number;
  readonly bootId: string | null;
  readonly bootTimeMs: number;
  /** Seconds since boot when the walk started (for CPU since start). */
  readonly uptimeSeconds: number;
  readonly users: ReadonlyMap<number, string>;
  /** First CPU sample and its time (ms since boot), for `--cpu-sample`. */
  readonly cpuBaseline?: {readonly samples: ReadonlyMap<number, CpuSample>; readonly atUptimeSeconds: number};
  /** Test hook: runs right after a process's stat was read (tests make a process exit mid-read here). */
  readonly afterStat?: (pid: number) => void;
  /**
   * Files a live table reads too, handed over while the walk has them in hand (live-tables.ts `preread`), so
   * a scan reads each once. Not called for kernel threads, nor for a zombie leader read through a live thread.
   */
  readonly sources?: WalkSources;
  /** How much of each process's argv is kept (collection.argv, argv-limit.ts). Absent: all of it. */
  readonly argv?: ArgvLimits;
  /** How much of each process's environment is read (collection.environ, environ-limit.ts). Absent: all of it. */
  readonly environ?: EnvironLimits;
}

/** The walk's hooks for the live tables' sources (ProcfsWalkContext.sources). */
export interface WalkSources {
  /**
   * Each process's fd links (readFdLinks), its lowest `fdLimit` at most (collection.fanout.fds' floor: the live
   * tables read a process that has more again, to its share): the walk then lists /proc/PID/fd once and
   * takes stdin, stdout and stderr from it.
   */
  readonly fd?: (pid: number, links: FdListing | 'unreadable' | 'gone') => void;
  /** The most fds the walk lists of one process for `fd` (absent: all). */
  readonly fdLimit?: number;
  /**
   * The entries of each process's environ named in `environNames` (envs.ts: each name's first value, and its
   * last when that differs), or why it could not be read. Called again for a process whose environ is read
   * further after the walk (collection.environ): the later call holds more.
   */
  readonly environ?: (pid: number, read: SelectedEnviron | 'unreadable' | 'gone') => void;
  /** The names `environ` is given (collection.env_variables). */
  readonly environNames?: EnvSelection;
}

export interface ProcfsWalkResult {
  readonly processes: CollectedProcess[];
  /** Processes listed but gone before they were read completely. */
  readonly vanished: number;
  /** Requested pids (`--pid`) that do not exist. */
  readonly missingPids: number[];
  /** Processes whose argv was kept short of its length (ProcfsWalkContext.argv), by pid. */
  readonly argvCuts: ArgvCut[];
  /** Processes whose environ was read short of its length (ProcfsWalkContext.environ), by pid, in bytes. */
  readonly environCuts: FanoutCut[];
}

/** The pids listed in /proc (thread-group leaders only: threads live under /proc/PID/task). */
export function listPids(procRoot = '/proc'): number[] {
  const pids: number[] = [];
  for (const name of readdirSync(procRoot)) {
    const code = name.charCodeAt(0);
    if (code >= 48 && code <= 57) {
      const pid = Number(name);
      if (Number.isInteger(pid)) pids.push(pid);
    }
  }
  return pids.sort((a, b) => a - b);
}

/** One quick pass over stat only: CPU ticks per pid, the first sample of `--cpu-sample`. */
export function sampleCpu(pids: readonly number[], procRoot = '/proc'): Map<number, CpuSample> {
  const samples = new Map<number, CpuSample>();
  for (const pid of pids) {
    try {
      const stat = parseStat(readProcText(`${procRoot}/${pid}/stat`));
      if (stat !== null) samples.set(pid, {startTicks: stat.startTicks, cpuTicks: stat.utimeTicks + stat.stimeTicks});
    } catch {
      // Gone already: it will be gone (or new) in the walk too.
    }
  }
  return samples;
}

/** Read every listed (or requested) process. Synchronous: per-call overhead of async fs would dominate. */
export function walkProcfs(context: ProcfsWalkContext, requestedPids?: readonly number[]): ProcfsWalkResult {
  const pids = requestedPids === undefined ? listPids(context.procRoot) : [...new Set(requestedPids)].sort((a, b) => a - b);
  const processes: CollectedProcess[] = [];
  const missingPids: number[] = [];
  let vanished = 0;
  const cgroups = new CgroupCache(context.procRoot);
  // Thousands of expected ENOENT/EACCES errors: capturing a stack trace for each costs more than the read.
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const argvReads: ArgvReads = {long: [], spent: 0};
  const environReads: EnvironReads = {long: [], spent: 0};
  let argvCuts: ArgvCut[] = [];
  let environCuts: FanoutCut[] = [];
  try {
    for (const pid of pids) {
      const collected = readProcess(pid, context, cgroups, argvReads, environReads);
      if (collected !== null) processes.push(collected);
      else if (requestedPids !== undefined) missingPids.push(pid);
      else vanished++;
    }
    if (context.argv !== undefined) argvCuts = keepMoreArgv(argvReads, context.argv, processes);
    if (context.environ !== undefined) environCuts = keepMoreEnviron(environReads, context.environ, processes, context.sources);
    fillParentStartTimes(processes, context);
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
  return {processes, vanished, missingPids, argvCuts, environCuts};
}

/**
 * Which text fields of a record hold an escape, by where they come from: `bytes_escaped` is their or, set
 * again when a second read (argv, environ) replaces some of them.
 */
interface Escapes {
  /** name, executable path, cwd, stdio links, the namespace's /etc/ld.so.preload. */
  readonly fixed: boolean;
  argv: boolean;
  /** ld_preload, ld_audit. */
  linker: boolean;
}

const setBytesEscaped = (collected: CollectedProcess, escapes: Escapes): void => {
  (collected.platform as {bytes_escaped: boolean}).bytes_escaped = escapes.fixed || escapes.argv || escapes.linker;
};

/** The walk's first reads of argv: bytes kept in all, and the processes whose argv is longer than the floor. */
interface ArgvReads {
  readonly long: LongArgv[];
  spent: number;
}

/** A process whose argv is longer than its floor: what its second read needs. */
interface LongArgv {
  readonly collected: CollectedProcess;
  /** Where its argv is read (a live thread's directory for a zombie leader). */
  readonly source: string;
  /** Its /proc/PID directory (the leader's stat tells whether the pid still names the same process). */
  readonly dir: string;
  /** Bytes of /proc/PID/cmdline at the first read. */
  readonly total: number;
  /** Bytes kept at the first read. */
  readonly read: number;
  /** Which text fields hold an escape (bytes_escaped is recomputed with the new argv). */
  readonly escapes: Escapes;
}

/**
 * The second read of the argvs longer than the floor, after every process had its floor (pid order): each
 * keeps its floor plus an equal share of what is left of the budget among the processes still waiting, never
 * past the ceiling, and its record's command_line is replaced. Returns every process still kept short. A
 * process that exited, or whose pid was reused, since its first read keeps its first read.
 */
function keepMoreArgv(reads: ArgvReads, limits: ArgvLimits, processes: readonly CollectedProcess[]): ArgvCut[] {
  const kept = new Set(processes);
  const waiting = reads.long;
  // Every process's first read counts against the budget, not only the long ones'.
  let spent = reads.spent;
  const cuts: ArgvCut[] = [];
  for (const [index, entry] of waiting.entries()) {
    if (!kept.has(entry.collected)) continue;
    const {record} = entry.collected;
    const allowance = argvShare(limits, spent, waiting.length - index);
    let read = entry.read;
    let total = entry.total;
    if (allowance > entry.read) {
      try {
        const again = readProcHeadTail(`${entry.source}/cmdline`, allowance);
        const stat = parseStat(readProcText(`${entry.dir}/stat`, 'latin1'));
        if (stat !== null && stat.startTicks === entry.collected.platform.start_ticks) {
          const argvBytes = again.total === again.head.length ? splitCmdlineBytes(again.head) : cutArgvBytes(again.head, again.tail, again.total);
          (record as {command_line: string[]}).command_line = argvBytes.map((bytes) => escapeBytes(bytes));
          entry.escapes.argv = argvBytes.some((bytes) => needsEscape(bytes));
          setBytesEscaped(entry.collected, entry.escapes);
          spent += again.head.length + again.tail.length - entry.read;
          read = again.head.length + again.tail.length;
          total = again.total;
        }
      } catch {
        // Exited since the walk: its first read stands.
      }
    }
    if (read < total) cuts.push({pid: record.pid, read, total});
  }
  return cuts;
}

/** The walk's first reads of environs: bytes read in all, and the processes whose environ is longer than the floor. */
interface EnvironReads {
  readonly long: LongEnviron[];
  spent: number;
}

/** A process whose environ is longer than its floor: what its second read needs. */
interface LongEnviron {
  readonly collected: CollectedProcess;
  /** Where its environ is read (a live thread's directory for a zombie leader). */
  readonly source: string;
  readonly dir: string;
  /** Bytes read at the first read. */
  readonly read: number;
  /** The environ's length in bytes as /proc/PID/stat gave it at the first read (null: not given). */
  readonly total: number | null;
  readonly escapes: Escapes;
  /** Whether the live tables' environ hook takes this process's entries (its own directory was read). */
  readonly hooked: boolean;
}

/** One process's environ read within `allowance` bytes: what the selector kept, bytes read, and whether it holds more. */
interface EnvironRead {
  readonly selected: SelectedEnviron;
  readonly read: number;
  readonly more: boolean;
}

const NO_NAMES: EnvSelection = {names: new Set()};

/** Stream `path` (a /proc/PID/environ) through a selector of `names` (and LD_PRELOAD, LD_AUDIT), at most `allowance` bytes. Throws as readProcStream does. */
function readEnvironWithin(path: string, allowance: number, names: EnvSelection): EnvironRead {
  const selector = new EnvironSelector(names);
  const {read, more} = readProcStream(path, allowance, (chunk, length) => selector.push(chunk, length));
  return {selected: selector.end(!more), read, more};
}

/** The environ's length: all of it was read (`more` false), else what stat says when that is longer than what was read, else unknown. */
const environTotal = (read: number, more: boolean, statBytes: number | null): number | null =>
  !more ? read : statBytes !== null && statBytes > read ? statBytes : null;

/** What an environ read sets on the record. */
function setEnvironFields(collected: CollectedProcess, escapes: Escapes, selected: SelectedEnviron, total: number | null, cut: boolean): void {
  const platform = collected.platform as {ld_preload: string | null; ld_audit: string | null; environ_bytes: number | null; environ_cut: boolean | null};
  platform.ld_preload = selected.ldPreload === null ? null : escapeBytes(selected.ldPreload);
  platform.ld_audit = selected.ldAudit === null ? null : escapeBytes(selected.ldAudit);
  platform.environ_bytes = total;
  platform.environ_cut = cut;
  escapes.linker = [selected.ldPreload, selected.ldAudit].some((bytes) => bytes !== null && needsEscape(bytes));
  setBytesEscaped(collected, escapes);
}

/**
 * The second read of the environs longer than the floor, after every process had its floor (pid order): each
 * reads its floor plus an equal share of what is left of the budget among the processes still waiting, never
 * past the ceiling, from the start again; its record's linker variables and process_envs entries (through
 * `hooks`) are replaced. Returns every process still read short, in bytes. A process that exited, or whose
 * pid was reused, since its first read keeps its first read.
 */
function keepMoreEnviron(reads: EnvironReads, limits: EnvironLimits, processes: readonly CollectedProcess[], hooks: WalkSources | undefined): FanoutCut[] {
  const kept = new Set(processes);
  const waiting = reads.long;
  let spent = reads.spent;
  const cuts: FanoutCut[] = [];
  for (const [index, entry] of waiting.entries()) {
    if (!kept.has(entry.collected)) continue;
    const allowance = environShare(limits, spent, waiting.length - index);
    let read = entry.read;
    let total = entry.total;
    let more = true;
    if (allowance > entry.read) {
      try {
        const again = readEnvironWithin(`${entry.source}/environ`, allowance, entry.hooked ? (hooks?.environNames ?? NO_NAMES) : NO_NAMES);
        const stat = parseStat(readProcText(`${entry.dir}/stat`, 'latin1'));
        if (stat !== null && stat.startTicks === entry.collected.platform.start_ticks) {
          spent += again.read - entry.read;
          read = again.read;
          more = again.more;
          total = environTotal(again.read, again.more, stat.environBytes ?? entry.total);
          setEnvironFields(entry.collected, entry.escapes, again.selected, total, again.more);
          if (entry.hooked) hooks?.environ?.(entry.collected.record.pid, again.selected);
        }
      } catch {
        // Exited since the walk: its first read stands.
      }
    }
    if (more) cuts.push({pid: entry.collected.record.pid, read, total});
  }
  return cuts;
}

function startTimeMs(context: ProcfsWalkContext, startTicks: number): number {
  return context.bootTimeMs + Math.round((startTicks * 1000) / CLOCK_TICKS_PER_SECOND);
}

function cpuPercent(context: ProcfsWalkContext, pid: number, stat: ProcStat): number {
  const cpuTicks = stat.utimeTicks + stat.stimeTicks;
  const baseline = context.cpuBaseline;
  const before = baseline?.samples.get(pid);
  let seconds: number;
  let ticks: number;
  if (baseline !== undefined && before !== undefined && before.startTicks === stat.startTicks) {
    seconds = context.uptimeSeconds - baseline.atUptimeSeconds;
    ticks = cpuTicks - before.cpuTicks;
  } else {
    // Since start (or, with --cpu-sample, a process born during the interval: its whole life is inside it).
    seconds = context.uptimeSeconds - stat.startTicks / CLOCK_TICKS_PER_SECOND;
    ticks = cpuTicks;
  }
  return cpuPercentOfTicks(ticks, seconds);
}

/**
 * The `cpu_usage` of a process that used `ticks` clock ticks (user + system, 1/CLOCK_TICKS_PER_SECOND s each) in
 * `seconds` of wall time: percent of one core (100 = one core busy all along; up to 100 × cores), rounded to 0.01;
 * 0 when either is not positive. The one unit of the column, whichever collector fills it.
 */
export function cpuPercentOfTicks(ticks: number, seconds: number): number {
  if (!(seconds > 0) || ticks <= 0) return 0;
  return Math.round(((ticks / CLOCK_TICKS_PER_SECOND / seconds) * 100 + Number.EPSILON) * 100) / 100;
}

/**
 * The `cpu_usage` of process `pid` since it started, read from `procRoot`/PID/stat against `uptimeSeconds`
 * (seconds since boot), as the procfs collector computes it without `--cpu-sample`; null when the process is
 * gone or its stat unreadable.
 */
export function cpuPercentSinceStart(procRoot: string, pid: number, uptimeSeconds: number): number | null {
  let stat: ProcStat | null;
  try {
    stat = parseStat(readFileSync(`${procRoot}/${pid}/stat`, 'latin1'));
  } catch {
    return null;
  }
  if (stat === null) return null;
  return cpuPercentOfTicks(stat.utimeTicks + stat.stimeTicks, uptimeSeconds - stat.startTicks / CLOCK_TICKS_PER_SECOND);
}

// crypto.hash (Node ≥ 20.12) is a one-shot digest, several times cheaper than a Hash object per process.
const oneShotHash = (crypto as {hash?: (algorithm: string, data: string, encoding: 'hex') => string}).hash;

export function entityId(bootId: string | null, bootTimeMs: number, pid: number, startTicks: number): string {
  const input = `${bootId ?? `boot-time:${bootTimeMs}`}:${pid}:${startTicks}`;
  const hex = oneShotHash === undefined ? crypto.createHash('sha256').update(input).digest('hex') : oneShotHash('sha256', input, 'hex');
  return hex.slice(0, 32);
}

/**
 * Most processes share a few cgroup files: parse each distinct text once per walk, split on the line prefixes
 * of the scanner's own cgroup file (the same hierarchies, in the same order, for every process: parseCgroup).
 */
class CgroupCache {
  private readonly parsed = new Map<string, CgroupInfo>();
  private readonly prefixes: readonly string[] | null;
  /** /etc/ld.so.preload per mount namespace (null: absent), read through the first process of each namespace. */
  readonly preloads = new Map<number, Buffer | null>();
  /** /etc/shells per mount namespace (null: absent). */
  readonly shells = new Map<number, Buffer | null>();

  constructor(procRoot: string) {
    let own: string | null = null;
    try {
      own = readFileSync(`${procRoot}/self/cgroup`, 'latin1');
    } catch {
      // No /proc/self here (a test's fixture root): each file is split on its own prefixes.
    }
    this.prefixes = own === null ? null : cgroupPrefixes(own);
  }

  get(text: string): CgroupInfo {
    let entry = this.parsed.get(text);
    if (entry === undefined) {
      entry = parseCgroup(text, this.prefixes);
      this.parsed.set(text, entry);
    }
    return entry;
  }
}

/** Per-process read state: which files failed and how. */
class ReadState {
  accessible = true;
  sawGone = false;

  /** Why the last attempt failed (null: it did not). */
  failure: 'unreadable' | 'gone' | null = null;

  /** Run one read; EACCES/EPERM mark the record inaccessible, ENOENT/ESRCH ask for a liveness re-check. */
  attempt<T>(read: () => T): T | null {
    this.failure = null;
    try {
      return read();
    } catch (error) {
      if (isGone(errorCode(error))) {
        this.sawGone = true;
        this.failure = 'gone';
      } else {
        this.accessible = false;
        this.failure = 'unreadable';
      }
      return null;
    }
  }

  /** What readFdLinks found, counted as the reads of fds 0–2 were: refused marks the record inaccessible, gone asks for a re-check. */
  fdLinks(links: FdListing | 'unreadable' | 'gone'): void {
    if (links === 'unreadable') this.accessible = false;
    else if (links === 'gone') this.sawGone = true;
  }
}

/** Most of a namespace's /etc/ld.so.preload or /etc/shells a scan reads (the loader reads a handful of paths). */
const ETC_FILE_MAX_BYTES = 64 * 1024;

/**
 * `/etc/ld.so.preload` or `/etc/shells` as the process's mount namespace sees it, read through `/proc/PID/root` once
 * per mount namespace (`cache`): the bytes (at most 64 KiB), or null when the file is absent or the root cannot be read
 * (another user's process without root; such a failure is not cached, so a readable process of the namespace
 * still reads it). Symbolic links are not followed: through /proc/PID/root an absolute link would resolve in
 * the scanner's root, so a container's `/etc/ld.so.preload -> /etc/shadow` would read the host's file. A link
 * is kept as the text `symlink: TARGET`; a FIFO or device is never opened for reading (O_NONBLOCK, regular files only).
 */
function nsEtcFile(dir: string, file: 'ld.so.preload' | 'shells', mntNs: number | null, cache: Map<number, Buffer | null>): Buffer | null {
  if (mntNs !== null && cache.has(mntNs)) return cache.get(mntNs) ?? null;
  const remember = (content: Buffer | null): Buffer | null => {
    if (mntNs !== null) cache.set(mntNs, content);
    return content;
  };
  const etc = `${dir}/root/etc`;
  try {
    if (!lstatSync(etc).isDirectory()) return remember(null);
    const path = `${etc}/${file}`;
    const info = lstatSync(path);
    if (info.isSymbolicLink()) return remember(Buffer.concat([Buffer.from('symlink: '), readlinkSync(path, {encoding: 'buffer'})]));
    if (!info.isFile()) return remember(Buffer.from(`not a regular file (mode ${(info.mode & 0o170000).toString(8)})`));
    const fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOFOLLOW | fsConstants.O_NOCTTY);
    try {
      const opened = fstatSync(fd);
      // Swapped between the lstat and the open (a race from inside the container): read nothing.
      if (!opened.isFile() || opened.ino !== info.ino || opened.dev !== info.dev) return null;
      const buffer = Buffer.alloc(ETC_FILE_MAX_BYTES);
      const length = readSync(fd, buffer, 0, ETC_FILE_MAX_BYTES, 0);
      return remember(buffer.subarray(0, length));
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    const code = errorCode(error);
    return code === 'ENOENT' || code === 'ENOTDIR' ? remember(null) : null;
  }
}

function readLink(path: string): string {
  return readlinkSync(path);
}

/** A link's target as raw bytes (names on Linux are bytes, not necessarily UTF-8). */
function readLinkBytes(path: string): Buffer {
  return readlinkSync(path, {encoding: 'buffer'});
}

/** Bytes carried in a latin1 string (one char per byte) back to a Buffer, e.g. a path cut out of a link. */
const latin1Bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

/**
 * The first thread of the group that is still running, when the main thread has exited (pthread_exit in
 * main): the leader's /proc/PID entry is then a zombie whose exe, cmdline, cwd and fds read as empty,
 * while /proc/PID/task/TID/ of any live thread still shows the process's (shared) image, argv and files.
 */
function liveThread(dir: string, pid: number): number | null {
  let tids: string[];
  try {
    tids = readdirSync(`${dir}/task`);
  } catch {
    return null;
  }
  for (const name of tids.sort((a, b) => Number(a) - Number(b))) {
    const tid = Number(name);
    if (!Number.isInteger(tid) || tid === pid) continue;
    try {
      const stat = parseStat(readProcText(`${dir}/task/${name}/stat`));
      if (stat !== null && stat.state !== 'Z' && stat.state !== 'X') return tid;
    } catch {
      // that thread just exited: try the next
    }
  }
  return null;
}

function readProcess(pid: number, context: ProcfsWalkContext, cgroups: CgroupCache, argvReads: ArgvReads, environReads: EnvironReads): CollectedProcess | null {
  const dir = `${context.procRoot}/${pid}`;
  let stat: ProcStat | null;
  try {
    // latin1 keeps comm's bytes exactly (one char per byte); every other field is ASCII.
    stat = parseStat(readProcText(`${dir}/stat`, 'latin1'));
  } catch {
    return null; // gone before we started (or never existed)
  }
  if (stat === null) return null;
  context.afterStat?.(pid);
  const collectionTime = Date.now();
  const state = new ReadState();
  const kernelThread = isKernelThread(stat);
  // A zombie leader with threads still running: read the per-process files through a live thread.
  const liveTid = !kernelThread && stat.state === 'Z' && stat.threads > 1 ? liveThread(dir, pid) : null;
  const source = liveTid === null ? dir : `${dir}/task/${liveTid}`;
  const status = state.attempt(() => parseStatus(readProcText(`${source}/status`)));
  // Within the floor (collection.argv): a longer argv keeps its head and tail now, more after the walk.
  const argvLimit = context.argv === undefined ? undefined : Math.max(2, Math.min(context.argv.floor, context.argv.ceiling));
  const cmdline = state.attempt(() =>
    argvLimit === undefined ? {head: readProcBytes(`${source}/cmdline`), tail: Buffer.alloc(0), total: -1} : readProcHeadTail(`${source}/cmdline`, argvLimit),
  );
  if (cmdline !== null) argvReads.spent += cmdline.head.length + cmdline.tail.length;
  const argvCut = cmdline !== null && cmdline.total > cmdline.head.length + cmdline.tail.length;
  const argvBytes = cmdline === null ? [] : argvCut ? cutArgvBytes(cmdline.head, cmdline.tail, cmdline.total) : splitCmdlineBytes(cmdline.head);
  const commBytes = latin1Bytes(stat.comm);

  let exeBytes: Buffer | null = null;
  let exeDeleted: boolean | null = null;
  let exeMemfd: boolean | null = null;
  let image: Stats | null = null;
  let pathStat: Stats | null | undefined = null;
  let fileExists: boolean | null = false;
  let stdin: Buffer | null = null;
  let stdout: Buffer | null = null;
  let stderr: Buffer | null = null;
  let ldPreload: Buffer | null = null;
  let ldAudit: Buffer | null = null;
  let environReadable: boolean | null = null;
  let environ: EnvironRead | null = null;
  let environHooked = false;

  if (!kernelThread) {
    // Kernel threads have no exe, no fds and no environment: skip those reads. Paths stay raw bytes from
    // the link to the stat, so a name that is not UTF-8 still finds its file.
    const targetBytes = state.attempt(() => readLinkBytes(`${source}/exe`));
    // Another user's process (not as root): its executable may or may not be on disk, the record cannot say.
    if (targetBytes === null && state.failure === 'unreadable') fileExists = null;
    if (targetBytes !== null) {
      const target = targetBytes.toString('latin1');
      const link = parseExeLink(target);
      exeMemfd = link.memfd;
      image = state.attempt(() => statSync(`${source}/exe`));
      const root = latin1Bytes(`${source}/root`);
      const linkPath = latin1Bytes(link.path);
      if (link.memfd) {
        exeBytes = linkPath;
        exeDeleted = link.markedDeleted;
      } else if (link.markedDeleted) {
        // Either the file was unlinked, or a file is really named "... (deleted)": only in the second case
        // does a file with the running image's inode sit at the full target path.
        const literal = image === null ? undefined : sameFileAt(Buffer.concat([root, targetBytes]), image);
        if (literal !== undefined) {
          exeBytes = targetBytes;
          exeDeleted = false;
          pathStat = literal;
        } else {
          exeBytes = linkPath;
          exeDeleted = true;
          pathStat = statQuiet(Buffer.concat([root, linkPath]));
        }
      } else {
        exeBytes = linkPath;
        exeDeleted = false;
        pathStat = statQuiet(Buffer.concat([root, linkPath]));
      }
      fileExists = exeDeleted === false && !link.memfd;
    }
    // The live tables' hooks take what this process's own directory gives (not a live thread's).
    const hooks = liveTid === null ? context.sources : undefined;
    if (hooks?.fd === undefined) {
      stdin = fdTarget(`${source}/fd/0`, state);
      stdout = fdTarget(`${source}/fd/1`, state);
      stderr = fdTarget(`${source}/fd/2`, state);
    } else {
      // The fd tables list every fd anyway: one listing gives stdio too, instead of three more readlinks.
      // The lowest fds come first, so stdio is always among them however many the process holds.
      const listing = readFdLinks(context.procRoot, pid, hooks.fdLimit === undefined ? undefined : Math.max(3, hooks.fdLimit));
      hooks.fd(pid, listing);
      state.fdLinks(listing);
      if (typeof listing !== 'string') {
        [stdin, stdout, stderr] = [0, 1, 2].map((fd) => stdioTarget(listing.links, fd)) as [Buffer | null, Buffer | null, Buffer | null];
      }
    }
    // Within the floor (collection.environ): a longer environ is read further after the walk.
    const environLimit = context.environ === undefined ? Number.POSITIVE_INFINITY : environFloor(context.environ);
    environHooked = hooks?.environ !== undefined;
    environ = state.attempt(() => readEnvironWithin(`${source}/environ`, environLimit, environHooked ? (hooks?.environNames ?? NO_NAMES) : NO_NAMES));
    hooks?.environ?.(pid, environ === null ? (state.failure ?? 'unreadable') : environ.selected);
    environReadable = environ !== null;
    if (environ !== null) {
      ldPreload = environ.selected.ldPreload;
      ldAudit = environ.selected.ldAudit;
      environReads.spent += environ.read;
    }
  }
  const cwdBytes = state.attempt(() => readLinkBytes(`${source}/cwd`));
  const cgroupText = state.attempt(() => readProcText(`${dir}/cgroup`, 'latin1'));
  const cgroup = cgroupText === null ? null : cgroups.get(cgroupText);
  const pidNs = state.attempt(() => parseNamespaceLink(readLink(`${dir}/ns/pid`)));
  const mntNs = state.attempt(() => parseNamespaceLink(readLink(`${dir}/ns/mnt`)));
  const netNs = state.attempt(() => parseNamespaceLink(readLink(`${dir}/ns/net`)));
  const nsPreload = kernelThread ? null : nsEtcFile(dir, 'ld.so.preload', mntNs, cgroups.preloads);
  // A login shell (argv[0] starting with '-', as login, sshd and su -l start one) is checked against the
  // /etc/shells of its own mount namespace: a shell an attacker set for an account is seldom listed there.
  const argv0 = argvBytes[0] ?? null;
  const loginShell = argv0 !== null && argv0[0] === 0x2d;
  const shells = kernelThread || !loginShell ? null : nsEtcFile(dir, 'shells', mntNs, cgroups.shells);
  const loginShellListed =
    !loginShell || exeBytes === null
      ? null
      : shells === null
        ? null
        : shells
            .toString('latin1')
            .split('\n')
            .map((line) => line.trim())
            .includes(exeBytes.toString('latin1'));

  if (state.sawGone && !stillRunning(dir, stat.startTicks)) return null;

  // Every text field takes the one lossless form (escapeBytes), each on its own: the same bytes are the same
  // text here and in every other table.
  const escaped = (fields: readonly (Buffer | null)[]): boolean => fields.some((bytes) => bytes !== null && needsEscape(bytes));
  const escapes: Escapes = {
    fixed: escaped([commBytes, exeBytes, cwdBytes, stdin, stdout, stderr, nsPreload]),
    argv: escaped(argvBytes),
    linker: escaped([ldPreload, ldAudit]),
  };
  const bytesEscaped = escapes.fixed || escapes.argv || escapes.linker;
  const environTotalBytes = environ === null ? null : environTotal(environ.read, environ.more, stat.environBytes);
  const text = (bytes: Buffer | null): string | null => (bytes === null ? null : escapeBytes(bytes));
  const executablePath = text(exeBytes);
  const argv = argvBytes.map((bytes) => text(bytes) as string);

  const uid = status?.uids?.[0] ?? null;
  const pathInode = pathStat === null || pathStat === undefined ? null : pathStat.ino;
  const platform: LinuxPlatformData = {
    user_name: uid === null ? null : (context.users.get(uid) ?? null),
    uid,
    euid: status?.uids?.[1] ?? null,
    gid: status?.gids?.[0] ?? null,
    egid: status?.gids?.[1] ?? null,
    state: stat.state,
    threads: stat.threads,
    nice: stat.nice,
    tty: decodeTtyNr(stat.ttyNr),
    session_id: stat.sessionId,
    process_group: stat.processGroup,
    cwd: text(cwdBytes),
    start_ticks: stat.startTicks,
    parent_start_time: null,
    kernel_thread: kernelThread,
    cgroup: cgroup?.cgroup ?? null,
    container_id: cgroup?.containerId ?? null,
    container_runtime: cgroup?.containerRuntime ?? null,
    pid_ns: pidNs,
    mnt_ns: mntNs,
    net_ns: netNs,
    exe_deleted: exeDeleted,
    exe_memfd: exeMemfd,
    exe_inode: image?.ino ?? null,
    exe_device: image?.dev ?? null,
    exe_path_inode: exeMemfd === true ? null : pathInode,
    exe_mtime: exeMemfd === true || pathStat === null || pathStat === undefined ? null : Math.trunc(pathStat.mtimeMs),
    exe_replaced:
      executablePath === null || exeMemfd === true || image === null
        ? null
        : pathStat !== null && pathStat !== undefined && (pathStat.ino !== image.ino || pathStat.dev !== image.dev),
    exe_size: image?.size ?? null,
    stdin: text(stdin),
    stdout: text(stdout),
    stderr: text(stderr),
    tracer_pid: status?.tracerPid ?? null,
    ld_preload: text(ldPreload),
    ld_audit: text(ldAudit),
    ns_ld_so_preload: text(nsPreload),
    login_shell_listed: loginShellListed,
    environ_readable: environReadable,
    environ_bytes: environTotalBytes,
    environ_cut: environ === null ? null : environ.more,
    entity_id: entityId(context.bootId, context.bootTimeMs, pid, stat.startTicks),
    bytes_escaped: bytesEscaped,
    live_thread_tid: liveTid,
    hidden: null,
    hidden_evidence: null,
  };
  const record: ProcessRecord = {
    id: crypto.randomUUID(),
    scan_id: context.scanId,
    collection_time: collectionTime,
    pid,
    ppid: stat.ppid,
    name: text(commBytes) as string,
    executable_path: executablePath,
    // Redacted with every other table by its columns' kinds (collect/redact.ts), after the walk.
    command_line: argv,
    start_time: startTimeMs(context, stat.startTicks),
    cpu_usage: cpuPercent(context, pid, stat),
    memory_usage: status === null ? Math.max(0, stat.rssPages) * 4096 : (status.rssBytes ?? 0),
    executable_hash: null,
    hash_algorithm: null,
    user_id: uid === null ? null : String(uid),
    accessible: state.accessible,
    file_exists: fileExists,
    platform_data: platform,
  };
  const executable = image === null ? null : executableImage(image, `${source}/exe`);
  const collected = {record, platform, image: executable};
  if (argvCut && cmdline !== null) {
    argvReads.long.push({collected, source, dir, total: cmdline.total, read: cmdline.head.length + cmdline.tail.length, escapes});
  }
  if (environ?.more === true) {
    environReads.long.push({collected, source, dir, read: environ.read, total: environTotalBytes, escapes, hooked: environHooked});
  }
  return collected;
}

/** fd `fd`'s link bytes among `links` (ascending by fd), or null when it is not open. */
function stdioTarget(links: readonly FdLink[], fd: number): Buffer | null {
  for (const link of links) {
    if (link.fd === fd) return latin1Bytes(link.target);
    if (link.fd > fd) break;
  }
  return null;
}

function fdTarget(path: string, state: ReadState): Buffer | null {
  try {
    return readLinkBytes(path);
  } catch (error) {
    const code = errorCode(error);
    // A closed fd is a plain ENOENT and says nothing about the process being gone.
    if (!isGone(code)) state.accessible = false;
    return null;
  }
}

/** After an ENOENT mid-read: is it the same process (same start ticks), e.g. a zombie, or did it exit? */
function stillRunning(dir: string, startTicks: number): boolean {
  try {
    const again = parseStat(readProcText(`${dir}/stat`));
    return again !== null && again.startTicks === startTicks && again.state !== 'X';
  } catch {
    return false;
  }
}

function fillParentStartTimes(processes: CollectedProcess[], context: ProcfsWalkContext): void {
  const startByPid = new Map<number, number | null>();
  for (const {record} of processes) startByPid.set(record.pid, record.start_time);
  for (const {record, platform} of processes) {
    const ppid = record.ppid;
    if (ppid === null || ppid === 0) continue;
    let parentStart = startByPid.get(ppid);
    if (parentStart === undefined) {
      // Parent not in this snapshot (--pid): read its stat alone.
      try {
        const parent = parseStat(readProcText(`${context.procRoot}/${ppid}/stat`));
        parentStart = parent === null ? null : startTimeMs(context, parent.startTicks);
      } catch {
        parentStart = null;
      }
      startByPid.set(ppid, parentStart);
    }
    (platform as {parent_start_time: number | null}).parent_start_time = parentStart;
  }
}
