// process_open_sockets and listening_ports: the socket inodes each process holds (/proc/PID/fd links
// `socket:[N]`) joined with the kernel's socket tables of its network namespace (/proc/PID/net/*, proc(5)),
// each namespace's files read once; /proc/net/unix checked against the others (unix-sockets.ts). The
// parsers are pure (text in, rows out) and tested on fixture text.
import {readlinkSync} from 'node:fs';
import {endianness} from 'node:os';

import type {CollectedRow, ListeningPortRow, ProcessOpenSocketRow} from '../models/live-tables.js';
import {type FdLink, readFdLinks} from './fds.js';
import {errorCode, isGone, readProcLines, readProcText} from './proc-read.js';
import {certainInodes, doubtfulInodes, parseUnixTable, resolveUnixTable, type UnixTable, type UnixVerdict} from './unix-sockets.js';

/** What the kernel's socket tables say about one socket inode. */
export interface SocketInfo {
  readonly inode: number;
  readonly family: ProcessOpenSocketRow['family'];
  readonly protocol: number | null;
  readonly socket_type: ProcessOpenSocketRow['socket_type'];
  readonly local_address: string | null;
  readonly local_port: number | null;
  readonly remote_address: string | null;
  readonly remote_port: number | null;
  readonly state: string | null;
  readonly path: string | null;
}

/** TCP states by the hex code /proc/net/tcp prints (include/net/tcp_states.h). */
const TCP_STATES: Readonly<Record<number, string>> = {
  1: 'ESTABLISHED',
  2: 'SYN_SENT',
  3: 'SYN_RECV',
  4: 'FIN_WAIT1',
  5: 'FIN_WAIT2',
  6: 'TIME_WAIT',
  7: 'CLOSE',
  8: 'CLOSE_WAIT',
  9: 'LAST_ACK',
  10: 'LISTEN',
  11: 'CLOSING',
  12: 'NEW_SYN_RECV',
};

const HOST_LITTLE_ENDIAN = endianness() === 'LE';

/**
 * The 4 bytes of one 32-bit word as /proc/net prints it: `%08X` of the word read in host byte order, so on
 * a little-endian host `0100007F` is 127.0.0.1.
 */
function wordBytes(hex: string, littleEndian: boolean): number[] {
  const value = Number.parseInt(hex, 16);
  const bytes = [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
  return littleEndian ? bytes.reverse() : bytes;
}

/**
 * IPv6 text in RFC 5952 form: lower-case hex, leading zeros dropped, the longest run of two or more zero
 * groups (the first such run on a tie) as `::`, and IPv4-mapped addresses as `::ffff:a.b.c.d` (section 5).
 */
export function formatIpv6(bytes: readonly number[]): string {
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `::ffff:${bytes.slice(12).join('.')}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** `0100007F:1F90` (IPv4) or 32 hex digits and a port (IPv6) → address text and port number. */
export function parseInetAddress(text: string, littleEndian = HOST_LITTLE_ENDIAN): {address: string; port: number} | null {
  const colon = text.indexOf(':');
  if (colon === -1) return null;
  const hex = text.slice(0, colon);
  const port = Number.parseInt(text.slice(colon + 1), 16);
  if (!Number.isInteger(port) || !/^[0-9A-Fa-f]+$/.test(hex)) return null;
  if (hex.length === 8) return {address: wordBytes(hex, littleEndian).join('.'), port};
  if (hex.length === 32) {
    const bytes: number[] = [];
    for (let i = 0; i < 32; i += 8) bytes.push(...wordBytes(hex.slice(i, i + 8), littleEndian));
    return {address: formatIpv6(bytes), port};
  }
  return null;
}

export type InetKind = 'tcp' | 'udp' | 'raw' | 'icmp' | 'udplite';

/**
 * /proc/net/{tcp,tcp6,udp,udp6,raw,raw6,icmp,icmp6,udplite,udplite6}: one row per socket after the header
 * line. Fields (proc(5)): sl, local_address, rem_address, st, tx_queue:rx_queue, tr:tm->when, retrnsmt, uid,
 * timeout, inode. For raw sockets the local "port" is the IP protocol number; for ICMP ("ping") sockets it is
 * the echo identifier. Malformed lines are skipped.
 */
export function parseInetSockets(text: string, kind: InetKind, littleEndian = HOST_LITTLE_ENDIAN): SocketInfo[] {
  const sockets: SocketInfo[] = [];
  for (const {fields, inode} of netTableRows(text, 10, 9)) {
    const local = parseInetAddress(fields[1] as string, littleEndian);
    const remote = parseInetAddress(fields[2] as string, littleEndian);
    const stateCode = Number.parseInt(fields[3] as string, 16);
    if (local === null || remote === null) continue;
    const v6 = (fields[1] as string).indexOf(':') === 32;
    const state =
      kind === 'tcp' ? (TCP_STATES[stateCode] ?? null) : stateCode === 1 ? 'ESTABLISHED' : stateCode === 7 ? 'UNCONN' : (TCP_STATES[stateCode] ?? null);
    const protocol = {tcp: 6, udp: 17, udplite: 136, icmp: v6 ? 58 : 1, raw: local.port}[kind];
    sockets.push({
      inode,
      family: v6 ? 'AF_INET6' : 'AF_INET',
      protocol,
      socket_type: kind === 'tcp' ? 'STREAM' : kind === 'raw' ? 'RAW' : 'DGRAM',
      local_address: local.address,
      local_port: kind === 'raw' ? 0 : local.port,
      remote_address: remote.address,
      remote_port: kind === 'raw' ? 0 : remote.port,
      state,
      path: null,
    });
  }
  return sockets;
}

/** The columns a socket of a family without addresses and ports (packet, netlink) leaves empty. */
const NO_ENDPOINTS = {local_port: null, remote_address: null, remote_port: null, state: null, path: null} as const;

/** /proc/net/packet: sk, RefCnt, Type (SOCK_RAW 3, SOCK_DGRAM 2), Proto (EtherType, hex), Iface (index), R, Rmem, User, Inode. */
export function parsePacketSockets(text: string): SocketInfo[] {
  return netTableRows(text, 9, 8).map(({fields, inode}) => {
    const type = Number(fields[2]);
    return {
      ...NO_ENDPOINTS,
      inode,
      family: 'AF_PACKET',
      protocol: Number.parseInt(fields[3] as string, 16),
      socket_type: type === 3 ? 'RAW' : type === 2 ? 'DGRAM' : null,
      local_address: fields[4] ?? null,
    };
  });
}

/** /proc/net/netlink: sk, Eth (the netlink protocol), Pid, Groups, Rmem, Wmem, Dump, Locks, Drops, Inode. */
export function parseNetlinkSockets(text: string): SocketInfo[] {
  return netTableRows(text, 10, 9).map(({fields, inode}) => ({
    ...NO_ENDPOINTS,
    inode,
    family: 'AF_NETLINK',
    protocol: Number(fields[1]),
    socket_type: 'DGRAM',
    local_address: null,
  }));
}

/**
 * The rows of a /proc/net socket table: a header line, then whitespace-separated fields; rows with fewer
 * than `minFields` fields or no integer socket inode in field `inodeField` are skipped (malformed).
 */
function netTableRows(text: string, minFields: number, inodeField: number): {readonly fields: readonly string[]; readonly inode: number}[] {
  const rows: {fields: string[]; inode: number}[] = [];
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const fields = (lines[i] as string).trim().split(/\s+/);
    if (fields.length < minFields) continue;
    const inode = Number(fields[inodeField]);
    if (Number.isSafeInteger(inode)) rows.push({fields, inode});
  }
  return rows;
}

/**
 * The socket tables one namespace's /proc/PID/net holds that carry no text a process chose (numbers and
 * addresses only), and the parser of each. /proc/net/unix, whose paths are a process's choice, is read
 * apart (unix-sockets.ts) and checked against these.
 */
export const NET_FILES: readonly {readonly file: string; readonly parse: (text: string) => SocketInfo[]}[] = [
  {file: 'tcp', parse: (t) => parseInetSockets(t, 'tcp')},
  {file: 'tcp6', parse: (t) => parseInetSockets(t, 'tcp')},
  {file: 'udp', parse: (t) => parseInetSockets(t, 'udp')},
  {file: 'udp6', parse: (t) => parseInetSockets(t, 'udp')},
  {file: 'raw', parse: (t) => parseInetSockets(t, 'raw')},
  {file: 'raw6', parse: (t) => parseInetSockets(t, 'raw')},
  {file: 'icmp', parse: (t) => parseInetSockets(t, 'icmp')},
  {file: 'icmp6', parse: (t) => parseInetSockets(t, 'icmp')},
  {file: 'udplite', parse: (t) => parseInetSockets(t, 'udplite')},
  {file: 'udplite6', parse: (t) => parseInetSockets(t, 'udplite')},
  {file: 'packet', parse: parsePacketSockets},
  {file: 'netlink', parse: parseNetlinkSockets},
];

/** `socket:[12345]` → 12345; anything else → null. */
export function socketInode(target: string): number | null {
  if (!target.startsWith('socket:[') || !target.endsWith(']')) return null;
  const inode = Number(target.slice(8, -1));
  return Number.isSafeInteger(inode) ? inode : null;
}

/** Socket inode → what the kernel says about it, with the namespace it was found in. */
export type SocketIndex = Map<number, SocketInfo & {readonly net_ns: number | null}>;

/** What readSocketIndex read: the sockets of the path-free tables, and each namespace's /proc/net/unix. */
export interface SocketTables {
  /** Sockets of the path-free tables (NET_FILES); resolveUnixSockets adds the AF_UNIX ones. */
  readonly index: SocketIndex;
  readonly unix: readonly {readonly netNs: number | null; readonly table: UnixTable}[];
  /** Namespaces none of whose pids could be read (gone or refused). */
  readonly unreadable: number;
  /** Tables read only to their first `read` lines (readSocketIndex's `maxLines`), by namespace and file. */
  readonly cut: readonly {readonly netNs: number | null; readonly file: string; readonly read: number}[];
}

/**
 * Read the socket tables of each network namespace once, through the first pid of that namespace that is
 * still there: the path-free tables into the index, /proc/net/unix (as bytes) split on the kernel's layout
 * for resolveUnixSockets. Each table is read to its first `maxLines` lines at most (the header included):
 * anyone can hold as many sockets as their fds allow, and a table's sockets are listed in the kernel's hash
 * order, not by process; a table cut short is listed in `cut`.
 */
export function readSocketIndex(
  procRoot: string,
  pidsByNamespace: ReadonlyMap<number | null, readonly number[]>,
  maxLines = Number.POSITIVE_INFINITY,
): SocketTables {
  const index: SocketIndex = new Map();
  const unix: {netNs: number | null; table: UnixTable}[] = [];
  const cut: {netNs: number | null; file: string; read: number}[] = [];
  let unreadable = 0;
  for (const [netNs, pids] of pidsByNamespace) {
    let done = false;
    for (const pid of pids) {
      let readAny = false;
      for (const {file, parse} of [...NET_FILES, {file: 'unix', parse: null}]) {
        let text: string;
        try {
          const path = `${procRoot}/${pid}/net/${file}`;
          if (maxLines === Number.POSITIVE_INFINITY) {
            text = readProcText(path, parse === null ? 'latin1' : 'utf8');
          } else {
            // latin1: the path-free tables are ASCII, read the same either way.
            const read = readProcLines(path, maxLines);
            text = read.text;
            if (read.more) cut.push({netNs, file, read: read.lines});
          }
        } catch (error) {
          // A file the kernel lacks (no IPv6, no packet sockets) is just empty; a gone pid means try the next.
          if (isGone(errorCode(error)) && !readAny && file === 'tcp') break;
          continue;
        }
        readAny = true;
        if (parse === null) unix.push({netNs, table: parseUnixTable(text)});
        else for (const socket of parse(text)) if (!index.has(socket.inode)) index.set(socket.inode, {...socket, net_ns: netNs});
      }
      if (readAny) {
        done = true;
        break;
      }
    }
    if (!done) unreadable++;
  }
  return {index, unix, unreadable, cut};
}

/** The inodes whose fdinfo may settle a doubtful /proc/net/unix line (not already settled by the tables). */
export function unixInodesToVerify(tables: SocketTables): Set<number> {
  const certain = new Set(tables.unix.flatMap(({table}) => certainInodes(table)));
  const open = new Set<number>();
  for (const {table} of tables.unix) {
    for (const inode of doubtfulInodes(table)) if (!tables.index.has(inode) && !certain.has(inode)) open.add(inode);
  }
  return open;
}

/**
 * Add each namespace's AF_UNIX sockets to the index (resolveUnixTable): a line proven forged is dropped and
 * read as part of the path it sits in. `verdict` is the fd's own view of a socket (fdinfo), asked for the
 * inodes of unixInodesToVerify. Returns how many lines were forged and how many inodes stayed ambiguous.
 */
export function resolveUnixSockets(tables: SocketTables, verdict: (inode: number) => UnixVerdict): {forged: number; ambiguous: number} {
  const certain = new Set(tables.unix.flatMap(({table}) => certainInodes(table)));
  const listedElsewhere = (inode: number): boolean => {
    const known = tables.index.get(inode);
    return known !== undefined && known.family !== 'AF_UNIX';
  };
  let forged = 0;
  let ambiguous = 0;
  for (const {netNs, table} of tables.unix) {
    const resolved = resolveUnixTable(table, {listedElsewhere, certain, verdict});
    forged += resolved.forged;
    ambiguous += resolved.ambiguous;
    for (const socket of resolved.sockets) if (!tables.index.has(socket.inode)) tables.index.set(socket.inode, {...socket, net_ns: netNs});
  }
  return {forged, ambiguous};
}

/**
 * The fd's own word on whether a socket is AF_UNIX: since Linux 5.7 the kernel adds a `scm_fds:` line to
 * /proc/PID/fdinfo/FD of an AF_UNIX socket and of no other family (unix_show_fdinfo). Asked for the inodes of
 * unixInodesToVerify through one fd that holds each, after a probe on an AF_UNIX socket no line can have
 * forged shows that this kernel writes the line; on an older kernel, or without a readable holder, the
 * answer is `unknown` and the line stands.
 */
export function fdinfoVerdicts(procRoot: string, tables: SocketTables, fdsOf: ReadonlyMap<number, readonly FdLink[]>): (inode: number) => UnixVerdict {
  const wanted = unixInodesToVerify(tables);
  if (wanted.size === 0) return () => 'unknown';
  const certain = new Set(tables.unix.flatMap(({table}) => certainInodes(table)));
  const holders = new Map<number, {path: string; inode: number}>();
  const probes: {path: string; inode: number}[] = [];
  for (const [pid, fds] of fdsOf) {
    for (const {fd, target} of fds) {
      const inode = socketInode(target);
      if (inode === null) continue;
      const at = {path: `${procRoot}/${pid}/fdinfo/${fd}`, inode};
      if (wanted.has(inode) && !holders.has(inode)) holders.set(inode, at);
      else if (probes.length < 3 && certain.has(inode) && !tables.index.has(inode)) probes.push(at);
    }
  }
  const says = ({path, inode}: {path: string; inode: number}): UnixVerdict => {
    let text: string;
    try {
      text = readProcText(path);
    } catch {
      return 'unknown';
    }
    // The fd may have been closed and its number reused since its link was read: `ino:` names the file.
    const ino = /^ino:\s*(\d+)$/m.exec(text);
    if (ino !== null && Number(ino[1]) !== inode) return 'unknown';
    return /^scm_fds:/m.test(text) ? 'unix' : 'other';
  };
  const kernelWritesIt = probes.some((probe) => says(probe) === 'unix');
  const verdicts = new Map<number, UnixVerdict>();
  return (inode) => {
    if (!kernelWritesIt) return 'unknown';
    let verdict = verdicts.get(inode);
    if (verdict === undefined) {
      const holder = holders.get(inode);
      verdict = holder === undefined ? 'unknown' : says(holder);
      verdicts.set(inode, verdict);
    }
    return verdict;
  };
}

/** One process's socket rows from its fd links (fd, `socket:[N]` target) and the index. */
export function socketRows(
  pid: number,
  fds: readonly {fd: number; target: string}[],
  index: SocketIndex,
  netNs: number | null,
): CollectedRow<ProcessOpenSocketRow>[] {
  const rows: CollectedRow<ProcessOpenSocketRow>[] = [];
  for (const {fd, target} of fds) {
    const inode = socketInode(target);
    if (inode === null) continue;
    const info = index.get(inode);
    rows.push({
      pid,
      fd,
      socket: inode,
      family: info?.family ?? null,
      protocol: info?.protocol ?? null,
      socket_type: info?.socket_type ?? null,
      local_address: info?.local_address ?? null,
      local_port: info?.local_port ?? null,
      remote_address: info?.remote_address ?? null,
      remote_port: info?.remote_port ?? null,
      state: info?.state ?? null,
      path: info?.path ?? null,
      net_ns: info?.net_ns ?? netNs,
    });
  }
  return rows;
}

/** listening_ports from socket rows: TCP in LISTEN, and UDP bound to a port and not connected. */
export function listeningRows(sockets: readonly CollectedRow<ProcessOpenSocketRow>[]): CollectedRow<ListeningPortRow>[] {
  const rows: CollectedRow<ListeningPortRow>[] = [];
  for (const s of sockets) {
    if (s.family !== 'AF_INET' && s.family !== 'AF_INET6') continue;
    const listening = (s.protocol === 6 && s.state === 'LISTEN') || (s.protocol === 17 && s.state === 'UNCONN' && (s.local_port ?? 0) > 0);
    if (!listening || s.socket_type === 'RAW') continue;
    rows.push({
      pid: s.pid,
      fd: s.fd,
      socket: s.socket,
      family: s.family,
      protocol: s.protocol as number,
      address: s.local_address ?? '',
      port: s.local_port ?? 0,
      net_ns: s.net_ns,
    });
  }
  return rows;
}

/**
 * The sockets one process holds, by fd number: its network namespace's tables read and its AF_UNIX lines
 * settled exactly as a scan settles them (readSocketIndex, resolveUnixSockets with the fd's own fdinfo). An fd
 * whose inode no table lists is absent. Empty when the process is gone or its fds cannot be read.
 */
export function socketsOfProcess(procRoot: string, pid: number): Map<number, SocketInfo> {
  const listing = readFdLinks(procRoot, pid);
  if (typeof listing === 'string') return new Map();
  const fds = listing.links;
  let netNs: number | null = null;
  try {
    const inode = /\[(\d+)\]$/.exec(readlinkSync(`${procRoot}/${pid}/ns/net`))?.[1];
    netNs = inode === undefined ? null : Number(inode);
  } catch {
    netNs = null;
  }
  const tables = readSocketIndex(procRoot, new Map([[netNs, [pid]]]));
  resolveUnixSockets(tables, fdinfoVerdicts(procRoot, tables, new Map([[pid, fds]])));
  const sockets = new Map<number, SocketInfo>();
  for (const {fd, target} of fds) {
    const inode = socketInode(target);
    const known = inode === null ? undefined : tables.index.get(inode);
    if (known !== undefined) {
      const {net_ns: _ns, ...info} = known;
      sockets.set(fd, info);
    }
  }
  return sockets;
}
