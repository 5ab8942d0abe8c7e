// ProcessRecord (the reference API's model field for field, docs/api.md) and the platform data the Linux collector fills.
// The `processes` table is derived from these two schemas: the record's fields, then the derived `cmdline` and
// `exe_name`, then
// every platform-data field flattened into a column of its own so rules can use them directly.
import {z} from 'zod';

import {HEX64} from '../util/hex.js';
import {HostSchema} from './host.js';
import {type ColumnSpec, columnOf, columnsOf, fromSqlValue, toSqlValue} from './columns.js';

/** A SHA-256 digest as the models store it: 64 lower-case hex digits. */
export const SHA256_HEX = HEX64;

/** The ways a process can be hidden from a /proc listing (the `hidden` column). */
export const HIDDEN_KINDS = ['proc_mount', 'unlisted'] as const;
export type HiddenKind = (typeof HIDDEN_KINDS)[number];

export const ProcessRecordSchema = z
  .object({
    id: z.uuid().describe('Unique identifier of this record (UUID v4)'),
    scan_id: z.int().describe('Identifier of the scan this record belongs to (epoch ms × 1000 + random 0–999)'),
    collection_time: z.int().describe('When this process was read, epoch milliseconds'),
    pid: z.int().nonnegative().describe('Process ID'),
    ppid: z.int().nonnegative().nullable().describe('Parent process ID; null when unknown'),
    name: z.string().describe('Process name (`comm` on Linux: at most 15 bytes, settable by the process)'),
    executable_path: z
      .string()
      .nullable()
      .describe('Path of the running executable (the `exe` link, without a ` (deleted)` marker); null for kernel threads or when unreadable'),
    command_line: z.array(z.string()).describe('Exact argv as a JSON array, never re-split; empty for kernel threads'),
    start_time: z.int().nullable().describe('Process start time, epoch milliseconds'),
    cpu_usage: z.number().nullable().describe('CPU usage in percent of one core (since start, or over `--cpu-sample`)'),
    memory_usage: z.int().nonnegative().nullable().describe('Resident set size in bytes'),
    executable_hash: z.string().regex(SHA256_HEX).nullable().describe('SHA-256 of the executable, lower-case hex; null when not hashed'),
    hash_algorithm: z.string().nullable().describe('Hash algorithm of `executable_hash` (always `sha256`)'),
    user_id: z.string().nullable().describe('Real user ID running the process, as a string'),
    accessible: z.boolean().describe('False when a file needed for this record could not be read (the record is still emitted)'),
    file_exists: z
      .boolean()
      .nullable()
      .describe(
        'Whether the executable the process runs is still on disk (false when the `exe` link reads `(deleted)` or there is none; null when the collector cannot tell: the systeminformation collector knows only the path its command names)',
      ),
    platform_data: z.record(z.string(), z.unknown()).nullable().describe('Platform-specific data (JSON); on Linux the fields documented below'),
  })
  .strict();
export type ProcessRecord = z.infer<typeof ProcessRecordSchema>;

/** A process record as `scan` prints it: the record and the `host` it runs on (src/models/host.ts). */
export const HostedProcessRecordSchema = ProcessRecordSchema.extend({host: HostSchema.nullable()}).strict();
export type HostedProcessRecord = z.infer<typeof HostedProcessRecordSchema>;

/** What the Linux collector puts in `platform_data`. Every field may be null when unknown or unreadable. */
export const LinuxPlatformDataSchema = z
  .object({
    user_name: z.string().nullable().describe('Name of the real user (from /etc/passwd)'),
    uid: z.int().nullable().describe('Real user ID as a number'),
    euid: z.int().nullable().describe('Effective user ID'),
    gid: z.int().nullable().describe('Real group ID'),
    egid: z.int().nullable().describe('Effective group ID'),
    state: z.string().nullable().describe('Scheduler state letter (R running, S sleeping, D disk wait, Z zombie, T stopped, I idle, …)'),
    threads: z.int().nullable().describe('Number of threads'),
    nice: z.int().nullable().describe('Nice value (-20 … 19)'),
    tty: z.string().nullable().describe('Controlling terminal (`pts/0`, `tty1`), null when none'),
    session_id: z.int().nullable().describe('Session ID'),
    process_group: z.int().nullable().describe('Process group ID'),
    cwd: z.string().nullable().describe('Current working directory (root only for other users)'),
    start_ticks: z.int().nullable().describe('Start time in clock ticks since boot (exact process identity with pid and boot id)'),
    parent_start_time: z.int().nullable().describe('Start time of the parent, epoch ms; a parent that started after its child is a reused pid'),
    kernel_thread: z.boolean().nullable().describe('True for kernel threads (PF_KTHREAD)'),
    cgroup: z.string().nullable().describe('cgroup path (v2 unified, else the first hierarchy)'),
    container_id: z
      .string()
      .nullable()
      .describe(
        'Container ID parsed from the cgroup (64 hex digits for docker, containerd, cri-o, podman; the name for LXC and systemd-nspawn), null on the host',
      ),
    container_runtime: z
      .string()
      .nullable()
      .describe(
        'Runtime of the container, from the cgroup path: `docker`, `containerd`, `cri-o`, `podman`, `kubernetes` (a kubepods cgroup that does not name its runtime), `lxc`, `systemd-nspawn`, `unknown`; null on the host',
      ),
    pid_ns: z.int().nullable().describe('PID namespace inode'),
    mnt_ns: z.int().nullable().describe('Mount namespace inode'),
    net_ns: z.int().nullable().describe('Network namespace inode'),
    exe_deleted: z.boolean().nullable().describe('The `exe` link reads ` (deleted)`: the running file was unlinked'),
    exe_memfd: z.boolean().nullable().describe('The executable is an anonymous `memfd:` file (fileless execution)'),
    exe_inode: z.int().nullable().describe('Inode of the running executable image'),
    exe_device: z.int().nullable().describe('Device number of the running executable image'),
    exe_path_inode: z.int().nullable().describe('Inode of the file now at `executable_path`, null when no file is there'),
    exe_mtime: z.int().nullable().describe('Modification time of the file now at `executable_path`, epoch ms'),
    exe_replaced: z
      .boolean()
      .nullable()
      .describe('A different file (other inode) now sits at `executable_path`: replaced after the process started, e.g. by an upgrade'),
    exe_size: z.int().nullable().describe('Size in bytes of the running executable'),
    stdin: z.string().nullable().describe('Target of fd 0 (`/dev/pts/0`, `pipe:[123]`, `socket:[456]`, …)'),
    stdout: z.string().nullable().describe('Target of fd 1'),
    stderr: z.string().nullable().describe('Target of fd 2'),
    tracer_pid: z.int().nullable().describe('PID of the process tracing this one (ptrace), 0 when none'),
    ld_preload: z
      .string()
      .nullable()
      .describe(
        "`LD_PRELOAD` from the initial environment (readable by root or the owner), null when unset or unreadable. Set twice with different values (a hand-built execve), the first (musl's loader, getenv) and the last (glibc's ld.so) joined by `:`",
      ),
    ld_audit: z
      .string()
      .nullable()
      .describe(
        "`LD_AUDIT` from the initial environment, null when unset or unreadable; set more than once, every distinct value joined by `:` (glibc's ld.so loads each)",
      ),
    login_shell_listed: z
      .boolean()
      .nullable()
      .describe(
        'For a login shell (argv[0] starts with `-`): whether its executable is listed in `/etc/shells` of its mount namespace (read through `/proc/PID/root`); null for other processes or when /etc/shells cannot be read',
      ),
    ns_ld_so_preload: z
      .string()
      .nullable()
      .describe(
        "Content of `/etc/ld.so.preload` as this process's mount namespace sees it (read through `/proc/PID/root`, once per mount namespace), so a preload rootkit inside a container is seen; null when absent or unreadable",
      ),
    environ_readable: z.boolean().nullable().describe('Whether the initial environment could be read (needed for `ld_preload`)'),
    environ_bytes: z
      .int()
      .nullable()
      .describe(
        'Length in bytes of the initial environment (`/proc/PID/environ`, the NULs between entries included): what was read when it was read whole, else what `/proc/PID/stat` gives (`env_end - env_start`); null when unreadable or, cut, when the kernel does not say',
      ),
    environ_cut: z
      .boolean()
      .nullable()
      .describe(
        "True when the scan read only the start of the environment (collection.environ: a floor per process, a share of a budget, a ceiling): a variable after the bytes read, LD_PRELOAD and LD_AUDIT included, is not seen, and the process is named in the scan's `collection limit: ` warning; null when unreadable",
      ),
    entity_id: z.string().nullable().describe('Stable process identity: hex hash of boot id, pid and start ticks'),
    bytes_escaped: z
      .boolean()
      .nullable()
      .describe(
        'True when some text field of this record (`name`, `executable_path`, `command_line`, `cmdline`, `exe_name`, `cwd`, `stdin`, `stdout`, `stderr`, `ld_preload`, `ld_audit`, `cgroup`) holds an escape: a byte that is not UTF-8 or belongs to a control character is written `\\xHH`, a backslash that would read as the start of such an escape `\\\\` (the one lossless text form of every table, docs/scan.md). False: every text field is its bytes as UTF-8',
      ),
    live_thread_tid: z
      .int()
      .nullable()
      .describe(
        'Set when the main thread has exited while other threads run (the leader is a zombie, state Z): the TID of the live thread whose /proc/PID/task/TID files gave `executable_path`, `command_line`, `cwd`, fds, environment and the executable hash. Null for an ordinary process',
      ),
    hidden: z
      .enum(HIDDEN_KINDS)
      .nullable()
      .describe(
        "Why this process is hidden from a plain /proc listing, null when it is not: `proc_mount`, a mount covers its /proc entry or a file in it (`mount --bind EMPTYDIR /proc/PID`), checked on every scan; `unlisted`, it exists (`kill(pid, 0)`, its /proc entry readable by path) but /proc's directory listing leaves it out, found by `scan --hidden-check`",
      ),
    hidden_evidence: z
      .string()
      .nullable()
      .describe(
        'What showed it hidden: the covering mounts (from /proc/self/mountinfo), the probes that found it, and the pids of its children; null when not hidden',
      ),
  })
  .strict();
export type LinuxPlatformData = z.infer<typeof LinuxPlatformDataSchema>;

export const PROCESS_RECORD_COLUMNS: readonly ColumnSpec[] = columnsOf(ProcessRecordSchema);

/** `cmdline`: argv joined with single spaces, for `LIKE` and `instr` in rules. */
export const CMDLINE_COLUMN: ColumnSpec = columnOf(
  'cmdline',
  z.string().describe('argv joined with single spaces (derived from `command_line`, for LIKE and instr)'),
);

/** `exe_name`: the executable's base name, so rules compare names without string surgery on paths. */
export const EXE_NAME_COLUMN: ColumnSpec = columnOf(
  'exe_name',
  z
    .string()
    .nullable()
    .describe(
      'Base name of `executable_path` (`/usr/bin/python3.11` → `python3.11`; derived), null when the path is; unlike `name` (comm) the process cannot set it',
    ),
);

/** Columns derived from the record's fields (not stored in the JSON record), after its own columns. */
export const DERIVED_PROCESS_COLUMNS: readonly ColumnSpec[] = [CMDLINE_COLUMN, EXE_NAME_COLUMN];

/** The base name of an executable path (`/memfd:x` → `memfd:x`), null for none. */
export function exeNameOf(path: string | null): string | null {
  if (path === null) return null;
  return path.slice(path.lastIndexOf('/') + 1);
}

export const PLATFORM_DATA_COLUMNS: readonly ColumnSpec[] = columnsOf(LinuxPlatformDataSchema);

/** Every Linux platform-data key, null: a record keeps one shape whatever the collector filled (derived from the schema). */
export function emptyPlatformData(): LinuxPlatformData {
  return Object.fromEntries(PLATFORM_DATA_COLUMNS.map((c) => [c.name, null])) as LinuxPlatformData;
}

/** Every column of the `processes` table, in order. */
export const PROCESS_TABLE_COLUMNS: readonly ColumnSpec[] = [...PROCESS_RECORD_COLUMNS, ...DERIVED_PROCESS_COLUMNS, ...PLATFORM_DATA_COLUMNS];

export const PROCESS_TABLE_COLUMN_NAMES: readonly string[] = PROCESS_TABLE_COLUMNS.map((c) => c.name);

/** The row values of a record for the `processes` table, in `PROCESS_TABLE_COLUMNS` order. */
export function processToRow(record: ProcessRecord): (string | number | null)[] {
  const row: (string | number | null)[] = [];
  const source = record as unknown as Record<string, unknown>;
  for (const column of PROCESS_RECORD_COLUMNS) row.push(toSqlValue(column, source[column.name]));
  row.push(record.command_line.join(' '));
  row.push(exeNameOf(record.executable_path));
  const platform = record.platform_data ?? {};
  for (const column of PLATFORM_DATA_COLUMNS) row.push(toSqlValue(column, platform[column.name]));
  return row;
}

/** Rebuild a record from a `processes` row (only the record's own columns are read). */
export function rowToProcess(row: Record<string, unknown>): ProcessRecord {
  const record: Record<string, unknown> = {};
  for (const column of PROCESS_RECORD_COLUMNS) record[column.name] = fromSqlValue(column, row[column.name]);
  return record as ProcessRecord;
}
