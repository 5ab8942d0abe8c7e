// Pure parser for /proc/PID/mountinfo (proc(5), "/proc/pid/mountinfo"; the kernel writes it in
// fs/proc_namespace.c show_mountinfo) and the one question the collector asks of it: which mounts sit
// over a process's /proc entry, the way `mount --bind EMPTYDIR /proc/PID` hides a process from ps.
import {escapeLatin1} from './text-encoding.js';

/**
 * One line of mountinfo, read as latin1 (one character per byte). Paths are decoded: the kernel writes space,
 * tab, newline and backslash as `\ooo` (so a backslash in the text always starts one), and they are bytes
 * again here; describeMount gives them in the one text form.
 */
export interface MountEntry {
  readonly mountId: number;
  readonly parentId: number;
  /** `major:minor` of the mounted file system. */
  readonly device: string;
  /** The directory of the source file system that is mounted here (`/` for a whole file system). */
  readonly root: string;
  /** Where it is mounted, relative to the reading process's root. */
  readonly mountPoint: string;
  readonly options: string;
  readonly fsType: string;
  /** The mount source (`/dev/sda1`, `tmpfs`, `none`). */
  readonly source: string;
}

/** `\040` and friends back to the byte they stand for (show_mountinfo escapes " \t\n\\" with mangle()). */
function unescapeOctal(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_match, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/**
 * Parse mountinfo text: `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS`.
 * The optional fields end at the single `-` separator, so the line is split there. Malformed lines are
 * skipped (never throws): the result is what could be read.
 */
export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    if (fields.length < 10 || separator < 0 || separator + 2 >= fields.length) continue;
    const mountId = Number(fields[0]);
    const parentId = Number(fields[1]);
    if (!Number.isInteger(mountId) || !Number.isInteger(parentId)) continue;
    entries.push({
      mountId,
      parentId,
      device: fields[2] as string,
      root: unescapeOctal(fields[3] as string),
      mountPoint: unescapeOctal(fields[4] as string),
      options: fields[5] as string,
      fsType: unescapeOctal(fields[separator + 1] as string),
      source: unescapeOctal(fields[separator + 2] as string),
    });
  }
  return entries;
}

/**
 * Mounts over a process's entry in the procfs mounted at `procMount`: the entry itself (`/proc/4242`) or
 * anything under it (`/proc/4242/cmdline`, `/proc/4242/exe`), by pid. A mount of procfs itself (`/proc`)
 * and the non-pid entries (`/proc/sys/fs/binfmt_misc`) are not process entries and are left out.
 */
export function mountsOverProcEntries(entries: readonly MountEntry[], procMount = '/proc'): Map<number, MountEntry[]> {
  const prefix = procMount.endsWith('/') ? procMount : `${procMount}/`;
  const byPid = new Map<number, MountEntry[]>();
  for (const entry of entries) {
    if (!entry.mountPoint.startsWith(prefix)) continue;
    const match = /^([1-9][0-9]*)(?:\/|$)/.exec(entry.mountPoint.slice(prefix.length));
    if (match === null) continue;
    const pid = Number(match[1]);
    const list = byPid.get(pid);
    if (list === undefined) byPid.set(pid, [entry]);
    else list.push(entry);
  }
  return byPid;
}

/**
 * One mount as a reader sees it: `/proc/4242 covered by /tmp/empty of /dev/sda1 (ext4, mount 812)`, its paths
 * and names in the one text form (escapeBytes): a FUSE mount's source and mount point are a user's choice.
 */
export function describeMount(entry: MountEntry): string {
  return escapeLatin1(`${entry.mountPoint} covered by ${entry.root} of ${entry.source} (${entry.fsType}, mount ${entry.mountId})`);
}
