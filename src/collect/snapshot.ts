// collectSnapshot: the one library call behind `scan`, `detect` and `scan --output/--store`: host facts,
// the process walk, executable hashing (through the hash cache) and the scan record, with the collector's own timings.
import {randomInt, randomUUID} from 'node:crypto';
import {existsSync, readFileSync} from 'node:fs';
import {join} from 'node:path';

import {statePaths} from '../config/paths.js';
import type {DaemonEyeConfig} from '../config/schema.js';
import {DaemonEyeError} from '../errors.js';
import type {SqlRowValue} from '../models/columns.js';
import type {ProcessRecord} from '../models/process.js';
import type {ScanRecord} from '../models/scan.js';
import {type CollectedTable, isFlatTableRows, PROCESSES_TABLE, tableDefinition, type TableRow} from '../models/tables.js';
import {TOOL_VERSION} from '../version.js';
import {HASH_ALGORITHM, type HashJob, type HashProgress, hashExecutables} from './hash.js';
import {HashCache} from './hash-cache.js';
import {type HostFacts, linuxHostFacts, readUptimeSeconds, systemInformationHostFacts} from './host.js';
import {findHiddenProcesses} from './hidden.js';
import {parsePasswd} from './parsers.js';
import {type CollectedProcess, listPids, sampleCpu, walkProcfs, type WalkSources} from './procfs.js';
import {collectionRedactor, redactCollectedTable, type RedactionOptions} from './redact.js';
import {collectLiveTables, LIVE_TABLES, type LiveTableSink, liveTableSources} from './live-tables.js';
import type {EnvEntry, SelectedEnviron} from './envs.js';
import {signalTurn, withSignalsAtDefault} from '../util/interrupt.js';
import {type ArgvCut, type ArgvLimits, argvWarning} from './argv-limit.js';
import {type EnvironLimits, environFloor, environWarning} from './environ-limit.js';
import type {FdListing} from './fds.js';
import {fanoutWarning, type FanoutCut, type FanoutLimits} from './fanout.js';

export type CollectorChoice = 'auto' | 'procfs' | 'systeminformation';

export interface CollectOptions {
  readonly collector?: CollectorChoice;
  /** Only these pids (`--pid`); all processes when absent. */
  readonly pids?: readonly number[];
  readonly hash?: boolean;
  readonly hashMaxBytes?: number;
  readonly hashConcurrency?: number;
  /** The hash cache file (hash-cache.ts); null or absent: every executable is read and hashed. */
  readonly hashCachePath?: string | null;
  /** 0: CPU since each process started; otherwise measure over this many milliseconds. */
  readonly cpuSampleMs?: number;
  /** null or absent: no redaction. */
  readonly redaction?: RedactionOptions | null;
  /** Hashing progress, about every 250 ms while hashing runs. */
  readonly onHashProgress?: (progress: HashProgress) => void;
  /** Overrides for tests: the /proc and /etc to read. */
  readonly procRoot?: string;
  readonly etcRoot?: string;
  /**
   * The host tables to collect (names from the table registry); `processes` is always collected. Absent:
   * processes only. The live-response tables need the procfs collector.
   */
  readonly tables?: readonly string[];
  /** Variable names process_envs keeps (collection.env_variables). */
  readonly envVariables?: readonly string[];
  /** Test hook, see ProcfsWalkContext.afterStat. */
  readonly afterStat?: (pid: number) => void;
  /**
   * `--hidden-check`: also sweep the pid space with kill(pid, 0) for processes /proc's listing leaves out
   * (hidden.ts). Mounts over /proc entries are checked on every scan regardless.
   */
  readonly hiddenCheck?: boolean;
  /** Static labels recorded with the scan (`collection.decorations`): the host object's `decorations`. */
  readonly decorations?: Readonly<Record<string, string>>;
  /**
   * Stream the live-response tables' rows out while they are collected, in batches (storage inserts them
   * into the snapshot database: src/storage/snapshot-writer.ts), instead of returning them in
   * `Snapshot.tables`: a host's tables are never held whole in memory. Absent: they are returned.
   */
  readonly stream?: TableStream;
  /** How much of each process's argv is kept (collection.argv; argv-limit.ts). Absent: all of it. */
  readonly argv?: ArgvLimits;
  /** How much of each process's environment is read (collection.environ; environ-limit.ts). Absent: all of it. */
  readonly environ?: EnvironLimits;
  /**
   * How much of one process's fds and memory maps the live tables read (collection.fanout; fanout.ts). Absent:
   * all of them.
   */
  readonly fanout?: {readonly fds: FanoutLimits; readonly maps: FanoutLimits; readonly socket_table_lines?: number};
}

/** Where a scan's live-response table rows go while they are collected (CollectOptions.stream). */
export interface TableStream {
  /**
   * Called once, before the first row, when the scan collects a live table (never for processes alone):
   * where the rows go. Its promise is awaited after the process walk and hashing.
   */
  open(scanId: number): Promise<TableRowWriter>;
  /** Tables whose rows are also returned in `Snapshot.tables` (a tree's sockets). */
  readonly keep?: readonly string[];
}

/** Takes one scan's rows of the live-response tables, redacted, batch after batch in collection order (see LiveTableSink). */
export interface TableRowWriter {
  readonly batchRows: number;
  write(table: string, rows: CollectedTable): void;
}

export interface CollectStats {
  readonly collector: 'procfs' | 'systeminformation';
  readonly processes: number;
  /** Listed but exited before they were read completely (dropped). */
  readonly vanished: number;
  readonly inaccessible: number;
  /** `--pid` values with no such process. */
  readonly missing_pids: number[];
  /** Time spent reading /proc (or in systeminformation), ms. */
  readonly walk_ms: number;
  readonly cpu_sample_ms: number;
  readonly hash_ms: number;
  readonly total_ms: number;
  readonly hashed_files: number;
  readonly hashed_bytes: number;
  readonly hash_skipped_too_large: number;
  readonly hash_failed: number;
  /** Executables whose digest came from the hash cache instead of being read. */
  readonly hash_cache_hits: number;
  /** The hash cache could not be read or saved (the scan itself is complete); null when all went well. */
  readonly hash_cache_problem: string | null;
  /** Processes recorded as hidden (`hidden` not null). */
  readonly hidden: number;
  /** Pids probed by `--hidden-check` (0 without it). */
  readonly hidden_check_probed: number;
  /** Time spent on the hidden-process checks (mountinfo, and the sweep when asked), ms. */
  readonly hidden_check_ms: number;
  /** Time spent reading the live-response tables, ms (0 when none was asked for). */
  readonly tables_ms: number;
  /** Rows per live-response table collected. */
  readonly table_rows: Readonly<Record<string, number>>;
  /** Per live-response table: processes whose files could not be read (permission denied), left out. */
  readonly table_unreadable: Readonly<Record<string, number>>;
  /**
   * Processes whose argv was kept short of its length (collection.argv): pid, bytes kept, bytes of
   * /proc/PID/cmdline. They are also one line of the scan's `errors`, starting `collection limit: `.
   */
  readonly argv_cuts: readonly ArgvCut[];
  /**
   * Processes whose environment was read short of its length (collection.environ): pid, bytes read, bytes of
   * /proc/PID/environ (null when the kernel does not say). They are also one line of the scan's `errors`.
   */
  readonly environ_cuts: readonly FanoutCut[];
  /**
   * Per /proc source (`fd`, `maps`), the processes read short of what they hold (collection.fanout): pid,
   * entries read, entries held (null when the kernel does not say). Each source's cuts are also one line of
   * the scan's `errors`, starting `collection limit: `.
   */
  readonly fanout_cuts: Readonly<Record<string, readonly FanoutCut[]>>;
}

export interface Snapshot {
  readonly scan: ScanRecord;
  readonly processes: ProcessRecord[];
  /** The live-response tables collected, as row objects or flat values (`scan.tables` names every table collected). */
  readonly tables: Readonly<Record<string, CollectedTable>>;
  readonly stats: CollectStats;
}

/** `more` appended to `kept` in place (a table's rows gathered over the batches a stream wrote); the first batch is copied. */
function appendCollected(kept: CollectedTable | undefined, more: CollectedTable): CollectedTable {
  if (kept === undefined) return isFlatTableRows(more) ? {values: [...more.values], rows: more.rows} : [...more];
  if (isFlatTableRows(kept) && isFlatTableRows(more)) {
    for (const value of more.values) (kept.values as SqlRowValue[]).push(value);
    return {values: kept.values, rows: kept.rows + more.rows};
  }
  for (const row of more as readonly TableRow[]) (kept as TableRow[]).push(row);
  return kept;
}

/** The hash cache's file name in the state directory. */
export const HASH_CACHE_FILE = 'hash-cache.json';

let lastScanId = 0;

/**
 * A new scan id: epoch ms × 1000 + a random 0–999 (JavaScript-safe until the year 2255). Two processes
 * starting a scan in the same millisecond collide with probability 1/1000; within one process ids are
 * strictly increasing, so they never collide there.
 */
export function newScanId(now = Date.now()): number {
  let id = now * 1000 + randomInt(1000);
  if (id <= lastScanId) id = lastScanId + 1;
  lastScanId = id;
  return id;
}

/** The collection options a configuration asks for (flags are mapped onto the same keys). */
export function collectOptionsFromConfig(config: DaemonEyeConfig): CollectOptions {
  const collection = config.collection;
  return {
    collector: collection.collector,
    hash: collection.hash,
    hashMaxBytes: collection.hash_max_bytes,
    hashConcurrency: collection.hash_concurrency,
    hashCachePath: collection.hash && collection.hash_cache ? join(statePaths(config).stateDir, HASH_CACHE_FILE) : null,
    cpuSampleMs: collection.cpu_sample_ms,
    hiddenCheck: collection.hidden_check,
    redaction: collection.redaction.enabled ? {words: collection.redaction.flags, shortFlags: collection.redaction.short_flags} : null,
    envVariables: collection.env_variables,
    decorations: collection.decorations,
    argv: collection.argv,
    environ: collection.environ,
    fanout: collection.fanout,
  };
}

function chooseCollector(choice: CollectorChoice, procRoot: string): 'procfs' | 'systeminformation' {
  const hasProc = existsSync(`${procRoot}/self/stat`);
  if (choice === 'procfs' && !hasProc) {
    throw new DaemonEyeError('COLLECTOR_UNAVAILABLE', `the procfs collector needs ${procRoot}, which this system does not have`, {
      hint: 'use --collector auto or systeminformation',
    });
  }
  if (choice === 'auto') return hasProc ? 'procfs' : 'systeminformation';
  return choice;
}

function loadUsers(etcRoot: string): Map<number, string> {
  try {
    return parsePasswd(readFileSync(`${etcRoot}/passwd`, 'latin1'));
  } catch {
    return new Map();
  }
}

/** What to do about records /proc refused: root helps unless the scan already ran as root. */
const COMPLETE_RECORDS_ADVICE =
  process.getuid?.() === 0 ? 'even root was refused (a security module, a container boundary or a mount hides them)' : 'run as root for complete records';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Take a snapshot of the processes on this host. Never throws for an odd process. */
export async function collectSnapshot(options: CollectOptions = {}): Promise<Snapshot> {
  const startTime = Date.now();
  const started = performance.now();
  const scanId = newScanId(startTime);
  const procRoot = options.procRoot ?? '/proc';
  const etcRoot = options.etcRoot ?? '/etc';
  const collector = chooseCollector(options.collector ?? 'auto', procRoot);
  const redactor = options.redaction === null || options.redaction === undefined ? null : collectionRedactor(options.redaction);
  const cpuSampleMs = options.cpuSampleMs ?? 0;
  const asked = new Set((options.tables ?? []).filter((t) => (LIVE_TABLES as readonly string[]).includes(t)));
  const unknownTables = (options.tables ?? []).filter((t) => t !== 'processes' && !asked.has(t));
  if (unknownTables.length > 0) {
    throw new DaemonEyeError('INVALID_ARGUMENT', `unknown table${unknownTables.length > 1 ? 's' : ''} ${unknownTables.join(', ')}`, {
      hint: `collect processes or ${LIVE_TABLES.join(', ')} (docs/schema.md)`,
    });
  }
  const envSelection = {names: new Set(options.envVariables ?? [])};
  // What the walk reads anyway and a live table needs too, kept from the walk (the file is read once).
  const neededSources = liveTableSources(asked);
  const prereadFd = new Map<number, FdListing | 'unreadable' | 'gone'>();
  const prereadEnviron = new Map<number, readonly EnvEntry[] | 'unreadable' | 'gone'>();
  const sources: WalkSources = {
    ...(neededSources.has('fd')
      ? {
          fd: (pid: number, links: FdListing | 'unreadable' | 'gone') => prereadFd.set(pid, links),
          // Every process's lowest fds; the live tables read one that holds more again, to its share.
          ...(options.fanout === undefined ? {} : {fdLimit: options.fanout.fds.floor}),
        }
      : {}),
    ...(neededSources.has('environ')
      ? {
          // Only the entries process_envs keeps, picked out as the environ streams past (envs.ts).
          environ: (pid: number, read: SelectedEnviron | 'unreadable' | 'gone') => prereadEnviron.set(pid, typeof read === 'string' ? read : read.entries),
          environNames: envSelection,
        }
      : {}),
  };

  let host: HostFacts;
  let collected: CollectedProcess[];
  let vanished = 0;
  let missingPids: number[] = [];
  let walkMs: number;
  let sampleMs = 0;
  let hiddenProbed = 0;
  let argvCuts: ArgvCut[] = [];
  let environCuts: FanoutCut[] = [];
  let hiddenMs = 0;
  if (collector === 'procfs') {
    host = linuxHostFacts(procRoot, etcRoot);
    let cpuBaseline: {samples: Map<number, {startTicks: number; cpuTicks: number}>; atUptimeSeconds: number} | undefined;
    if (cpuSampleMs > 0) {
      const sampleStart = performance.now();
      const atUptimeSeconds = readUptimeSeconds(procRoot);
      cpuBaseline = {samples: sampleCpu(options.pids ?? listPids(procRoot), procRoot), atUptimeSeconds};
      await sleep(cpuSampleMs);
      sampleMs = performance.now() - sampleStart;
    }
    const walkStart = performance.now();
    const context = {
      procRoot,
      scanId,
      bootId: host.boot_id,
      bootTimeMs: host.boot_time ?? 0,
      uptimeSeconds: readUptimeSeconds(procRoot),
      users: loadUsers(etcRoot),
      ...(cpuBaseline === undefined ? {} : {cpuBaseline}),
      ...(options.afterStat === undefined ? {} : {afterStat: options.afterStat}),
      ...(options.argv === undefined ? {} : {argv: options.argv}),
      ...(options.environ === undefined ? {} : {environ: options.environ}),
      sources,
    };
    // The walk, the hidden-process check and the live tables are synchronous stretches (per-call overhead of
    // async fs would dominate) that can last seconds on a big host: a signal during them ends the run at once
    // by its default action, since nothing a signal must undo exists yet (src/util/interrupt.ts).
    await signalTurn();
    const result = withSignalsAtDefault(() => walkProcfs(context, options.pids));
    walkMs = performance.now() - walkStart;
    collected = result.processes;
    argvCuts = result.argvCuts;
    environCuts = result.environCuts;
    const hiddenStart = performance.now();
    await signalTurn();
    const hidden = withSignalsAtDefault(() =>
      findHiddenProcesses(
        collected,
        {procRoot, scanId, pids: options.pids, readByPath: (pids) => walkProcfs(context, pids).processes, newId: () => randomUUID()},
        options.hiddenCheck === true,
      ),
    );
    hiddenMs = performance.now() - hiddenStart;
    hiddenProbed = hidden.probed;
    collected = [...collected, ...hidden.added].sort((a, b) => a.record.pid - b.record.pid);
    // A covered entry reads as a process that exited mid-walk (or, with --pid, as no such process).
    const recovered = new Set(hidden.recovered);
    vanished = Math.max(0, result.vanished - hidden.recovered.length);
    missingPids = result.missingPids.filter((pid) => !recovered.has(pid));
  } else {
    // Host facts and the process list are independent: ask for both at once.
    const walkStart = performance.now();
    const {collectWithSystemInformation} = await import('./sysinfo.js');
    const [facts, result] = await Promise.all([
      systemInformationHostFacts(),
      collectWithSystemInformation({scanId, ...(options.pids === undefined ? {} : {pids: options.pids})}),
    ]);
    walkMs = performance.now() - walkStart;
    host = facts;
    collected = result.processes;
    if (options.pids !== undefined) {
      const seen = new Set(collected.map((p) => p.record.pid));
      missingPids = [...new Set(options.pids)].filter((pid) => !seen.has(pid));
    }
  }

  const hashStart = performance.now();
  const errors: string[] = [];
  let hashOutcome: Awaited<ReturnType<typeof hashExecutables>> | undefined;
  let cacheProblem: string | null = null;
  if (options.hash ?? true) {
    const cache = options.hashCachePath === null || options.hashCachePath === undefined ? undefined : HashCache.load(options.hashCachePath);
    cacheProblem = cache?.loadProblem ?? null;
    const jobs = new Map<string, HashJob & {readPaths: string[]}>();
    for (const {image} of collected) {
      if (image === null) continue;
      const key = `${image.device}:${image.inode}`;
      const job = jobs.get(key);
      if (job === undefined) jobs.set(key, {key, size: image.size, regular: image.regular, readPaths: [image.readPath], identity: image});
      else if (job.readPaths.length < 4) job.readPaths.push(image.readPath);
    }
    hashOutcome = await hashExecutables([...jobs.values()], {
      maxBytes: options.hashMaxBytes ?? 256 * 1024 * 1024,
      concurrency: options.hashConcurrency ?? 4,
      ...(options.onHashProgress === undefined ? {} : {onProgress: options.onHashProgress}),
      ...(cache === undefined ? {} : {cache}),
    });
    try {
      cache?.save();
    } catch (error) {
      cacheProblem = `the hash cache was not saved (${(error as Error).message}); the scan is complete: make the state directory writable or set collection.hash_cache: false`;
    }
    for (const {record, image} of collected) {
      const hex = image === null ? undefined : hashOutcome.hashes.get(`${image.device}:${image.inode}`);
      if (hex !== undefined) {
        record.executable_hash = hex;
        record.hash_algorithm = HASH_ALGORITHM;
      }
    }
    errors.push(...hashOutcome.errors);
  }
  const hashMs = performance.now() - hashStart;

  const processes = collected.map((p) => p.record);
  const inaccessible = processes.filter((p) => !p.accessible).length;
  if (inaccessible > 0) {
    errors.unshift(`${inaccessible} of ${processes.length} processes were partly unreadable (permission denied); ${COMPLETE_RECORDS_ADVICE}`);
  }
  if (argvCuts.length > 0) errors.push(argvWarning(argvCuts));
  if (environCuts.length > 0) errors.push(environWarning(environCuts));

  let live: ReturnType<typeof collectLiveTables> | undefined;
  /** With `stream`: the tables it keeps, as they went to the writer. */
  let keptTables: Record<string, CollectedTable> | undefined;
  if (asked.size > 0 && collector === 'procfs') {
    let sink: LiveTableSink | undefined;
    if (options.stream !== undefined) {
      const writer = await options.stream.open(scanId);
      const keep = new Set(options.stream.keep ?? []);
      const kept: Record<string, CollectedTable> = {};
      keptTables = kept;
      sink = {
        batchRows: Math.max(1, writer.batchRows),
        write: (table, rows) => {
          // Redacted before the rows leave the collector, as the returned tables are below.
          const definition = tableDefinition(table);
          if (redactor !== null && definition !== undefined) redactCollectedTable(definition, rows, redactor);
          writer.write(table, rows);
          if (keep.has(table)) kept[table] = appendCollected(kept[table], rows);
        },
      };
    }
    await signalTurn();
    live = withSignalsAtDefault(() =>
      collectLiveTables({
        procRoot,
        processes,
        tables: asked,
        env: envSelection,
        preread: {fd: prereadFd, environ: prereadEnviron},
        ...(sink === undefined ? {} : {sink}),
        ...(options.fanout === undefined ? {} : {fanout: options.fanout}),
        ...(options.environ === undefined ? {} : {environBytes: environFloor(options.environ)}),
      }),
    );
    for (const [table, count] of Object.entries(live.unreadable)) {
      if (count > 0) {
        errors.push(
          `${table}: ${count} process${count === 1 ? '' : 'es'} could not be read (permission denied) and ${count === 1 ? 'is' : 'are'} left out; ${COMPLETE_RECORDS_ADVICE}`,
        );
      }
    }
    errors.push(...live.problems);
    for (const [source, cuts] of Object.entries(live.cuts)) errors.push(fanoutWarning(source as keyof typeof live.cuts, cuts));
  } else if (asked.size > 0) {
    errors.push(
      `${[...asked].join(', ')}: not collected, the ${collector} collector reads only processes (on Linux, the procfs collector collects them: --collector procfs, or collection.collector: auto)`,
    );
  }
  // Every table through the redaction policy by its columns' kinds, before anything stores or prints a row.
  if (redactor !== null) {
    redactCollectedTable(PROCESSES_TABLE, processes, redactor);
    // Streamed tables were redacted batch by batch; their `rows` here are empty.
    for (const [table, rows] of Object.entries(live?.rows ?? {})) {
      const definition = tableDefinition(table);
      if (definition !== undefined) redactCollectedTable(definition, rows, redactor);
    }
  }
  const collectedTables = ['processes', ...(live === undefined ? [] : LIVE_TABLES.filter((t) => asked.has(t)))];
  const endTime = Date.now();
  const scan: ScanRecord = {
    id: scanId,
    hostname: host.hostname,
    host_id: host.machine_id,
    os: host.os,
    kernel: host.kernel,
    arch: host.arch,
    boot_time: host.boot_time,
    boot_id: host.boot_id,
    start_time: startTime,
    end_time: endTime,
    process_count: processes.length,
    collector,
    tool_version: TOOL_VERSION,
    ld_so_preload: host.ld_so_preload,
    tables: collectedTables,
    decorations: {...options.decorations},
    errors,
  };
  const round = (ms: number): number => Math.round(ms * 10) / 10;
  return {
    scan,
    processes,
    tables: keptTables ?? live?.rows ?? {},
    stats: {
      collector,
      processes: processes.length,
      vanished,
      inaccessible,
      missing_pids: missingPids,
      walk_ms: round(walkMs),
      cpu_sample_ms: round(sampleMs),
      hash_ms: round(hashMs),
      total_ms: round(performance.now() - started),
      hashed_files: hashOutcome?.files ?? 0,
      hashed_bytes: hashOutcome?.bytes ?? 0,
      hash_skipped_too_large: hashOutcome?.skippedTooLarge ?? 0,
      hash_failed: hashOutcome?.failed ?? 0,
      hash_cache_hits: hashOutcome?.cacheHits ?? 0,
      hash_cache_problem: cacheProblem,
      hidden: processes.filter((p) => p.platform_data?.hidden !== null && p.platform_data?.hidden !== undefined).length,
      hidden_check_probed: hiddenProbed,
      hidden_check_ms: round(hiddenMs),
      tables_ms: live?.ms ?? 0,
      table_rows: live?.counts ?? {},
      table_unreadable: live?.unreadable ?? {},
      argv_cuts: argvCuts,
      environ_cuts: environCuts,
      fanout_cuts: live?.cuts ?? {},
    },
  };
}
