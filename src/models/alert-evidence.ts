// What an alert found, in one line, and what to run next: read from the rule's own result rows
// (`alert_data.processes`), so every rule says what it saw — the process, its executable, the peer, the
// library, the variable — in the human views (`detect --format text|table|tree`) and the syslog message,
// not only in the JSON. Plain text: the views and sinks make it terminal-safe.
import type {Alert} from './alert.js';

/** Result columns that identify the process; shown once, as `name[pid] user exe …`, not as `key=value`. */
const PROCESS_COLUMNS = new Set([
  'pid',
  'name',
  'scan_id',
  'uid',
  'euid',
  'gid',
  'user_name',
  'executable_path',
  'exe_name',
  'cmdline',
  'command_line',
  'ppid',
  'start_time',
  'exe_inode',
  'exe_path_inode',
  'exe_mtime',
  'cwd',
  'process_name',
]);

/** Longest value shown for one column, and for the command line, in characters. */
const MAX_VALUE = 120;
const MAX_CMDLINE = 100;

const cut = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

function text(value: unknown): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** `addr:port`, IPv6 in brackets. */
function endpoint(address: string, port: string | null): string {
  const host = address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
  return port === null ? host : `${host}:${port}`;
}

/**
 * One result row as evidence: `name[pid] user exe PATH` (`pid N` when the rule did not select the name), then the rule's own columns (`key=value`, a remote
 * endpoint as `→ addr:port`, a local one as `on addr:port`), then `cmd "…"`. Values are cut at 120
 * characters (the command line at 100).
 */
export function rowEvidence(row: Readonly<Record<string, unknown>>): string {
  const parts: string[] = [];
  const name = text(row.name) ?? text(row.process_name);
  const pid = text(row.pid);
  parts.push(name === null ? `pid ${pid ?? '?'}` : `${name}[${pid ?? '?'}]`);
  const user = text(row.user_name) ?? (text(row.uid) === null ? null : `uid ${text(row.uid) ?? ''}`);
  if (user !== null) parts.push(user);
  const exe = text(row.executable_path);
  if (exe !== null) parts.push(`exe ${cut(exe, MAX_VALUE)}`);
  const used = new Set<string>();
  const pair = (address: string, port: string, prefix: string): void => {
    const a = text(row[address]);
    if (a === null) return;
    used.add(address).add(port);
    parts.push(`${prefix}${endpoint(a, text(row[port]))}`);
  };
  pair('remote_address', 'remote_port', '→ ');
  pair('local_address', 'local_port', 'on ');
  pair('address', 'port', 'on ');
  for (const [key, value] of Object.entries(row)) {
    if (PROCESS_COLUMNS.has(key) || used.has(key)) continue;
    const shown = text(value);
    if (shown === null) continue;
    parts.push(`${key}=${cut(shown, MAX_VALUE)}`);
  }
  const cmdline = text(row.cmdline) ?? (Array.isArray(row.command_line) ? (row.command_line as unknown[]).map(String).join(' ') : null);
  if (cmdline !== null && cmdline !== exe) parts.push(`cmd "${cut(cmdline, MAX_CMDLINE)}"`);
  return parts.join(' ');
}

/** The rule's result rows an alert carries (`alert_data.processes`), or none. */
export function alertResultRows(alert: Pick<Alert, 'alert_data'>): Readonly<Record<string, unknown>>[] {
  const data = alert.alert_data as {processes?: unknown} | null | undefined;
  const rows = data?.processes;
  return Array.isArray(rows) ? rows.filter((row): row is Record<string, unknown> => typeof row === 'object' && row !== null) : [];
}

/**
 * What the alert found, in one line: the first result row's evidence (see rowEvidence) and how many more
 * rows there are; for an alert with no rows, its pids.
 */
export function alertEvidence(alert: Alert): string {
  const rows = alertResultRows(alert);
  if (rows.length === 0) return `pid ${alert.affected_processes.join(', ')}`;
  const more = rows.length - 1;
  return `${rowEvidence(rows[0] as Record<string, unknown>)}${more > 0 ? ` (+${more} more row${more === 1 ? '' : 's'})` : ''}`;
}

/** Where the alert's processes are: running on this host, or in a saved snapshot (`detect --input FILE|DIR`). */
export type AlertOrigin = {readonly live: true} | {readonly live: false; readonly input: string};

/** Shell-quote one word (POSIX single quotes) when it needs it. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/**
 * The command lines to run next for an alert: for live processes, keep the evidence (`collect`) and see where
 * they sit (`scan --format tree --pid`); for a saved snapshot, read the rows again (`query … --input`).
 * At most 10 pids are named.
 */
export function alertNextSteps(alert: Alert, origin: AlertOrigin): string[] {
  const pids = alert.affected_processes.slice(0, 10);
  if (pids.length === 0) return [];
  const pidFlags = pids.map((pid) => `--pid ${pid}`).join(' ');
  if (origin.live) {
    // One case per alert, and per process when a view suggests one line per pid (the tree): never the same name twice.
    const output = `case-${alert.id.slice(0, 8)}${pids.length === 1 ? `-${pids[0]}` : ''}.tar.gz`;
    return [`daemoneye collect ${pidFlags} --output ${output}`, `daemoneye scan --format tree ${pidFlags}`];
  }
  const where = alert.scan_id === null ? '' : `scan_id = ${alert.scan_id} AND `;
  const sql = `SELECT * FROM processes WHERE ${where}pid IN (${pids.join(', ')})`;
  return [`daemoneye query ${shellWord(sql)} --input ${shellWord(origin.input)}`];
}
