// What changed between two scans (`daemoneye diff OLD NEW`): processes started and stopped (by entity id),
// executables never seen before, known paths whose content changed, new parent → child pairs, and
// listening ports opened or closed when both scans hold them. Pure (and in steps, for a caller that must
// give the event loop turns: src/util/steps.ts): two scans in, result lines out, each
// `name`, `action`, `columns` as an osquery differential result, with the time and host in the field
// contract's names (src/models/field-contract.ts); osqueryDifferential gives osquery's envelope word for word.
import type {ListeningPortRow} from '../models/live-tables.js';
import {type Host, hostOfScan} from '../models/host.js';
import type {ProcessRecord} from '../models/process.js';
import type {ScanRecord} from '../models/scan.js';
import {eachSteps, runWhole, sortSteps, type Steps} from '../util/steps.js';

/** A listening socket: the columns of its `listening_ports` row the diff compares and shows. */
export type ListeningPort = Pick<ListeningPortRow, 'pid' | 'port' | 'protocol' | 'family' | 'address'>;

/** One side of a diff: a scan, its processes, and its listening ports (null when the scan holds none). */
export interface DiffSide {
  readonly source: string;
  readonly scan: ScanRecord;
  readonly processes: readonly ProcessRecord[];
  readonly listening: readonly ListeningPort[] | null;
}

/** The kinds of change, as the `name` of each result (osquery's query name). */
export const DIFF_NAMES = ['processes', 'new_executables', 'executable_hashes', 'parent_child', 'listening_ports'] as const;
export type DiffName = (typeof DIFF_NAMES)[number];
export type DiffAction = 'added' | 'removed' | 'changed';

/** One change: what (`name`), how (`action`), the columns, and when and where (the newer scan). */
export interface DiffResult {
  readonly name: DiffName;
  readonly action: DiffAction;
  /** Start of the newer scan, epoch ms. */
  readonly collection_time: number;
  /** The newer scan. */
  readonly scan_id: number;
  readonly columns: Record<string, string | number | boolean | null | readonly (string | number)[]>;
  /** The host of the newer scan (src/models/host.ts). */
  readonly host: Host;
}

/** A result as osquery's "differential" log line (`diff --format osquery`): its envelope names and units. */
export interface OsqueryDifferential {
  readonly name: DiffName;
  readonly hostIdentifier: string;
  readonly calendarTime: string;
  /** Epoch seconds, as osquery writes it. */
  readonly unixTime: number;
  readonly epoch: 0;
  readonly counter: 0;
  /** True: numbers are JSON numbers (osquery's --logger_numerics), as the columns hold them. */
  readonly numerics: true;
  readonly decorations: Readonly<Record<string, string>>;
  readonly columns: DiffResult['columns'];
  readonly action: DiffAction;
}

/** The osquery differential envelope of a result (osquery's logging format: hostIdentifier, unixTime in seconds …). */
export function osqueryDifferential(result: DiffResult): OsqueryDifferential {
  return {
    name: result.name,
    hostIdentifier: result.host.hostname,
    calendarTime: new Date(result.collection_time).toUTCString().replace('GMT', 'UTC'),
    unixTime: Math.floor(result.collection_time / 1000),
    epoch: 0,
    counter: 0,
    numerics: true,
    decorations: result.host.decorations,
    columns: result.columns,
    action: result.action,
  };
}

export interface SnapshotDiff {
  readonly old: {readonly source: string; readonly scan_id: number; readonly start_time: number; readonly hostname: string; readonly host: Host};
  readonly new: {readonly source: string; readonly scan_id: number; readonly start_time: number; readonly hostname: string; readonly host: Host};
  readonly results: DiffResult[];
  /** Counts by `name:action`. */
  readonly counts: Record<string, number>;
  /** Whether listening ports were compared (both scans hold them). */
  readonly compared_listening_ports: boolean;
  /**
   * Files of a store that could not be used and were skipped (each also reported on stderr), the comparison
   * made over the others; present only when a file was skipped (`diff` then exits 2).
   */
  readonly skipped_files?: readonly SkippedFile[];
}

/** A file a reader skipped: its path and the one-line problem. */
export interface SkippedFile {
  readonly file: string;
  readonly problem: string;
}

/** A process's identity across scans: entity id (boot id, pid, start ticks), else pid and start time. */
export function processKey(record: ProcessRecord): string {
  const entity = record.platform_data?.entity_id;
  return typeof entity === 'string' && entity !== '' ? entity : `${record.pid}@${record.start_time ?? '?'}`;
}

function executableKey(record: ProcessRecord): string {
  return record.executable_path ?? `[${record.name}]`;
}

function userName(record: ProcessRecord): string | null {
  const name = record.platform_data?.user_name;
  return typeof name === 'string' ? name : null;
}

function uid(record: ProcessRecord): number | null {
  const value = record.platform_data?.uid;
  return typeof value === 'number' ? value : null;
}

function processColumns(record: ProcessRecord): DiffResult['columns'] {
  return {
    pid: record.pid,
    ppid: record.ppid,
    name: record.name,
    executable_path: record.executable_path,
    executable_hash: record.executable_hash,
    cmdline: record.command_line.join(' '),
    uid: uid(record),
    user_name: userName(record),
    start_time: record.start_time,
    entity_id: (record.platform_data?.entity_id as string | null | undefined) ?? null,
  };
}

function portKey(port: ListeningPort): string {
  return `${String(port.protocol ?? '?')}/${port.family ?? '?'}/${port.address ?? '*'}:${port.port}`;
}

/** Compare two scans; results are ordered by name, then action, then their main column. */
export function diffSnapshots(before: DiffSide, after: DiffSide): SnapshotDiff {
  return runWhole(diffSnapshotsSteps(before, after));
}

/** `new Map(items.map(entry))`, in steps. */
function* mapOf<T, K, V>(items: readonly T[], entry: (item: T) => readonly [K, V]): Steps<Map<K, V>> {
  const map = new Map<K, V>();
  yield* eachSteps(items, (item) => {
    const [key, value] = entry(item);
    map.set(key, value);
  });
  return map;
}

/** diffSnapshots in steps (src/util/steps.ts): every pass a row at a time, every sort a merge sort in steps. */
export function* diffSnapshotsSteps(before: DiffSide, after: DiffSide): Steps<SnapshotDiff> {
  const results: DiffResult[] = [];
  const host = hostOfScan(after.scan);
  const push = (name: DiffName, action: DiffAction, columns: DiffResult['columns']): void => {
    results.push({name, action, collection_time: after.scan.start_time, scan_id: after.scan.id, columns, host});
  };

  // Processes by identity.
  const oldKeys = yield* mapOf(before.processes, (p) => [processKey(p), p] as const);
  const newKeys = yield* mapOf(after.processes, (p) => [processKey(p), p] as const);
  yield* eachSteps(newKeys, ([key, p]) => {
    if (!oldKeys.has(key)) push('processes', 'added', processColumns(p));
  });
  yield* eachSteps(oldKeys, ([key, p]) => {
    if (!newKeys.has(key)) push('processes', 'removed', processColumns(p));
  });

  // Executables: a path never run before, or a known path now running other content.
  const oldHashesByPath = new Map<string, Set<string | null>>();
  yield* eachSteps(before.processes, (p) => {
    if (p.executable_path === null) return;
    const set = oldHashesByPath.get(p.executable_path) ?? new Set();
    set.add(p.executable_hash);
    oldHashesByPath.set(p.executable_path, set);
  });
  const newByPathHash = new Map<string, {path: string; hash: string | null; pids: number[]}>();
  yield* eachSteps(after.processes, (p) => {
    if (p.executable_path === null) return;
    const key = `${p.executable_path}\u0000${p.executable_hash ?? ''}`;
    const entry = newByPathHash.get(key) ?? {path: p.executable_path, hash: p.executable_hash, pids: []};
    entry.pids.push(p.pid);
    newByPathHash.set(key, entry);
  });
  const executables = yield* sortSteps([...newByPathHash.values()], (a, b) => a.path.localeCompare(b.path));
  yield* eachSteps(executables, (entry) => {
    const known = oldHashesByPath.get(entry.path);
    if (known === undefined) {
      push('new_executables', 'added', {executable_path: entry.path, executable_hash: entry.hash, pids: entry.pids});
    } else if (entry.hash !== null && !known.has(entry.hash)) {
      const oldHashes = [...known].filter((h): h is string => h !== null).sort();
      // Unhashed on the old side: nothing to compare with.
      if (oldHashes.length > 0)
        push('executable_hashes', 'changed', {executable_path: entry.path, old_hashes: oldHashes, executable_hash: entry.hash, pids: entry.pids});
    }
  });

  // Parent → child pairs, by executable (a web server that now starts a shell).
  const pairs = function* (side: DiffSide): Steps<Map<string, {parent: ProcessRecord; child: ProcessRecord}>> {
    const byPid = yield* mapOf(side.processes, (p) => [p.pid, p] as const);
    const out = new Map<string, {parent: ProcessRecord; child: ProcessRecord}>();
    yield* eachSteps(side.processes, (child) => {
      const parent = child.ppid === null ? undefined : byPid.get(child.ppid);
      if (parent === undefined || parent.pid === child.pid) return;
      const key = `${executableKey(parent)}\u0000${executableKey(child)}`;
      if (!out.has(key)) out.set(key, {parent, child});
    });
    return out;
  };
  const oldPairs = yield* pairs(before);
  const newPairs = yield* sortSteps([...(yield* pairs(after))], ([a], [b]) => a.localeCompare(b));
  yield* eachSteps(newPairs, ([key, {parent, child}]) => {
    if (oldPairs.has(key)) return;
    push('parent_child', 'added', {
      parent_executable: executableKey(parent),
      child_executable: executableKey(child),
      parent_pid: parent.pid,
      child_pid: child.pid,
      child_cmdline: child.command_line.join(' '),
    });
  });

  // Listening ports, only when both scans hold them (otherwise "none" would read as "all closed").
  const compared = before.listening !== null && after.listening !== null;
  if (compared) {
    const names = yield* mapOf(after.processes, (p) => [p.pid, p] as const);
    const oldNames = yield* mapOf(before.processes, (p) => [p.pid, p] as const);
    const oldPorts = yield* mapOf(before.listening ?? [], (l) => [portKey(l), l] as const);
    const newPorts = yield* mapOf(after.listening ?? [], (l) => [portKey(l), l] as const);
    const columns = (l: ListeningPort, owners: Map<number, ProcessRecord>): DiffResult['columns'] => {
      const owner = owners.get(l.pid);
      return {
        port: l.port,
        protocol: l.protocol,
        family: l.family,
        address: l.address,
        pid: l.pid,
        name: owner?.name ?? null,
        executable_path: owner?.executable_path ?? null,
      };
    };
    const byKey = ([a]: readonly [string, ListeningPort], [b]: readonly [string, ListeningPort]): number => a.localeCompare(b);
    yield* eachSteps(yield* sortSteps([...newPorts], byKey), ([key, l]) => {
      if (!oldPorts.has(key)) push('listening_ports', 'added', columns(l, names));
    });
    yield* eachSteps(yield* sortSteps([...oldPorts], byKey), ([key, l]) => {
      if (!newPorts.has(key)) push('listening_ports', 'removed', columns(l, oldNames));
    });
  }

  const counts: Record<string, number> = {};
  yield* eachSteps(results, (r) => {
    counts[`${r.name}:${r.action}`] = (counts[`${r.name}:${r.action}`] ?? 0) + 1;
  });
  const side = (s: DiffSide) => ({source: s.source, scan_id: s.scan.id, start_time: s.scan.start_time, hostname: s.scan.hostname, host: hostOfScan(s.scan)});
  return {old: side(before), new: side(after), results, counts, compared_listening_ports: compared};
}
