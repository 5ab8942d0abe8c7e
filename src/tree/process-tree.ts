// The process tree of one snapshot (`scan --format tree`, `detect --format tree`): parents and children by
// ppid, with the marks a responder looks for first (deleted, memfd, replaced, hidden, alerted in this run)
// and, when the snapshot holds them, each process's sockets. Pure: records in, nested nodes out.
import type {Alert} from '../models/alert.js';
import {alertNextSteps, type AlertOrigin, rowEvidence} from '../models/alert-evidence.js';
import type {Host} from '../models/host.js';
import type {ProcessOpenSocketRow} from '../models/live-tables.js';
import type {ProcessRecord} from '../models/process.js';
import {type AlertSeverity, ALERT_SEVERITIES} from '../models/severity.js';
import {eachSteps, runWhole, sortSteps, type Steps} from '../util/steps.js';

/** What a node is marked with. */
export type TreeMark = 'deleted' | 'memfd' | 'replaced' | 'hidden' | 'alert';

/** The columns of a `process_open_sockets` row the tree shows. */
const TREE_SOCKET_COLUMNS = ['fd', 'family', 'protocol', 'local_address', 'local_port', 'remote_address', 'remote_port', 'state', 'path'] as const;

/** A socket as the tree shows it: those columns of its `process_open_sockets` row. */
export type TreeSocket = Pick<ProcessOpenSocketRow, (typeof TREE_SOCKET_COLUMNS)[number]>;

/** `process_open_sockets` rows (collected now, or read back from a snapshot) as tree sockets by pid, in fd order. */
export function socketsByPid(rows: readonly (TreeSocket & Pick<ProcessOpenSocketRow, 'pid'>)[]): Map<number, TreeSocket[]> {
  return runWhole(socketsByPidSteps(rows));
}

/** socketsByPid in steps (src/util/steps.ts): a process may hold any number of sockets. */
export function* socketsByPidSteps(rows: readonly (TreeSocket & Pick<ProcessOpenSocketRow, 'pid'>)[]): Steps<Map<number, TreeSocket[]>> {
  const byPid = new Map<number, TreeSocket[]>();
  const sorted = yield* sortSteps(rows, (a, b) => a.pid - b.pid || a.fd - b.fd);
  yield* eachSteps(sorted, (row) => {
    const socket = Object.fromEntries(TREE_SOCKET_COLUMNS.map((column) => [column, row[column]])) as TreeSocket;
    const sockets = byPid.get(row.pid);
    if (sockets === undefined) byPid.set(row.pid, [socket]);
    else sockets.push(socket);
  });
  return byPid;
}

/** The alerts of this run that name a process: worst severity first, then the rule ids. */
export interface TreeAlertMark {
  readonly severity: AlertSeverity;
  readonly rules: string[];
  /** What each alert found at this process: `rule: evidence` (alertEvidence of the row naming this pid). */
  readonly evidence: string[];
  /** The command lines to run next for this process, when the origin is known. */
  readonly next: string[];
}

export interface ProcessTreeNode {
  readonly pid: number;
  readonly ppid: number | null;
  /** Real user id; with user_name, as the field contract names them (src/models/field-contract.ts). */
  readonly uid: number | null;
  readonly user_name: string | null;
  readonly name: string;
  readonly executable_path: string | null;
  readonly command_line: string[];
  readonly marks: TreeMark[];
  readonly alert: TreeAlertMark | null;
  readonly sockets: TreeSocket[];
  /** The host of the scan the process was read in (src/models/host.ts), as on every record; null when unknown. */
  readonly host: Host | null;
  readonly children: ProcessTreeNode[];
}

export interface ProcessTreeOptions {
  /** Alerts of the same run (`detect --format tree`): their processes are marked. */
  readonly alerts?: readonly Alert[];
  /** `--pid N`: only that process's subtree and the chain of its ancestors. */
  readonly focusPids?: readonly number[];
  /** Sockets by pid (the snapshot's `process_open_sockets` rows), when it holds them. */
  readonly sockets?: ReadonlyMap<number, readonly TreeSocket[]>;
  /** Where the alerted processes are (live, or a saved input): each marked process says what to run next. */
  readonly origin?: AlertOrigin;
  /** The host of the scan (every node names it). */
  readonly host?: Host | null;
}

function marksOf(record: ProcessRecord): TreeMark[] {
  const platform = record.platform_data ?? {};
  const marks: TreeMark[] = [];
  if (platform.exe_memfd === true) marks.push('memfd');
  else if (platform.exe_replaced === true) marks.push('replaced');
  else if (platform.exe_deleted === true) marks.push('deleted');
  if (platform.hidden !== null && platform.hidden !== undefined) marks.push('hidden');
  return marks;
}

/** The rule's result row naming `pid` (the alert's first row when none does). */
function rowOf(alert: Alert, pid: number): Record<string, unknown> | undefined {
  const rows = (alert.alert_data as {processes?: Record<string, unknown>[]} | null)?.processes ?? [];
  return rows.find((row) => Number(row.pid) === pid) ?? rows[0];
}

function* alertMarks(alerts: readonly Alert[], origin: AlertOrigin | undefined): Steps<Map<number, TreeAlertMark>> {
  const rank = (s: AlertSeverity): number => ALERT_SEVERITIES.indexOf(s);
  const byPid = new Map<number, {severity: AlertSeverity; rules: Set<string>; evidence: string[]; first: Alert}>();
  for (const alert of alerts) {
    yield* eachSteps(alert.affected_processes, (pid) => {
      const mark = byPid.get(pid) ?? {severity: alert.severity, rules: new Set<string>(), evidence: [], first: alert};
      if (rank(alert.severity) > rank(mark.severity)) mark.severity = alert.severity;
      mark.rules.add(alert.rule_id);
      const row = rowOf(alert, pid);
      mark.evidence.push(`${alert.rule_id}: ${row === undefined ? `pid ${pid}` : rowEvidence(row)}`);
      byPid.set(pid, mark);
    });
    yield;
  }
  const marks = new Map<number, TreeAlertMark>();
  yield* eachSteps(byPid, ([pid, mark]) => {
    marks.set(pid, {
      severity: mark.severity,
      rules: [...mark.rules].sort(),
      evidence: mark.evidence,
      next: origin === undefined ? [] : alertNextSteps({...mark.first, affected_processes: [pid]}, origin),
    });
  });
  return marks;
}

/**
 * The parent of a record in the snapshot, or undefined for a root: no ppid, ppid 0, a parent not in the
 * snapshot, or a parent that started after its child (the ppid names a reused pid, not the real parent).
 */
function parentOf(record: ProcessRecord, byPid: ReadonlyMap<number, ProcessRecord>): ProcessRecord | undefined {
  if (record.ppid === null || record.ppid === 0 || record.ppid === record.pid) return undefined;
  const parent = byPid.get(record.ppid);
  if (parent === undefined) return undefined;
  if (parent.start_time !== null && record.start_time !== null && parent.start_time > record.start_time) return undefined;
  return parent;
}

/**
 * Build the forest of a snapshot's processes, roots and children ordered by pid. With `focusPids`, only
 * those processes' subtrees and their ancestors (each ancestor with just the child on the path). A ppid
 * cycle (impossible in one consistent read, possible in a hand-made file) is broken where it closes.
 */
export function buildProcessTree(processes: readonly ProcessRecord[], options: ProcessTreeOptions = {}): ProcessTreeNode[] {
  return runWhole(buildProcessTreeSteps(processes, options));
}

/**
 * buildProcessTree in steps (src/util/steps.ts): a row at a time, without recursion (a hand-made file may chain
 * its processes any number of levels deep), each parent's children gathered in one list (a parent may have any
 * number of children).
 */
export function* buildProcessTreeSteps(processes: readonly ProcessRecord[], options: ProcessTreeOptions = {}): Steps<ProcessTreeNode[]> {
  const byPid = new Map<number, ProcessRecord>();
  yield* eachSteps(processes, (p) => byPid.set(p.pid, p));
  const alerts = yield* alertMarks(options.alerts ?? [], options.origin);
  const childrenOf = new Map<number, ProcessRecord[]>();
  const roots: ProcessRecord[] = [];
  const byPidOrder = yield* sortSteps(processes, (a, b) => a.pid - b.pid);
  yield* eachSteps(byPidOrder, (record) => {
    const parent = parentOf(record, byPid);
    if (parent === undefined) roots.push(record);
    else {
      const children = childrenOf.get(parent.pid);
      if (children === undefined) childrenOf.set(parent.pid, [record]);
      else children.push(record);
    }
  });
  // Records on a cycle have a parent but no root above them: make the lowest pid of each cycle a root.
  const reachable = new Set<number>();
  const mark = function* (pid: number): Steps<void> {
    const stack = [pid];
    while (stack.length > 0) {
      const next = stack.pop() as number;
      if (reachable.has(next)) continue;
      reachable.add(next);
      yield* eachSteps(childrenOf.get(next) ?? [], (child) => stack.push(child.pid));
      yield;
    }
  };
  for (const root of roots) yield* mark(root.pid);
  for (const record of byPidOrder) {
    yield;
    if (reachable.has(record.pid)) continue;
    roots.push(record);
    const parent = parentOf(record, byPid) as ProcessRecord;
    childrenOf.set(
      parent.pid,
      (childrenOf.get(parent.pid) ?? []).filter((c) => c.pid !== record.pid),
    );
    yield* mark(record.pid);
  }
  const sortedRoots = yield* sortSteps(roots, (a, b) => a.pid - b.pid);

  interface Pending {
    readonly record: ProcessRecord;
    readonly children: ProcessTreeNode[];
    /** Above a focused process: only the children on the path down to it (`only`: the focused pids, `path`: the path). */
    readonly only?: ReadonlySet<number>;
    readonly path?: ReadonlySet<number>;
  }
  const pending: Pending[] = [];
  const node = (record: ProcessRecord, only?: ReadonlySet<number>, path?: ReadonlySet<number>): ProcessTreeNode => {
    const platform = record.platform_data ?? {};
    const children: ProcessTreeNode[] = [];
    pending.push({record, children, ...(only === undefined ? {} : {only}), ...(path === undefined ? {} : {path})});
    return {
      pid: record.pid,
      ppid: record.ppid,
      uid: typeof platform.uid === 'number' ? platform.uid : null,
      user_name: typeof platform.user_name === 'string' ? platform.user_name : null,
      name: record.name,
      executable_path: record.executable_path,
      command_line: record.command_line,
      marks: [...marksOf(record), ...(alerts.has(record.pid) ? (['alert'] as const) : [])],
      alert: alerts.get(record.pid) ?? null,
      sockets: [...(options.sockets?.get(record.pid) ?? [])],
      host: options.host ?? null,
      // Filled below, in order, once this node is taken from `pending`.
      children,
    };
  };
  /** The forest of `tops`: each node made with its children's nodes (empty), then their children filled from `pending`. */
  const forest = function* (tops: readonly ProcessTreeNode[]): Steps<ProcessTreeNode[]> {
    while (pending.length > 0) {
      const {record, children, only, path} = pending.pop() as Pending;
      const kids = (childrenOf.get(record.pid) ?? []).filter((c) => only === undefined || path?.has(c.pid) === true || only.has(c.pid));
      // Below a focused process everything is shown; above it, only the path down to it.
      yield* eachSteps(kids, (c) => children.push(only !== undefined && only.has(c.pid) ? node(c) : node(c, only, path)));
      yield;
    }
    return [...tops];
  };

  if (options.focusPids === undefined || options.focusPids.length === 0) return yield* forest(sortedRoots.map((r) => node(r)));
  const focus = new Set(options.focusPids.filter((pid) => byPid.has(pid)));
  const path = new Set<number>();
  for (const pid of focus) {
    for (let at = byPid.get(pid), guard = 0; at !== undefined && guard < byPid.size; at = parentOf(at, byPid), guard++) {
      path.add(at.pid);
      if (guard % 256 === 255) yield;
    }
  }
  return yield* forest(sortedRoots.filter((r) => path.has(r.pid)).map((r) => (focus.has(r.pid) ? node(r) : node(r, focus, path))));
}

/** Every pid in a forest, each node before its children (for tests and `--pid` checks). */
export function treePids(nodes: readonly ProcessTreeNode[]): number[] {
  const pids: number[] = [];
  const stack = [...nodes].reverse();
  while (stack.length > 0) {
    const next = stack.pop() as ProcessTreeNode;
    pids.push(next.pid);
    for (let i = next.children.length - 1; i >= 0; i--) stack.push(next.children[i] as ProcessTreeNode);
  }
  return pids;
}
