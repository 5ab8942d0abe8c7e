// Complete a partial process row (as rule test cases and hand-written fixtures give them) into a full
// ProcessRecord with neutral defaults: an ordinary, benign user-space process on a terminal. Rows are
// flat, like the `processes` table: record fields and platform-data columns side by side.
import {createHash} from 'node:crypto';

import {DaemonEyeError} from '../errors.js';
import {LinuxPlatformDataSchema, type ProcessRecord, ProcessRecordSchema} from './process.js';

const PLATFORM_KEYS = new Set(Object.keys(LinuxPlatformDataSchema.shape));
const RECORD_KEYS = new Set(Object.keys(ProcessRecordSchema.shape));

export type PartialProcessRow = Readonly<Record<string, unknown>>;

export interface CompleteOptions {
  readonly scanId: number;
  /** Collection time; start times default to one hour before it. */
  readonly now: number;
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** A deterministic UUID-shaped id from the scan id and pid, so fixtures are reproducible. */
function fixtureId(scanId: number, pid: number): string {
  const hex = createHash('sha256').update(`${scanId}:${pid}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Neutral defaults: uid 1000 (`user`), parent pid 1000, on `pts/0`, executable `/usr/bin/<name>` on disk,
 * started an hour ago. `name` defaults to the executable's basename (15 bytes, like `comm`), the command
 * line to `[executable_path]`. Unknown keys are an error, so a typo in a test case cannot pass silently.
 */
export function completeProcessRow(partial: PartialProcessRow, options: CompleteOptions): ProcessRecord {
  const unknown = Object.keys(partial).filter((key) => !RECORD_KEYS.has(key) && !PLATFORM_KEYS.has(key) && key !== 'cmdline');
  if (unknown.length > 0) {
    throw new DaemonEyeError('RECORD_INVALID', `unknown process column${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, {
      hint: 'use the column names of docs/schema.md',
    });
  }
  if (typeof partial.pid !== 'number') throw new DaemonEyeError('RECORD_INVALID', 'every process row needs a numeric pid');
  const pid = partial.pid;
  const givenExe = partial.executable_path as string | null | undefined;
  const givenName = partial.name as string | undefined;
  const kernelThread = partial.kernel_thread === true;
  const executablePath = givenExe !== undefined ? givenExe : kernelThread ? null : `/usr/bin/${givenName ?? 'neutral'}`;
  const name = givenName ?? (executablePath === null ? 'neutral' : basename(executablePath).slice(0, 15));
  const commandLine = (partial.command_line as string[] | undefined) ?? (kernelThread || executablePath === null ? [] : [executablePath]);
  const startTime = (partial.start_time as number | null | undefined) === undefined ? options.now - 3_600_000 : (partial.start_time as number | null);
  const uid = (partial.uid as number | undefined) ?? (partial.user_id === undefined || partial.user_id === null ? 1000 : Number(partial.user_id));
  const platform: Record<string, unknown> = {
    user_name: uid === 0 ? 'root' : 'user',
    uid,
    euid: uid,
    gid: uid,
    egid: uid,
    state: 'S',
    threads: 1,
    nice: 0,
    tty: kernelThread ? null : 'pts/0',
    session_id: kernelThread ? 0 : 1000,
    process_group: pid,
    cwd: kernelThread ? null : '/home/user',
    start_ticks: null,
    parent_start_time: startTime === null ? null : startTime - 1000,
    kernel_thread: kernelThread,
    cgroup: '/user.slice',
    container_id: null,
    container_runtime: null,
    pid_ns: 4026531836,
    mnt_ns: 4026531841,
    net_ns: 4026531840,
    exe_deleted: false,
    exe_memfd: executablePath?.startsWith('/memfd:') ?? false,
    exe_inode: null,
    exe_device: null,
    exe_path_inode: null,
    exe_mtime: null,
    exe_replaced: false,
    exe_size: null,
    stdin: kernelThread ? null : '/dev/pts/0',
    stdout: kernelThread ? null : '/dev/pts/0',
    stderr: kernelThread ? null : '/dev/pts/0',
    tracer_pid: 0,
    ld_preload: null,
    ld_audit: null,
    ns_ld_so_preload: null,
    login_shell_listed: null,
    environ_readable: true,
    environ_bytes: null,
    environ_cut: false,
    entity_id: null,
    bytes_escaped: false,
    live_thread_tid: null,
    hidden: null,
    hidden_evidence: null,
  };
  for (const key of PLATFORM_KEYS) if (key in partial) platform[key] = partial[key];
  const record: Record<string, unknown> = {
    id: fixtureId(options.scanId, pid),
    scan_id: options.scanId,
    collection_time: options.now,
    pid,
    ppid: 1000,
    name,
    executable_path: executablePath,
    command_line: commandLine,
    start_time: startTime,
    cpu_usage: 0,
    memory_usage: 4 * 1024 * 1024,
    executable_hash: null,
    hash_algorithm: null,
    user_id: String(uid),
    accessible: true,
    file_exists: executablePath !== null && platform.exe_deleted !== true && platform.exe_memfd !== true,
    platform_data: platform,
  };
  for (const key of RECORD_KEYS) if (key in partial && key !== 'platform_data') record[key] = partial[key];
  const parsed = ProcessRecordSchema.safeParse(record);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DaemonEyeError('RECORD_INVALID', `process row pid ${pid}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
