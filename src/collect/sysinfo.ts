// The portable collector: systeminformation's process list (macOS, Windows, or `--collector
// systeminformation`). It fills what that list has and leaves the rest null; it has no exact argv. Its
// text takes the one text form of every table (escapeText).
import {randomUUID} from 'node:crypto';
import {existsSync, statSync, type Stats} from 'node:fs';

import {DaemonEyeError} from '../errors.js';
import {emptyPlatformData, type LinuxPlatformData, type ProcessRecord} from '../models/process.js';
import {readUptimeSeconds} from './host.js';
import {cpuPercentSinceStart, type ExecutableImage, executableImage, listPids} from './procfs.js';
import {escapeText} from './text-encoding.js';

const STATE_LETTERS: Record<string, string> = {running: 'R', sleeping: 'S', stopped: 'T', paging: 'W', dead: 'X', zombie: 'Z', blocked: 'D'};

/** systeminformation prints local time as `YYYY-MM-DD HH:MM:SS`. */
function parseStarted(text: string): number | null {
  const match = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text.trim());
  if (match === null) return null;
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  const time = new Date(y, mo - 1, d, h, mi, s).getTime();
  return Number.isFinite(time) ? time : null;
}

export interface SystemInformationResult {
  readonly processes: {record: ProcessRecord; platform: LinuxPlatformData; image: ExecutableImage | null}[];
}

/** The Linux kernel's limit on the length of one argument of a new program, its NUL included (MAX_ARG_STRLEN: 32 pages of 4 KiB). */
export const MAX_ARG_STRLEN = 32 * 4096;

/** Head room for processes started between our count and systeminformation's own `ps` (≈ 90 of 7-digit pids). */
const ARGUMENT_HEADROOM = 2048;

/**
 * The length in bytes, NUL included, of the one shell command systeminformation 5 builds on Linux to read every
 * listed process's CPU ticks (lib/processes.js: `cat /proc/stat | grep "cpu "`, then `;cat /proc/PID/stat` per
 * process), which it hands to `/bin/sh -c` as one argument.
 */
export function cpuCommandBytes(pids: readonly number[]): number {
  let bytes = 'cat /proc/stat | grep "cpu "'.length + 1;
  for (const pid of pids) bytes += ';cat /proc//stat'.length + String(pid).length;
  return bytes;
}

/**
 * COLLECTOR_UNAVAILABLE when systeminformation cannot list a Linux host with these `pids`: past the kernel's
 * argument limit its command fails with E2BIG and the library then throws from a callback (no error we could
 * catch). Undefined when it fits (with head room for processes started meanwhile).
 */
export function systemInformationRefusal(pids: readonly number[]): DaemonEyeError | undefined {
  const bytes = cpuCommandBytes(pids);
  if (bytes + ARGUMENT_HEADROOM <= MAX_ARG_STRLEN) return undefined;
  return new DaemonEyeError(
    'COLLECTOR_UNAVAILABLE',
    `the systeminformation collector cannot list this host's ${pids.length} processes: the command it runs for them would be ${bytes} bytes, past Linux's ${MAX_ARG_STRLEN}-byte limit on one argument`,
    {hint: 'use the procfs collector: --collector procfs, or collection.collector auto'},
  );
}

/**
 * Every process systeminformation lists (or those of `pids`), as records with what its list has (no argv: one
 * command string). Throws COLLECTOR_UNAVAILABLE on a Linux host with more processes than it can list.
 */
export async function collectWithSystemInformation(options: {scanId: number; pids?: readonly number[]}): Promise<SystemInformationResult> {
  if (process.platform === 'linux' && existsSync('/proc/self')) {
    const refusal = systemInformationRefusal(listPids('/proc'));
    if (refusal !== undefined) throw refusal;
  }
  const si = await import('systeminformation');
  const data = await si.processes();
  const cpuOf = cpuUsageReader();
  const wanted = options.pids === undefined ? null : new Set(options.pids);
  const processes: SystemInformationResult['processes'] = [];
  const startByPid = new Map<number, number | null>();
  for (const entry of data.list) {
    if (wanted !== null && !wanted.has(entry.pid)) continue;
    const collectionTime = Date.now();
    // On Linux, kthreadd (pid 2) and its children are the kernel's threads: no process started by exec has
    // kthreadd for parent (an orphan goes to init or a subreaper). ps shows their names as `[name]`, which is no
    // argv and no executable; left unknown (null), every rule about user processes would take them for one.
    const kernelThread = process.platform === 'linux' ? entry.pid === 2 || entry.parentPid === 2 : null;
    const executablePath = kernelThread !== true && entry.path !== '' && entry.command !== '' ? `${entry.path.replace(/\/$/, '')}/${entry.command}` : null;
    const image = executablePath === null || !executablePath.startsWith('/') ? undefined : statQuiet(executablePath);
    // The list has one command string, not argv: the command and its parameter text, never re-split (the
    // redaction policy reads a text with white space in argv as a command line, word by word).
    const command = escapeText(executablePath ?? entry.command);
    const params = escapeText(entry.params);
    const argv = kernelThread === true || entry.command === '' ? [] : params === '' ? [command] : [command, params];
    const platform: LinuxPlatformData = {
      ...emptyPlatformData(),
      user_name: entry.user === '' ? null : escapeText(entry.user),
      state: STATE_LETTERS[entry.state] ?? null,
      nice: Number.isFinite(entry.nice) ? entry.nice : null,
      tty: entry.tty === '' ? null : entry.tty,
      kernel_thread: kernelThread,
      exe_inode: image?.ino ?? null,
      exe_device: image?.dev ?? null,
      exe_path_inode: image?.ino ?? null,
      exe_mtime: image === undefined ? null : Math.trunc(image.mtimeMs),
      exe_size: image?.size ?? null,
    };
    const startTime = parseStarted(entry.started);
    startByPid.set(entry.pid, startTime);
    processes.push({
      record: {
        id: randomUUID(),
        scan_id: options.scanId,
        collection_time: collectionTime,
        pid: entry.pid,
        ppid: Number.isInteger(entry.parentPid) && entry.parentPid >= 0 ? entry.parentPid : null,
        name: escapeText(entry.name),
        executable_path: executablePath === null ? null : escapeText(executablePath),
        command_line: argv,
        start_time: startTime,
        cpu_usage: cpuOf(entry),
        memory_usage: Number.isFinite(entry.memRss) ? Math.max(0, Math.round(entry.memRss * 1024)) : null,
        executable_hash: null,
        hash_algorithm: null,
        user_id: null,
        accessible: true,
        // What the list names is its command's path (argv[0], which a process may set to anything, and a relative one
        // is relative to that process's directory): a file found there is its executable, no file found proves
        // nothing. A kernel thread has no executable at all, as the procfs collector reports it.
        file_exists: kernelThread === true ? false : image !== undefined ? true : null,
        platform_data: platform,
      },
      platform,
      image: image === undefined || executablePath === null ? null : executableImage(image, executablePath),
    });
  }
  for (const {record, platform} of processes) {
    if (record.ppid !== null) platform.parent_start_time = startByPid.get(record.ppid) ?? null;
  }
  return {processes};
}

/**
 * How `cpu_usage` is read, in the one unit of the column (percent of one core since the process started, as the
 * procfs collector reports it: src/collect/procfs.ts, cpuPercentOfTicks). systeminformation's own `cpu` is that on
 * macOS and the BSDs (ps's pcpu), but on Linux and Windows a share of all cores' time since boot (its first call
 * has no earlier sample), 0.0023 where procfs says 89.22 for the same busy process. On Linux the process's
 * /proc/PID/stat gives the exact figure; on Windows there is no way back to one core since start, so it is null
 * (unknown) rather than a number in another unit.
 */
function cpuUsageReader(): (entry: {pid: number; cpu: number}) => number | null {
  if (process.platform === 'linux' && existsSync('/proc/self/stat')) {
    const uptime = readUptimeSeconds('/proc');
    return (entry) => cpuPercentSinceStart('/proc', entry.pid, uptime);
  }
  if (process.platform === 'win32') return () => null;
  return (entry) => (Number.isFinite(entry.cpu) ? entry.cpu : null);
}

function statQuiet(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
