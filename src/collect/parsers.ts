// Pure parsers for the /proc files the Linux collector reads: text in, typed values out, no I/O, so each
// is unit-tested on fixture text (proc(5) is the reference for every field position used here).
import {escapeLatin1} from './text-encoding.js';

/** PF_KTHREAD in the `flags` field of /proc/PID/stat (include/linux/sched.h). */
export const PF_KTHREAD = 0x00200000;

/** The fields of /proc/PID/stat the collector uses. Ticks are clock ticks (USER_HZ). */
export interface ProcStat {
  readonly pid: number;
  /** `comm`: up to 15 bytes, may contain spaces and parentheses. */
  readonly comm: string;
  readonly state: string;
  readonly ppid: number;
  readonly processGroup: number;
  readonly sessionId: number;
  readonly ttyNr: number;
  readonly flags: number;
  readonly utimeTicks: number;
  readonly stimeTicks: number;
  readonly nice: number;
  readonly threads: number;
  readonly startTicks: number;
  readonly rssPages: number;
  /**
   * Bytes of the environment (`env_end - env_start`, fields 50 and 51, Linux 3.5 and later): how long
   * /proc/PID/environ reads, without reading it. Null when the kernel does not give them (an older kernel; 0
   * for a process whose memory we may not read, a zombie or a kernel thread: then 0 here too).
   */
  readonly environBytes: number | null;
}

/**
 * /proc/PID/stat. `comm` sits in parentheses and may itself contain `)` and spaces, so the fields are
 * split after the LAST `)` of the line. Returns null for text that is not a stat line.
 */
export function parseStat(text: string): ProcStat | null {
  const open = text.indexOf(' (');
  const close = text.lastIndexOf(')');
  if (open <= 0 || close < open) return null;
  const pid = Number(text.slice(0, open));
  // Fields after comm, numbered as in proc(5): index 0 here is field 3 (state).
  const rest = text
    .slice(close + 2)
    .trimEnd()
    .split(' ');
  if (!Number.isInteger(pid) || rest.length < 22) return null;
  const field = (n: number): number => Number(rest[n - 3]);
  const stat: ProcStat = {
    pid,
    comm: text.slice(open + 2, close),
    state: rest[0] ?? '',
    ppid: field(4),
    processGroup: field(5),
    sessionId: field(6),
    ttyNr: field(7),
    flags: field(9),
    utimeTicks: field(14),
    stimeTicks: field(15),
    nice: field(19),
    threads: field(20),
    startTicks: field(22),
    rssPages: field(24),
    environBytes: rest.length >= 49 && Number.isSafeInteger(field(51) - field(50)) && field(51) >= field(50) ? field(51) - field(50) : null,
  };
  return Number.isFinite(stat.ppid) && Number.isFinite(stat.startTicks) ? stat : null;
}

export function isKernelThread(stat: ProcStat): boolean {
  // flags is an unsigned 32-bit value; `&` in JS works on int32, which keeps bit 21 intact.
  return (stat.flags & PF_KTHREAD) !== 0;
}

/** The fields of /proc/PID/status the collector uses (ids are [real, effective, saved, fs]). */
export interface ProcStatus {
  readonly uids: readonly number[] | null;
  readonly gids: readonly number[] | null;
  readonly tracerPid: number | null;
  /** VmRSS in bytes; null when the line is absent (kernel threads, zombies). */
  readonly rssBytes: number | null;
}

export function parseStatus(text: string): ProcStatus {
  const uids = statusField(text, 'Uid:');
  const gids = statusField(text, 'Gid:');
  const tracer = statusField(text, 'TracerPid:');
  const rss = statusField(text, 'VmRSS:');
  return {
    uids: uids === null ? null : uids.split(/\s+/).map(Number),
    gids: gids === null ? null : gids.split(/\s+/).map(Number),
    tracerPid: tracer === null ? null : Number(tracer),
    rssBytes: rss === null ? null : Number.parseInt(rss, 10) * 1024,
  };
}

/** The trimmed value of a `Key:` line (looked up directly: status has ~55 lines, we need four). */
function statusField(text: string, key: string): string | null {
  const at = text.startsWith(key) ? 0 : text.indexOf(`\n${key}`) + 1;
  if (at <= 0 && !text.startsWith(key)) return null;
  const end = text.indexOf('\n', at);
  return text.slice(at + key.length, end < 0 ? text.length : end).trim();
}

/**
 * /proc/PID/cmdline: argv joined by NUL, with a trailing NUL. Split on NUL exactly (an empty argument
 * stays an empty string, spaces and newlines stay inside their argument). A process that rewrote its
 * argv (setproctitle) may leave no trailing NUL; then the text is taken as is.
 */
export function parseCmdline(text: string): string[] {
  if (text === '') return [];
  const body = text.endsWith('\0') ? text.slice(0, -1) : text;
  return body.split('\0');
}

export interface ExeLink {
  /** The path with any ` (deleted)` marker removed. */
  readonly path: string;
  /** The link carried the ` (deleted)` marker (the caller checks whether a file really named so exists). */
  readonly markedDeleted: boolean;
  /** An anonymous memory file (`/memfd:name`): fileless execution. */
  readonly memfd: boolean;
}

export const DELETED_MARKER = ' (deleted)';

/** The target of /proc/PID/exe. */
export function parseExeLink(target: string): ExeLink {
  const markedDeleted = target.endsWith(DELETED_MARKER);
  const path = markedDeleted ? target.slice(0, -DELETED_MARKER.length) : target;
  return {path, markedDeleted, memfd: path.startsWith('/memfd:')};
}

/** What /proc/PID/cgroup says about a process. */
export interface CgroupInfo {
  /** The cgroup path (escapeBytes text), null when the file could not be split unambiguously. */
  readonly cgroup: string | null;
  /** A container's id found in any of its paths (64 hex digits, or an LXC or systemd-nspawn name), null when there is none. */
  readonly containerId: string | null;
  /** The runtime of that container (ContainerIdentity), null when there is none. */
  readonly containerRuntime: string | null;
}

const CGROUP_PREFIX = /^(\d+):([^:\n]*):/;

/**
 * The line prefixes (`hierarchy-ID:controller-list:`) of a /proc/PID/cgroup text read naively, one per line
 * that has one, or null when a hierarchy id repeats (a cgroup name with a newline made a line). Every process
 * of a host has the same prefixes in the same order (one line per mounted hierarchy, the kernel's
 * proc_cgroup_show), so those of the scanner's own file split everyone else's.
 */
export function cgroupPrefixes(text: string): string[] | null {
  const prefixes: string[] = [];
  const ids = new Set<string>();
  for (const line of text.split('\n')) {
    const match = CGROUP_PREFIX.exec(line);
    if (match === null) continue;
    if (ids.has(match[1] as string)) return null;
    ids.add(match[1] as string);
    prefixes.push(match[0]);
  }
  return prefixes.length === 0 ? null : prefixes;
}

/**
 * Every way of reading `text` as the lines of `prefixes` in order, each `PREFIX/path` and the last ending
 * at the file's final newline (a path always starts with `/`; it may hold any other byte, newlines too).
 * Stops after `limit` readings: two are enough to know a text is ambiguous.
 */
function cgroupReadings(text: string, prefixes: readonly string[], limit = 2): string[][] {
  const readings: string[][] = [];
  const first = prefixes[0];
  if (first === undefined || !text.startsWith(first) || !text.endsWith('\n')) return readings;
  const walk = (line: number, pathStart: number, paths: string[]): void => {
    if (readings.length >= limit) return;
    const next = prefixes[line + 1];
    if (next === undefined) {
      const path = text.slice(pathStart, -1);
      if (path.startsWith('/')) readings.push([...paths, path]);
      return;
    }
    for (let nl = text.indexOf(`\n${next}`, pathStart); nl >= 0; nl = text.indexOf(`\n${next}`, nl + 1)) {
      const path = text.slice(pathStart, nl);
      if (path.startsWith('/')) walk(line + 1, nl + 1 + next.length, [...paths, path]);
      if (readings.length >= limit) return;
    }
  };
  walk(0, first.length, []);
  return readings;
}

// docker-<id>.scope, cri-containerd-<id>.scope, crio-<id>.scope, libpod-<id>.scope (systemd driver) and
// /docker/<id>, /kubepods/.../<id>, /lxc.payload... (cgroupfs driver): the id is 64 hex digits.
const CONTAINER_ID = /(?:^|[/-])([0-9a-f]{64})(?:\.scope)?(?:$|\/)/;

/** Container runtimes told apart by the cgroup path, in the order they are tried (more specific first). */
const CONTAINER_RUNTIMES: readonly (readonly [runtime: string, pattern: RegExp])[] = [
  ['cri-o', /(?:^|\/)crio-(?:conmon-)?[0-9a-f]{64}|\/crio\//],
  ['containerd', /(?:^|\/)(?:cri-containerd|nerdctl)-[0-9a-f]{64}|\/containerd\//],
  ['podman', /(?:^|\/)libpod(?:-conmon)?-[0-9a-f]{64}|\/libpod_parent\//],
  ['docker', /(?:^|\/)docker-[0-9a-f]{64}|(?:^|\/)docker\/[0-9a-f]{64}/],
  ['kubernetes', /(?:^|\/)kubepods/],
];

/** A container's identity from the cgroup path: the runtime that made it and its id. */
export interface ContainerIdentity {
  /** `docker`, `containerd`, `cri-o`, `podman`, `kubernetes` (a kubepods cgroup whose runtime the path does not name), `lxc`, `systemd-nspawn`, or `unknown`. */
  readonly runtime: string;
  /** 64 hex digits for OCI runtimes; the container's name for LXC and systemd-nspawn. */
  readonly id: string;
}

/**
 * The container a cgroup path places a process in, or null. OCI runtimes name a 64-hex-digit id in the path
 * (systemd driver: `docker-<id>.scope`, `cri-containerd-<id>.scope`, `crio-<id>.scope`, `libpod-<id>.scope`;
 * cgroupfs driver: `/docker/<id>`, `/kubepods/…/<id>`); LXC puts its payload under `/lxc.payload.<name>` (or
 * `/lxc/<name>`), systemd-nspawn under `systemd-nspawn@<name>.service` (systemd's `\x2d` unescaped).
 */
export function containerFromPath(path: string): ContainerIdentity | null {
  const match = CONTAINER_ID.exec(path);
  if (match !== null) return {runtime: CONTAINER_RUNTIMES.find(([, pattern]) => pattern.test(path))?.[0] ?? 'unknown', id: match[1] ?? ''};
  const lxc = /\/lxc(?:\.payload\.|\/)([^/]+)/.exec(path);
  if (lxc !== null) return {runtime: 'lxc', id: lxc[1] ?? ''};
  const nspawn = /\/systemd-nspawn@([^/]+)\.service/.exec(path);
  if (nspawn !== null) return {runtime: 'systemd-nspawn', id: nspawn[1]?.replace(/\\x2d/g, '-') ?? ''};
  return null;
}

/** The container of a /proc/PID/cgroup text (parseCgroup), or null on the host. */
export function containerFromCgroup(text: string): ContainerIdentity | null {
  const info = parseCgroup(text);
  return info.containerId === null || info.containerRuntime === null ? null : {runtime: info.containerRuntime, id: info.containerId};
}

/**
 * /proc/PID/cgroup (bytes read as latin1): `hierarchy-ID:controller-list:path` per hierarchy, the unified
 * (v2) hierarchy as `0::path`, last. The kernel prints paths raw, so a cgroup name holding a newline and a
 * line of its own (`x\n0::/docker-<id>.scope`; a user may name cgroups under their delegated subtree) would
 * forge a line if the file were split on newlines. It is split on the host's own `prefixes` instead (the
 * scanner's file, cgroupPrefixes): on a cgroup-v2 host that is the single `0::` line, whose path is
 * everything up to the final newline, exactly. With several hierarchies (v1 or hybrid) a forged line can
 * make two readings fit; then the path is unknown (null) and a container id is taken from either reading.
 * Without prefixes, the file's own are used when no id repeats.
 *
 * The path: the unified one when it says more than `/`, else the first v1 hierarchy with a specific path
 * (hybrid hosts often leave the unified line at `/`), else `/`.
 */
export function parseCgroup(text: string, prefixes: readonly string[] | null = null): CgroupInfo {
  const own = prefixes ?? cgroupPrefixes(text);
  const readings = own === null ? [] : cgroupReadings(text, own);
  const container = (paths: readonly string[]): ContainerIdentity | null => {
    for (const path of paths) {
      const found = containerFromPath(path);
      if (found !== null) return found;
    }
    return null;
  };
  if (readings.length !== 1 || own === null) {
    const found = readings.map(container).find((identity) => identity !== null) ?? null;
    return {cgroup: null, containerId: found?.id ?? null, containerRuntime: found?.runtime ?? null};
  }
  const paths = readings[0] as string[];
  let unified: string | null = null;
  let specificV1: string | null = null;
  own.forEach((prefix, i) => {
    const path = paths[i] as string;
    if (prefix === '0::') unified = path;
    else if (path !== '/' && specificV1 === null) specificV1 = path;
  });
  const chosen: string | null = unified !== null && unified !== '/' ? unified : (specificV1 ?? unified ?? paths[0] ?? null);
  const found = container(paths);
  return {cgroup: chosen === null ? null : escapeLatin1(chosen), containerId: found?.id ?? null, containerRuntime: found?.runtime ?? null};
}

/** The inode of a namespace link target such as `pid:[4026531836]`. */
export function parseNamespaceLink(target: string): number | null {
  const match = /^[a-z_]+:\[(\d+)\]$/.exec(target);
  return match === null ? null : Number(match[1]);
}

/**
 * The controlling terminal from stat's `tty_nr` (device number: major in bits 8–15, minor in bits 0–7 and
 * 20–31): `pts/N` for pseudo-terminals, `ttyN` / `ttySN` for consoles and serial lines, null for none.
 */
export function decodeTtyNr(ttyNr: number): string | null {
  if (!Number.isInteger(ttyNr) || ttyNr <= 0) return null;
  const major = (ttyNr >>> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >>> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return `pts/${(major - 136) * 256 + minor}`;
  if (major === 4) return minor < 64 ? `tty${minor}` : `ttyS${minor - 64}`;
  if (major === 5 && minor === 0) return 'tty';
  if (major === 5 && minor === 1) return 'console';
  return `tty(${major},${minor})`;
}

/**
 * uid → user name from /etc/passwd (bytes read as latin1; names in the one text form, escapeBytes). The first
 * entry for a uid wins, as getpwuid does.
 */
export function parsePasswd(text: string): Map<number, string> {
  const users = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(':');
    const uid = /^\d+$/.test(fields[2] ?? '') ? Number(fields[2]) : Number.NaN;
    const name = fields[0];
    if (fields.length >= 3 && name !== undefined && name !== '' && Number.isSafeInteger(uid) && !users.has(uid)) users.set(uid, escapeLatin1(name));
  }
  return users;
}

/** `btime` from /proc/stat: boot time in seconds since the epoch. */
export function parseBootTimeSeconds(procStat: string): number | null {
  const match = /^btime (\d+)$/m.exec(procStat);
  return match === null ? null : Number(match[1]);
}

/** The first field of /proc/uptime: seconds since boot (two decimals). */
export function parseUptimeSeconds(text: string): number | null {
  const value = Number.parseFloat(text);
  return Number.isFinite(value) ? value : null;
}

/** PRETTY_NAME (else NAME VERSION_ID) from /etc/os-release. */
export function parseOsRelease(text: string): string | null {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match === null) continue;
    let value = match[2] ?? '';
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    values.set(match[1] ?? '', value);
  }
  const pretty = values.get('PRETTY_NAME');
  if (pretty !== undefined && pretty !== '') return pretty;
  const name = values.get('NAME');
  if (name === undefined) return null;
  const version = values.get('VERSION_ID');
  return version === undefined ? name : `${name} ${version}`;
}

/** /proc/PID/cmdline as raw arguments (split on NUL exactly, as `parseCmdline` does for text). */
export function splitCmdlineBytes(bytes: Buffer): Buffer[] {
  if (bytes.length === 0) return [];
  const body = bytes[bytes.length - 1] === 0 ? bytes.subarray(0, -1) : bytes;
  const args: Buffer[] = [];
  let start = 0;
  for (;;) {
    const nul = body.indexOf(0, start);
    if (nul < 0) break;
    args.push(body.subarray(start, nul));
    start = nul + 1;
  }
  args.push(body.subarray(start));
  return args;
}
