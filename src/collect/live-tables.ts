// The live-response tables of one scan, driven by the table registry. After the process walk, the tables
// asked for (a rule, a query or `scan --tables` needs them) are grouped by the /proc source their registry
// entry names (LIVE_TABLE_SCHEMAS[table].source), and each source is read once per process for all of its
// tables: the fd links once for sockets, open files and fd peers, /proc/PID/maps once for memory maps and
// libraries. COLLECTORS binds each table to the parser that makes its rows; the compiler refuses a registry
// table without one. A table is made per process, or, when a row depends on other processes (a socket's
// /proc/net/unix line is settled by every process's fds, a pipe's peers are in other processes), once for
// the whole scan from what each process gave. What cannot be read (another user's process without root) is
// left out and counted per table, never an abort. Rows carry no scan_id: storage stamps it.
import type {SqlRowValue} from '../models/columns.js';
import {LIVE_TABLE_SCHEMAS, LIVE_TABLE_SOURCES, type LiveTableName, type LiveTableSchema, type LiveTableSource} from '../models/live-tables.js';
import type {ProcessRecord} from '../models/process.js';
import {type CollectedTable, collectedRowCount, tableDefinition} from '../models/tables.js';
import {type EnvEntry, type EnvSelection, EnvironSelector, envRows} from './envs.js';
import {type FdEnd, fdPeerRows} from './fd-peers.js';
import {type FanoutCut, FanoutBudget, type FanoutLimits, socketTableWarning} from './fanout.js';
import {fdCount, type FdLink, type FdListing, readFdLinks} from './fds.js';
import {appendMapValues, libraryRows, type MapsText, readMapsFile} from './maps.js';
import {openFileRows} from './open-files.js';
import {errorCode, isGone, readProcStream} from './proc-read.js';
import {fdinfoVerdicts, listeningRows, readSocketIndex, resolveUnixSockets, type SocketTables, socketRows} from './sockets.js';

/** The tables this module fills (the registry's collected tables other than `processes`). */
export const LIVE_TABLES = Object.keys(LIVE_TABLE_SCHEMAS) as LiveTableName[];

export interface LiveTablesOptions {
  readonly procRoot: string;
  /** The processes of the scan (their pid, net_ns and kernel_thread are used). */
  readonly processes: readonly ProcessRecord[];
  readonly tables: ReadonlySet<string>;
  readonly env: EnvSelection;
  /**
   * Sources the /proc walk already read, by pid (walkProcfs's `sources` hooks): used instead of reading the
   * file again. A process absent here is read as usual.
   */
  readonly preread?: Prereads;
  /**
   * Where each kept table's rows go while the walk runs, in batches (streamed: storage inserts them into the
   * snapshot database, src/storage/snapshot-writer.ts): no table's rows for the whole host are held here.
   * Absent: every table's rows are returned in `rows`.
   */
  readonly sink?: LiveTableSink;
  /**
   * How much of a process's fds and maps are read (collection.fanout; fanout.ts): absent, all of them. The
   * walk's prereads of fds must hold at least the fds limit's floor.
   */
  readonly fanout?: {readonly fds: FanoutLimits; readonly maps: FanoutLimits; readonly socket_table_lines?: number};
  /**
   * Bytes of an environ read here, for a process the walk did not pre-read (collection.environ's floor: the
   * walk reads and reports every other one within its limits). Absent: all of it.
   */
  readonly environBytes?: number;
}

/**
 * Takes a kept table's rows as they are collected: in collection order, in batches of about `batchRows`
 * rows (row objects, or a flat table's values), each batch once and never again. A whole-scan table's rows
 * (process_open_sockets, listening_ports, process_fd_peers) come once every process is read.
 */
export interface LiveTableSink {
  /** Rows per batch a table gathers before it is handed over (at least 1). */
  readonly batchRows: number;
  write(table: LiveTableName, rows: CollectedTable): void;
}

/** Per source, what the walk read for each pid (environ: only the entries the selection keeps, envs.ts). */
export interface Prereads {
  readonly fd?: ReadonlyMap<number, FdListing | 'unreadable' | 'gone'>;
  readonly environ?: ReadonlyMap<number, readonly EnvEntry[] | 'unreadable' | 'gone'>;
}

export interface LiveTablesResult {
  /**
   * Row objects per table, without scan_id; a `flat` table (process_memory_map) as flat values. With a
   * `sink`, empty: the rows went there.
   */
  readonly rows: Record<string, CollectedTable>;
  /** Rows collected per kept table (whether returned or handed to the sink). */
  readonly counts: Record<string, number>;
  /** Per table: processes whose files for it could not be read (permission denied). */
  readonly unreadable: Record<string, number>;
  /** What the scan should report besides unreadable files (forged /proc/net/unix lines). */
  readonly problems: readonly string[];
  /** Per source, the processes read short of what they hold (collection.fanout), in the order they were read. */
  readonly cuts: Partial<Record<LiveTableSource, readonly FanoutCut[]>>;
  readonly ms: number;
}

/** What one read of each source gives for one process. */
interface SourceData {
  readonly fd: readonly FdLink[];
  readonly environ: readonly EnvEntry[];
  readonly maps: MapsText;
}

/** One read of a source for one process: its data, how many entries (fds, lines of maps) it holds, and whether the process has more. */
interface SourceRead<S extends LiveTableSource> {
  readonly data: SourceData[S];
  readonly entries: number;
  readonly more: boolean;
}

/**
 * How each source is read: once per process, for every table that comes from it (or taken from what the walk
 * read), at most `limit` entries of it (the environ: what the walk read of it within collection.environ).
 */
const SOURCES: {readonly [S in LiveTableSource]: (options: LiveTablesOptions, pid: number, limit: number) => SourceRead<S> | 'unreadable' | 'gone'} = {
  fd: ({procRoot, preread}, pid, limit) => {
    const before = preread?.fd?.get(pid);
    // The walk's listing serves when it holds all the process has, or as much as asked.
    const listing = before !== undefined && (typeof before === 'string' || !before.more || before.listed >= limit) ? before : readFdLinks(procRoot, pid, limit);
    if (typeof listing === 'string') return listing;
    if (listing.listed <= limit) return {data: listing.links, entries: listing.listed, more: listing.more};
    // The walk listed a few more than asked (stdio): keep the lowest `limit`.
    return {data: listing.links.filter((link, index) => index < limit), entries: limit, more: true};
  },
  environ: ({procRoot, preread, env, environBytes}, pid) => {
    const entries = preread?.environ?.get(pid) ?? readEnviron(procRoot, pid, env, environBytes ?? Number.POSITIVE_INFINITY);
    return typeof entries === 'string' ? entries : {data: entries, entries: 0, more: false};
  },
  maps: ({procRoot}, pid, limit) => {
    const maps = readMapsFile(procRoot, pid, limit);
    return typeof maps === 'string' ? maps : {data: maps, entries: maps.lines, more: maps.more};
  },
};

/** How many entries a process of `source` holds, when the kernel says without a full read (fds: fdCount), else null. */
function totalOf(source: LiveTableSource, procRoot: string, pid: number): number | null {
  return source === 'fd' ? fdCount(procRoot, pid) : null;
}

/** The entries of a process's environ that process_envs keeps (envs.ts), its first `allowance` bytes streamed, or why it could not be read. */
function readEnviron(procRoot: string, pid: number, selection: EnvSelection, allowance: number): readonly EnvEntry[] | 'unreadable' | 'gone' {
  try {
    const selector = new EnvironSelector(selection);
    const {more} = readProcStream(`${procRoot}/${pid}/environ`, allowance, (chunk, length) => selector.push(chunk, length));
    return selector.end(!more).entries;
  } catch (error) {
    return isGone(errorCode(error)) ? 'gone' : 'unreadable';
  }
}

/** The /proc sources the given tables (and the tables they are made from) are read from. */
export function liveTableSources(tables: Iterable<string>): Set<LiveTableSource> {
  const known = [...tables].filter((table): table is LiveTableName => (LIVE_TABLES as readonly string[]).includes(table));
  return new Set(withUsed(known).map(sourceOf));
}

/**
 * One process's values of a `flat` table: row after row (the columns after scan_id) at `values[start…end)`.
 * They are appended straight into the table's array when the table is kept (no copy of tens of thousands of
 * values), else into a scratch array.
 */
export interface FlatSlice {
  readonly values: readonly SqlRowValue[];
  readonly start: number;
  readonly end: number;
}

/** What a collector is given for one process. */
interface ProcessInput<S extends LiveTableSource> {
  readonly process: ProcessRecord;
  /** What the table's source gave for this process. */
  readonly data: SourceData[S];
  /** What a table of the same source that this one `uses` made for this process (made once per process). */
  made(table: LiveTableName): unknown;
  readonly options: LiveTablesOptions;
  /** A `flat` table's values go here (its `make` returns the FlatSlice it appended). */
  readonly into: SqlRowValue[];
}

/** What a whole-scan step is given once every process is read. */
interface ScanInput {
  /** What a table made for each process, by pid (this table's own `make`, or one it uses). */
  madeByPid(table: LiveTableName): ReadonlyMap<number, unknown>;
  /** Every row of a table this one uses, over the scan. */
  rowsOf(table: LiveTableName): readonly unknown[];
  /** What `prepare` returned. */
  readonly prepared: unknown;
  readonly options: LiveTablesOptions;
  readonly problems: string[];
}

/** How a table's rows are made from its source. */
interface TableCollector<S extends LiveTableSource> {
  /** Tables of the same source this one is made from: made for it even when not kept. */
  readonly uses?: readonly LiveTableName[];
  /**
   * Once per scan before the processes (each network namespace's socket tables): its state goes to the
   * whole-scan step; its unreadable count goes to this table and every table that uses it.
   */
  prepare?(options: LiveTablesOptions, processes: readonly ProcessRecord[]): {state: unknown; unreadable: number};
  /** What this table makes of one process's source (memoized; tables that use it read it through `made`). */
  make?(input: ProcessInput<S>): unknown;
  /** This process's rows, from what it made (absent: what it made are its rows). Tables without `scan` only. */
  rows?(made: unknown): readonly unknown[];
  /**
   * What a whole-scan step keeps of what this table made for a process (absent: all of it): only what the
   * step reads stays for the rest of the walk (open files' pipe and terminal ends, not their rows).
   */
  retain?(made: unknown): unknown;
  /** Once every process is read: the table's rows over the scan (a table whose rows depend on other processes). */
  scan?(input: ScanInput): readonly unknown[];
}

const netNsOf = (p: ProcessRecord): number | null => (typeof p.platform_data?.net_ns === 'number' ? p.platform_data.net_ns : null);

/** The socket tables of each network namespace, read through up to 8 of its processes. */
function socketTablesOf(options: LiveTablesOptions, processes: readonly ProcessRecord[]): {state: SocketTables; unreadable: number} {
  const byNs = new Map<number | null, number[]>();
  for (const p of processes) {
    const ns = netNsOf(p);
    const list = byNs.get(ns);
    if (list === undefined) byNs.set(ns, [p.pid]);
    else if (list.length < 8) list.push(p.pid);
  }
  const tables = readSocketIndex(options.procRoot, byNs, options.fanout?.socket_table_lines);
  return {state: tables, unreadable: tables.unreadable};
}

/**
 * process_open_sockets over the scan: /proc/net/unix is settled with every process's fd links (an fd's
 * fdinfo says whether its socket is AF_UNIX) before any socket row is made.
 */
function socketRowsOfScan({madeByPid, prepared, options, problems}: ScanInput): unknown[] {
  const tables = prepared as SocketTables;
  const fdsOf = madeByPid('process_open_sockets') as ReadonlyMap<number, readonly FdLink[]>;
  const {forged, ambiguous} = resolveUnixSockets(tables, fdinfoVerdicts(options.procRoot, tables, fdsOf));
  for (const {netNs, file, read} of tables.cut) problems.push(socketTableWarning(netNs, file, read));
  if (forged > 0) {
    problems.push(
      `process_open_sockets: ${forged} line${forged === 1 ? '' : 's'} of /proc/net/unix forged by a socket path holding a newline: dropped, and read as part of that path`,
    );
  }
  if (ambiguous > 0) {
    problems.push(
      `process_open_sockets: ${ambiguous} AF_UNIX socket${ambiguous === 1 ? ' is' : 's are'} claimed by two lines of /proc/net/unix that nothing tells apart (a path holding a newline forged one): path and state left empty where they differ`,
    );
  }
  const netNsByPid = new Map(options.processes.map((p) => [p.pid, netNsOf(p)]));
  return [...fdsOf].flatMap(([pid, fds]) => socketRows(pid, fds, tables.index, netNsByPid.get(pid) ?? null));
}

/** Every live table's collector: the one place a table is bound to its parser. */
const COLLECTORS: {readonly [T in LiveTableName]: TableCollector<(typeof LIVE_TABLE_SCHEMAS)[T]['source']>} = {
  process_open_sockets: {prepare: socketTablesOf, make: ({data}) => data, scan: socketRowsOfScan},
  listening_ports: {uses: ['process_open_sockets'], scan: ({rowsOf}) => listeningRows(rowsOf('process_open_sockets') as Parameters<typeof listeningRows>[0])},
  process_memory_map: {
    make: ({process, data, into, options}): FlatSlice => {
      const start = into.length;
      // Made only for process_libraries: the executable mappings are all it reads.
      appendMapValues(process.pid, data.text, into, data.access, !options.tables.has('process_memory_map'));
      return {values: into, start, end: into.length};
    },
  },
  process_libraries: {
    uses: ['process_memory_map'],
    make: ({process, made}) => {
      const maps = made('process_memory_map') as FlatSlice;
      return libraryRows(process.pid, maps.values, maps.start, maps.end);
    },
  },
  process_envs: {make: ({process, data}) => envRows(process.pid, data)},
  process_open_files: {
    make: ({process, data, options}) => openFileRows(process.pid, data, options.procRoot),
    rows: (made) => (made as ReturnType<typeof openFileRows>).rows,
    retain: (made) => ({ends: (made as ReturnType<typeof openFileRows>).ends}),
  },
  process_fd_peers: {
    uses: ['process_open_files'],
    scan: ({madeByPid}) => fdPeerRows([...madeByPid('process_open_files').values()].flatMap((made) => (made as {ends: FdEnd[]}).ends)),
  },
};

const flat = (table: LiveTableName): boolean => (LIVE_TABLE_SCHEMAS[table] as LiveTableSchema).flat === true;
/** Values per row of a flat table (its columns after scan_id). */
const flatWidth = (table: LiveTableName): number => (tableDefinition(table)?.columns.length ?? 2) - 1;
/** A table's gathered rows as storage takes them: row objects, or a flat table's values with their row count. */
const asCollected = (table: LiveTableName, made: unknown[]): CollectedTable =>
  flat(table) ? {values: made as SqlRowValue[], rows: made.length / flatWidth(table)} : (made as CollectedTable);
const sourceOf = (table: LiveTableName): LiveTableSource => LIVE_TABLE_SCHEMAS[table].source;

/** `tables` and every table they use, in registry order. */
function withUsed(tables: readonly LiveTableName[]): LiveTableName[] {
  const needed = new Set<LiveTableName>();
  const add = (table: LiveTableName): void => {
    if (needed.has(table)) return;
    needed.add(table);
    for (const used of COLLECTORS[table].uses ?? []) add(used);
  };
  tables.forEach(add);
  return LIVE_TABLES.filter((table) => needed.has(table));
}

/** Read the requested live tables for every process of the scan (kernel threads have none). */
export function collectLiveTables(options: LiveTablesOptions): LiveTablesResult {
  const started = performance.now();
  const kept = LIVE_TABLES.filter((table) => options.tables.has(table));
  const needed = withUsed(kept);
  const processes = options.processes.filter((p) => p.platform_data?.kernel_thread !== true);
  // Rows of every table needed (kept or used by one kept); flat tables as values.
  const rows = new Map<LiveTableName, unknown[]>(needed.map((table) => [table, []]));
  const unreadable: Record<string, number> = Object.fromEntries(kept.map((table) => [table, 0]));
  const problems: string[] = [];
  /** Kept tables that are `table` or are made from it: an unreadable source of `table` leaves them out too. */
  const dependents = (table: LiveTableName): LiveTableName[] => kept.filter((t) => withUsed([t]).includes(table));
  const count = (tables: readonly LiveTableName[], n: number): void => {
    for (const table of tables) if (unreadable[table] !== undefined) unreadable[table] += n;
  };
  // What each process made, kept by pid for the tables a whole-scan step reads.
  const scanWide = needed.filter((table) => COLLECTORS[table].scan !== undefined);
  const retained = new Map<LiveTableName, Map<number, unknown>>(
    withUsed(scanWide)
      .filter((table) => COLLECTORS[table].make !== undefined)
      .map((table) => [table, new Map()]),
  );

  const {sink} = options;
  const counts: Record<string, number> = Object.fromEntries(kept.map((table) => [table, 0]));
  /** Kept tables made per process: their rows go to the sink in batches while the walk runs. */
  const streamed = kept.filter((table) => COLLECTORS[table].scan === undefined);
  const rowCount = (table: LiveTableName): number => {
    const made = rows.get(table) as unknown[];
    return flat(table) ? made.length / flatWidth(table) : made.length;
  };
  /** Hand a kept table's rows gathered so far to the sink, and start a new batch (a fresh array: the sink may keep the old one). */
  const handOver = (table: LiveTableName): void => {
    const made = rows.get(table) as unknown[];
    if (made.length === 0) return;
    rows.set(table, []);
    const batch = asCollected(table, made);
    counts[table] = (counts[table] ?? 0) + collectedRowCount(batch);
    sink?.write(table, batch);
  };

  const cuts: Partial<Record<LiveTableSource, readonly FanoutCut[]>> = {};
  const stackLimit = Error.stackTraceLimit;
  // A refused or vanished file throws; without stack traces the throws cost little.
  Error.stackTraceLimit = 0;
  try {
    const prepared = new Map<LiveTableName, unknown>();
    for (const table of needed) {
      const prepare = COLLECTORS[table].prepare;
      if (prepare === undefined) continue;
      const {state, unreadable: missed} = prepare(options, processes);
      prepared.set(table, state);
      count(dependents(table), missed);
    }
    const sources = LIVE_TABLE_SOURCES.map((source) => ({
      source,
      tables: needed.filter((table) => sourceOf(table) === source && COLLECTORS[table].make !== undefined),
      all: needed.filter((table) => sourceOf(table) === source),
    })).filter((group) => group.all.length > 0);
    type Group = (typeof sources)[number];
    /** Make every table of `group` from what its source gave for `process`. */
    const makeAll = (process: ProcessRecord, {source, tables}: Group, data: unknown): void => {
      const made = new Map<LiveTableName, unknown>();
      const madeBy = (table: LiveTableName): unknown => {
        if (made.has(table)) return made.get(table);
        // A table is made from its own source only (`uses` names tables of the same source).
        if (sourceOf(table) !== source) throw new Error(`${table} is read from ${sourceOf(table)}, not ${source}`);
        const make = COLLECTORS[table].make as NonNullable<TableCollector<typeof source>['make']>;
        // A flat table that is only used (not kept) gets a scratch array per process, not one over the scan.
        const into = (flat(table) && kept.includes(table) ? rows.get(table) : undefined) ?? [];
        const result = make({process, data: data as never, made: madeBy, options, into: into as SqlRowValue[]});
        made.set(table, result);
        const keep = retained.get(table);
        if (keep !== undefined) keep.set(process.pid, COLLECTORS[table].retain?.(result) ?? result);
        return result;
      };
      for (const table of tables) {
        const result = madeBy(table);
        const collector = COLLECTORS[table];
        // A flat table's values are already in its array; a whole-scan table makes its rows later.
        if (flat(table) || collector.scan !== undefined) continue;
        const into = rows.get(table) as unknown[];
        for (const row of collector.rows === undefined ? (result as readonly unknown[]) : collector.rows(result)) into.push(row);
      }
    };
    /** Between processes: a kept table's batch goes to the sink once it is full. */
    const settle = (): void => {
      if (sink !== undefined) for (const table of streamed) if (rowCount(table) >= sink.batchRows) handOver(table);
    };
    const unlimited: FanoutLimits = {floor: Number.POSITIVE_INFINITY, ceiling: Number.POSITIVE_INFINITY, budget: Number.POSITIVE_INFINITY};
    const budgets = new Map<LiveTableSource, FanoutBudget>(
      sources.map(({source}) => [
        source,
        new FanoutBudget(source === 'fd' ? (options.fanout?.fds ?? unlimited) : source === 'maps' ? (options.fanout?.maps ?? unlimited) : unlimited),
      ]),
    );
    // Per source, the processes that hold more than their first read: read again once every process had its first.
    const waiting = new Map<LiveTableSource, ProcessRecord[]>(sources.map(({source}) => [source, []]));
    for (const process of processes) {
      for (const group of sources) {
        const budget = budgets.get(group.source) as FanoutBudget;
        const read = SOURCES[group.source](options, process.pid, budget.first);
        if (read === 'unreadable') {
          count(group.all, 1);
          continue;
        }
        if (read === 'gone') continue;
        budget.spend(read.entries);
        if (read.more) (waiting.get(group.source) as ProcessRecord[]).push(process);
        else makeAll(process, group, read.data);
      }
      settle();
    }
    // The processes that hold more, each to an equal share of what is left of its source's budget among those
    // still waiting (fanout.ts): a flood takes no more than its share, and a big one after it still gets its own.
    for (const group of sources) {
      const budget = budgets.get(group.source) as FanoutBudget;
      const late = waiting.get(group.source) as ProcessRecord[];
      late.forEach((process, index) => {
        const share = budget.share(late.length - index);
        const read = SOURCES[group.source](options, process.pid, share);
        if (read === 'unreadable') {
          count(group.all, 1);
          return;
        }
        if (read === 'gone') return;
        budget.spend(read.entries - budget.first);
        if (read.more) budget.cuts.push({pid: process.pid, read: read.entries, total: totalOf(group.source, options.procRoot, process.pid)});
        makeAll(process, group, read.data);
        settle();
      });
      if (budget.cuts.length > 0) cuts[group.source] = budget.cuts;
    }
    // Whole-scan tables after the tables they use.
    const done = new Set<LiveTableName>();
    const finish = (table: LiveTableName): void => {
      if (done.has(table)) return;
      done.add(table);
      for (const used of COLLECTORS[table].uses ?? []) if (scanWide.includes(used)) finish(used);
      const scan = COLLECTORS[table].scan as NonNullable<TableCollector<LiveTableSource>['scan']>;
      const madeByPid = (collector: LiveTableName): ReadonlyMap<number, unknown> => retained.get(collector) ?? new Map();
      const rowsOf = (used: LiveTableName): readonly unknown[] => rows.get(used) ?? [];
      rows.set(table, [...scan({madeByPid, rowsOf, prepared: prepared.get(table), options, problems})]);
    };
    scanWide.forEach(finish);
    // What is left of each kept table (a whole-scan table's rows, all at once: a batch of the sink is a hint).
    if (sink !== undefined) for (const table of kept) handOver(table);
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
  const collected: Record<string, CollectedTable> = {};
  if (sink === undefined) {
    for (const table of kept) {
      collected[table] = asCollected(table, rows.get(table) as unknown[]);
      counts[table] = collectedRowCount(collected[table]);
    }
  }
  return {rows: collected, counts, unreadable, problems, cuts, ms: Math.round((performance.now() - started) * 10) / 10};
}
