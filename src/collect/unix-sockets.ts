// /proc/net/unix read so that a socket's path cannot forge a line. The kernel prints each socket as a
// fixed-layout header and the bound path raw, newlines included (net/unix/af_unix.c unix_seq_show), so a
// socket bound to `x\n<a line of the same layout>` adds a line that claims any inode it names. The text is
// split on the kernel's exact layout; a line that could lie inside the path before it (a path is at most 108
// bytes) is doubtful, and a doubtful line is dropped as forged when the inode it claims is known to be
// something else: listed by a socket table that carries no path (tcp, udp, raw, packet, netlink, …), claimed
// by a line that cannot be forged, or not an AF_UNIX socket by its fd's own /proc/PID/fdinfo. A forged line is
// text of the path it sits in, so that path is reported whole.
import type {SocketInfo} from './sockets.js';
import {escapeLatin1} from './text-encoding.js';

/** sizeof(sun_path): a path, or an abstract name with its leading `@`, is at most this many bytes. */
export const UNIX_PATH_MAX = 108;

const UNIX_TYPES: Readonly<Record<number, SocketInfo['socket_type']>> = {1: 'STREAM', 2: 'DGRAM', 5: 'SEQPACKET'};
/** __SO_ACCEPTCON in the Flags column: the socket is listening. */
const SO_ACCEPTCON = 0x10000;

/** One line of /proc/net/unix in the kernel's layout (it may still be forged). */
interface UnixLine {
  readonly inode: number;
  readonly flags: number;
  readonly type: number;
  readonly st: number;
  /** Offsets in the text (latin1, so one per byte): the line's start, its end (the newline or the end of text). */
  readonly lineStart: number;
  readonly lineEnd: number;
  /** Where the path starts (after `inode `), null for an unbound socket (the line ends at the inode). */
  readonly pathStart: number | null;
  /** It could lie inside the path of a line before it. */
  readonly doubtful: boolean;
}

/** /proc/net/unix split on the kernel's layout (parseUnixTable). */
export interface UnixTable {
  /** The file's bytes, one latin1 character per byte. */
  readonly text: string;
  readonly lines: readonly UnixLine[];
}

/**
 * `%pK: %08X %08X %08X %04X %02X %5lu` and, for a bound socket, ` path`: pointer, RefCount, Protocol (always
 * 0), Flags (0 or __SO_ACCEPTCON), Type (1, 2, 5), St (SS_UNCONNECTED … SS_DISCONNECTING, 1–4), Inode
 * right-aligned in 5 columns. `%pK` is 8 or 16 lower-case hex digits (hashed, zeroed or raw by
 * kptr_restrict): the width of the first line, which nothing can precede, is every line's.
 */
function layout(pointerDigits: number): RegExp {
  return new RegExp(`^[0-9a-f]{${pointerDigits}}: [0-9A-F]{8} 00000000 000[01]0000 000[125] 0[1-4] ( {0,4})(\\d+)(?: |$)`);
}

/**
 * Split /proc/net/unix (bytes read as latin1) into the lines that have the kernel's layout, each with its
 * offsets; every other line is text of the path before it. Never throws; a file without the header or any
 * line of the layout gives no lines.
 */
export function parseUnixTable(text: string): UnixTable {
  const lines: UnixLine[] = [];
  const headerEnd = text.indexOf('\n');
  if (headerEnd < 0) return {text, lines};
  const first = /^([0-9a-f]+): /.exec(text.slice(headerEnd + 1, headerEnd + 40));
  const digits = first?.[1]?.length;
  if (digits !== 8 && digits !== 16) return {text, lines};
  const pattern = layout(digits);
  for (let start = headerEnd + 1; start < text.length;) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const match = pattern.exec(text.slice(start, Math.min(end, start + 80)));
    const digitsOfInode = match?.[2]?.length ?? 0;
    // %5lu pads to five columns: exactly 5 - digits spaces before a short inode, none before a long one.
    if (match !== null && (match[1] as string).length === Math.max(0, 5 - digitsOfInode)) {
      const afterInode = start + match[0].length - (match[0].endsWith(' ') ? 1 : 0);
      const at = start + digits + 2;
      const field = (from: number, length: number): number => Number.parseInt(text.slice(at + from, at + from + length), 16);
      const lineEnd = end;
      let doubtful = false;
      for (let i = lines.length - 1; i >= 0; i--) {
        const before = lines[i] as UnixLine;
        if (lineEnd - before.lineEnd > UNIX_PATH_MAX) break;
        if (before.pathStart !== null && lineEnd - before.pathStart <= UNIX_PATH_MAX) {
          doubtful = true;
          break;
        }
      }
      lines.push({
        inode: Number(match[2]),
        flags: field(18, 8),
        type: field(27, 4),
        st: field(32, 2),
        lineStart: start,
        lineEnd,
        pathStart: afterInode < end ? afterInode + 1 : null,
        doubtful,
      });
    }
    start = end + 1;
  }
  return {text, lines};
}

/** What the fd holding a socket says of it: AF_UNIX, another family, or nothing known. */
export type UnixVerdict = 'unix' | 'other' | 'unknown';

export interface UnixEvidence {
  /** The inode is listed by a socket table without paths (so it is no AF_UNIX socket). */
  readonly listedElsewhere: (inode: number) => boolean;
  /** Inodes claimed by lines that cannot be forged, in any network namespace's /proc/net/unix. */
  readonly certain: ReadonlySet<number>;
  /** The fd's own view (fdinfo); asked only for doubtful lines the cheaper evidence leaves open. */
  readonly verdict: (inode: number) => UnixVerdict;
}

export interface UnixResolution {
  readonly sockets: SocketInfo[];
  /** Lines dropped as forged (text of the path before them). */
  readonly forged: number;
  /** Inodes claimed by two doubtful lines that nothing tells apart: their path and state are left unknown. */
  readonly ambiguous: number;
}

/** The inodes of a table's doubtful lines (those whose fds' fdinfo may be asked). */
export function doubtfulInodes(table: UnixTable): number[] {
  return table.lines.filter((line) => line.doubtful).map((line) => line.inode);
}

/** The inodes of a table's lines that cannot be forged. */
export function certainInodes(table: UnixTable): number[] {
  return table.lines.filter((line) => !line.doubtful).map((line) => line.inode);
}

function stateOf(line: UnixLine): string {
  if ((line.flags & SO_ACCEPTCON) !== 0) return 'LISTEN';
  return line.st === 3 ? 'ESTABLISHED' : line.st === 1 ? 'UNCONN' : line.st === 2 ? 'CONNECTING' : 'DISCONNECTING';
}

/**
 * The sockets of a parsed /proc/net/unix: doubtful lines proven forged are dropped and their text joins the
 * path they sit in; every other line is a socket whose path runs to the line of the next one. Two doubtful
 * lines of one inode that no evidence separates keep the inode as AF_UNIX with only what they agree on.
 * Paths are in the one text form (escapeBytes; the kernel prints the NUL bytes of an abstract name as `@`).
 */
export function resolveUnixTable(table: UnixTable, evidence: UnixEvidence): UnixResolution {
  const {text, lines} = table;
  const kept: UnixLine[] = [];
  let forged = 0;
  for (const line of lines) {
    const isForged = line.doubtful && (evidence.listedElsewhere(line.inode) || evidence.certain.has(line.inode) || evidence.verdict(line.inode) === 'other');
    if (isForged) forged++;
    else kept.push(line);
  }
  const byInode = new Map<number, SocketInfo>();
  const ambiguous = new Set<number>();
  kept.forEach((line, i) => {
    const next = kept[i + 1];
    // The path runs to the newline before the next socket's line (the file's last newline for the last one).
    let pathEnd = next === undefined ? text.length : next.lineStart - 1;
    if (next === undefined && text.endsWith('\n')) pathEnd = text.length - 1;
    const path = line.pathStart === null ? null : escapeLatin1(text.slice(line.pathStart, Math.max(line.pathStart, pathEnd)));
    const socket: SocketInfo = {
      inode: line.inode,
      family: 'AF_UNIX',
      protocol: 0,
      socket_type: UNIX_TYPES[line.type] ?? null,
      local_address: null,
      local_port: null,
      remote_address: null,
      remote_port: null,
      state: stateOf(line),
      path: path === '' ? null : path,
    };
    const seen = byInode.get(line.inode);
    if (seen === undefined) {
      byInode.set(line.inode, socket);
      return;
    }
    // Two lines for one inode that nothing proved forged: keep only what both say.
    ambiguous.add(line.inode);
    byInode.set(line.inode, {
      ...seen,
      socket_type: seen.socket_type === socket.socket_type ? seen.socket_type : null,
      state: seen.state === socket.state ? seen.state : null,
      path: seen.path === socket.path ? seen.path : null,
    });
  });
  return {sockets: [...byInode.values()], forged, ambiguous: ambiguous.size};
}
