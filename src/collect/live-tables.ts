// The live-response tables of one scan, driven by the table registry. After the process walk, the tables
// asked for (a rule, a query or `scan --tables` needs them) are grouped by the /proc source their registry
// entry names (LIVE_TABLE_SCHEMAS[table].source), and each source is read once per process for all of its
// tables: the fd links once for sockets and open files, /proc/PID/maps once for memory maps and libraries.
// COLLECTORS binds each table to the parser that makes its rows; the compiler refuses a registry table
// without one. What cannot be read (another user's process without root) is left out and counted per table,
// never an abort. Rows carry no scan_id: storage stamps it when it inserts the scan.
import type {SqlRowValue} from '../models/columns.js';
import {
  type CollectedRow,
  LIVE_TABLE_SCHEMAS,
  LIVE_TABLE_SOURCES,
  type LiveTableName,
  type LiveTableRow,
  type LiveTableSchema,
  type LiveTableSource,
} from '../models/live-tables.js';
import type {ProcessRecord} from '../models/process.js';
import {type CollectedTable, tableDefinition} from '../models/tables.js';
import {type EnvSelection, parseEnviron} from './envs.js';
import {type FdLink, readFdLinks} from './fds.js';
import {appendMapValues, libraryRows, type MapsText, readMapsFile} from './maps.js';
import {openFileRows} from './open-files.js';
import {readProcTextIfThere} from './proc-read.js';
import {listeningRows, readSocketIndex, type SocketIndex, socketRows} from './sockets.js';

/** The tables this module fills (the registry's collected tables other than `processes`). */
export const LIVE_TABLES = Object.keys(LIVE_TABLE_SCHEMAS) as LiveTableName[];

export interface LiveTablesOptions {
  readonly procRoot: string;
  /** The processes of the scan (their pid, net_ns and kernel_thread are used). */
  readonly processes: readonly ProcessRecord[];
  readonly tables: ReadonlySet<string>;
  readonly env: EnvSelection;
}

export interface LiveTablesResult {
  /** Row objects per table, without scan_id; a `flat` table (process_memory_map) as flat values. */
  readonly rows: Record<string, CollectedTable>;
  /** Per table: processes whose files for it could not be read (permission denied). */
  readonly unreadable: Record<string, number>;
  readonly ms: number;
}

/** What one read of each source gives for one process. */
interface SourceData {
  readonly fd: readonly FdLink[];
  readonly environ: string;
  readonly maps: MapsText;
}

/** How each source is read: once per process, for every table that comes from it. */
const SOURCES: {readonly [S in LiveTableSource]: (procRoot: string, pid: number) => SourceData[S] | 'unreadable' | 'gone'} = {
  fd: readFdLinks,
  environ: (procRoot, pid) => readProcTextIfThere(`${procRoot}/${pid}/environ`, 'latin1'),
  maps: readMapsFile,
};

type SourceOf<T extends LiveTableName> = (typeof LIVE_TABLE_SCHEMAS)[T]['source'];

/**
 * One process's rows of a `flat` table: its values row after row (the columns after scan_id) at
 * `values[start…end)`. They are appended straight into the table's array when the table is kept (no copy
 * of tens of thousands of values), else into a scratch array.
 */
export interface FlatSlice {
  readonly values: readonly SqlRowValue[];
  readonly start: number;
  readonly end: number;
}

/** One process's rows of a table: objects without scan_id, or a FlatSlice of a `flat` table. */
type Rows<T extends LiveTableName> = (typeof LIVE_TABLE_SCHEMAS)[T] extends {readonly flat: true} ? FlatSlice : CollectedRow<LiveTableRow<T>>[];

/** What a collector is given for one process. */
interface ProcessInput<T extends LiveTableName> {
  readonly process: ProcessRecord;
  /** What the table's source gave for this process. */
  readonly data: SourceData[SourceOf<T>];
  /** This process's rows of a table of the same source that this one `uses` (made once per process). */
  rowsOf<U extends LiveTableName>(table: U): Rows<U>;
  /** What the table's `prepare` returned for this scan. */
  readonly prepared: unknown;
  readonly options: LiveTablesOptions;
  /** A `flat` table's values go here (returned as the FlatSlice appended). */
  readonly into: SqlRowValue[];
}

/** How a table's rows are made from its source. */
interface TableCollector<T extends LiveTableName> {
  /**
   * Once per scan before the processes (each network namespace's socket tables): its state is handed to
   * `rows`; its unreadable count goes to this table and every table that uses it.
   */
  prepare?(options: LiveTablesOptions, processes: readonly ProcessRecord[]): {state: unknown; unreadable: number};
  /** Tables of the same source this one is made from (through rowsOf): made for it even when not kept. */
  readonly uses?: readonly LiveTableName[];
  rows(input: ProcessInput<T>): Rows<T>;
}

const netNsOf = (p: ProcessRecord): number | null => (typeof p.platform_data?.net_ns === 'number' ? p.platform_data.net_ns : null);

/** The socket tables of each network namespace, read through up to 8 of its processes. */
function socketIndexOf(options: LiveTablesOptions, processes: readonly ProcessRecord[]): {state: SocketIndex; unreadable: number} {
  const byNs = new Map<number | null, number[]>();
  for (const p of processes) {
    const ns = netNsOf(p);
    const list = byNs.get(ns);
    if (list === undefined) byNs.set(ns, [p.pid]);
    else if (list.length < 8) list.push(p.pid);
  }
  const read = readSocketIndex(options.procRoot, byNs);
  return {state: read.index, unreadable: read.unreadable};
}

/** Every live table's collector: the one place a table is bound to its parser. */
const COLLECTORS: {readonly [T in LiveTableName]: TableCollector<T>} = {
  process_open_sockets: {
    prepare: socketIndexOf,
    rows: ({process, data, prepared}) => socketRows(process.pid, data, prepared as SocketIndex, netNsOf(process)),
  },
  listening_ports: {uses: ['process_open_sockets'], rows: ({rowsOf}) => listeningRows(rowsOf('process_open_sockets'))},
  process_memory_map: {
    rows: ({process, data, into}) => {
      const start = into.length;
      appendMapValues(process.pid, data.text, into, data.access);
      return {values: into, start, end: into.length};
    },
  },
  process_libraries: {
    uses: ['process_memory_map'],
    rows: ({process, rowsOf}) => {
      const maps = rowsOf('process_memory_map');
      return libraryRows(process.pid, maps.values, maps.start, maps.end);
    },
  },
  process_envs: {rows: ({process, data, options}) => parseEnviron(process.pid, data, options.env)},
  process_open_files: {rows: ({process, data}) => openFileRows(process.pid, data)},
};

const flat = (table: LiveTableName): boolean => (LIVE_TABLE_SCHEMAS[table] as LiveTableSchema).flat === true;

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
  const rows = new Map<LiveTableName, unknown[]>(kept.map((table) => [table, []]));
  const unreadable: Record<string, number> = Object.fromEntries(kept.map((table) => [table, 0]));
  /** Kept tables that are `table` or are made from it: an unreadable source of `table` leaves them out too. */
  const dependents = (table: LiveTableName): LiveTableName[] => kept.filter((t) => withUsed([t]).includes(table));
  const count = (tables: readonly LiveTableName[], n: number): void => {
    for (const table of tables) if (unreadable[table] !== undefined) unreadable[table] += n;
  };

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
    const sources = LIVE_TABLE_SOURCES.map((source) => ({source, tables: needed.filter((t) => LIVE_TABLE_SCHEMAS[t].source === source)})).filter(
      (group) => group.tables.length > 0,
    );
    for (const process of processes) {
      for (const {source, tables} of sources) {
        const data = SOURCES[source](options.procRoot, process.pid);
        if (data === 'unreadable') {
          count(tables, 1);
          continue;
        }
        if (data === 'gone') continue;
        const made = new Map<LiveTableName, unknown>();
        const rowsOf = <U extends LiveTableName>(table: U): Rows<U> => {
          let result = made.get(table) as Rows<U> | undefined;
          if (result === undefined) {
            // A table is made from its own source only (`uses` names tables of the same source).
            if (LIVE_TABLE_SCHEMAS[table].source !== source) throw new Error(`${table} is read from ${LIVE_TABLE_SCHEMAS[table].source}, not ${source}`);
            const collector = COLLECTORS[table] as unknown as TableCollector<U>;
            const into = (flat(table) ? rows.get(table) : undefined) ?? [];
            result = collector.rows({
              process,
              data: data as SourceData[SourceOf<U>],
              rowsOf,
              prepared: prepared.get(table),
              options,
              into: into as SqlRowValue[],
            });
            made.set(table, result);
          }
          return result;
        };
        for (const table of tables) {
          const into = rows.get(table);
          if (into === undefined) continue;
          const produced = rowsOf(table);
          // A flat table's values are already in its array.
          if (!flat(table)) for (const row of produced as unknown[]) into.push(row);
        }
      }
    }
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
  const collected: Record<string, CollectedTable> = {};
  for (const [table, made] of rows) {
    if (flat(table)) {
      const width = (tableDefinition(table)?.columns.length ?? 1) - 1;
      collected[table] = {values: made as SqlRowValue[], rows: made.length / width};
    } else collected[table] = made as CollectedTable;
  }
  return {rows: collected, unreadable, ms: Math.round((performance.now() - started) * 10) / 10};
}
