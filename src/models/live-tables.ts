// The live-response tables (osquery's names and columns where osquery has them): what each process is
// connected to and listens on, what it maps, part of its environment and its open files. Each is one entry
// of LIVE_TABLE_SCHEMAS: its zod schema, docs, indexes, test-case defaults and the /proc source it is read
// from. tables.ts turns each into a registry entry; src/collect/live-tables.ts binds each to its collector
// (one line, checked by the compiler) and fills the tables of each source from one read per process.
import {z} from 'zod';

import type {ColumnRedaction} from '../redaction/redact.js';

const scanId = z.int().describe('Scan this row belongs to (`scans.id`, `processes.scan_id`)');
const pid = z.int().nonnegative().describe('Process ID (join with `processes.pid` of the same scan)');

export const SOCKET_FAMILIES = ['AF_INET', 'AF_INET6', 'AF_UNIX', 'AF_PACKET', 'AF_NETLINK'] as const;
export const OPEN_FILE_TYPES = ['file', 'directory', 'pipe', 'fifo', 'pty_master', 'pty', 'character', 'block', 'anon_inode', 'other'] as const;

export const ProcessOpenSocketSchema = z
  .object({
    scan_id: scanId,
    pid,
    fd: z.int().nonnegative().describe('File descriptor number holding the socket'),
    socket: z.int().nonnegative().describe('Socket inode (the `N` of `socket:[N]`; `ss -e` shows it as `ino:N`)'),
    family: z
      .enum(SOCKET_FAMILIES)
      .nullable()
      .describe('Address family; null for a family DaemonEye does not decode (vsock, bluetooth, …) or a socket no /proc/net file lists'),
    protocol: z
      .int()
      .nullable()
      .describe(
        'IP protocol number (6 TCP, 17 UDP, 136 UDP-Lite, 1 or 58 for ICMP "ping" sockets, the raw protocol for raw sockets), the EtherType for AF_PACKET, the netlink protocol, 0 for AF_UNIX',
      ),
    socket_type: z.enum(['STREAM', 'DGRAM', 'RAW', 'SEQPACKET']).nullable().describe('Socket type (SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET)'),
    local_address: z
      .string()
      .nullable()
      .describe('Local IP address (IPv6 in RFC 5952 form, IPv4-mapped as `::ffff:a.b.c.d`); the interface index for AF_PACKET; null otherwise'),
    local_port: z.int().nullable().describe('Local port (0 when unbound); null for families without ports'),
    remote_address: z.string().nullable().describe('Remote IP address (`0.0.0.0` or `::` when not connected)'),
    remote_port: z.int().nullable().describe('Remote port (0 when not connected)'),
    state: z
      .string()
      .nullable()
      .describe(
        'TCP state (ESTABLISHED, LISTEN, SYN_SENT, TIME_WAIT, CLOSE_WAIT, …); UNCONN or ESTABLISHED for UDP and raw; LISTEN, ESTABLISHED or UNCONN for AF_UNIX',
      ),
    path: z
      .string()
      .nullable()
      .describe(
        'AF_UNIX: the bound name as the kernel has it, in the one text form of every table, whole (newlines and all 108 bytes); abstract names start with `@` (and show NUL bytes as `@`); a name bound relative to a directory stays relative; null when unbound, unknown, or another family',
      ),
    net_ns: z.int().nullable().describe('Network namespace inode the socket was found in'),
  })
  .strict();

export const ListeningPortSchema = z
  .object({
    scan_id: scanId,
    pid,
    fd: z.int().nonnegative().describe('File descriptor number holding the socket'),
    socket: z.int().nonnegative().describe('Socket inode'),
    family: z.enum(['AF_INET', 'AF_INET6']).describe('Address family'),
    protocol: z.int().describe('6 TCP (a socket in LISTEN), 17 UDP (a bound, unconnected socket)'),
    address: z.string().describe('Address listened on (`0.0.0.0` or `::` for every address)'),
    port: z.int().nonnegative().describe('Port listened on'),
    net_ns: z.int().nullable().describe('Network namespace inode'),
  })
  .strict();

export const ProcessMemoryMapSchema = z
  .object({
    scan_id: scanId,
    pid,
    start: z.string().describe('Start address, `0x` and lower-case hex (64-bit addresses do not fit a JSON number)'),
    end: z.string().describe('End address (exclusive), `0x` and lower-case hex'),
    permissions: z.string().describe('`r`, `w`, `x` or `-`, then `p` (private) or `s` (shared), as in /proc/PID/maps'),
    offset: z.int().nonnegative().describe('Offset into the mapped file, bytes'),
    device: z.string().describe('Device of the mapped file, `major:minor` in hex (`00:00` for anonymous memory)'),
    inode: z.int().nonnegative().describe('Inode of the mapped file, 0 for anonymous memory'),
    path: z
      .string()
      .nullable()
      .describe(
        "Mapped file, its exact bytes in the one text form (the kernel's `\\012` is a newline again; without its ` (deleted)` marker; a file really named so keeps its name), a pseudo path (`[heap]`, `[stack]`, `[vdso]`, …), or null for anonymous memory",
      ),
    pseudo: z.boolean().describe('The path is a kernel pseudo path in brackets (`[heap]`, `[stack]`, `[vdso]`, `[vvar]`, `[anon:…]`), not a file'),
    deleted: z
      .boolean()
      .describe('The mapped file was unlinked after it was mapped (its path ends in ` (deleted)` in /proc/PID/maps and no file of that full name is this one)'),
  })
  .strict();

export const ProcessLibrarySchema = z
  .object({
    scan_id: scanId,
    pid,
    path: z
      .string()
      .describe(
        "The file, in the same text as `process_memory_map.path` (without the kernel's ` (deleted)` marker; a file really named so keeps its name): the program itself, the dynamic loader, a shared library, or a memfd (`/memfd:NAME`)",
      ),
    device: z.string().describe('Device of the file, `major:minor` in hex, as in /proc/PID/maps'),
    inode: z.int().positive().describe('Inode of the file'),
    start: z.string().describe("Lowest start address of the file's executable mappings, `0x` and lower-case hex"),
    end: z.string().describe("Highest end address (exclusive) of the file's executable mappings, `0x` and lower-case hex"),
    deleted: z.boolean().describe('The file was unlinked after it was mapped (a payload deleted after loading, or a package upgrade that replaced it)'),
  })
  .strict();

export const ProcessEnvSchema = z
  .object({
    scan_id: scanId,
    pid,
    key: z.string().describe('Variable name (only those named in `collection.env_variables`)'),
    value: z
      .string()
      .describe('Value from the initial environment (/proc/PID/environ), in the one text form of every table; secret-looking values are `[REDACTED]`'),
  })
  .strict();

export const ProcessOpenFileSchema = z
  .object({
    scan_id: scanId,
    pid,
    fd: z.int().nonnegative().describe('File descriptor number'),
    path: z
      .string()
      .describe(
        "What the fd points at: a path, its exact bytes in the one text form (without the kernel's ` (deleted)` marker; a file really named so keeps its name), `pipe:[N]`, `anon_inode:[eventfd]`, …; sockets are in `process_open_sockets`",
      ),
    deleted: z.boolean().describe('The file was unlinked while open (the link ends in ` (deleted)`)'),
    type: z
      .enum(OPEN_FILE_TYPES)
      .nullable()
      .describe(
        'What the fd is: `file`, `directory`, `pipe` (anonymous), `fifo` (a named pipe), `pty_master` (`/dev/ptmx`), `pty` (a `/dev/pts/N` terminal), `character`, `block`, `anon_inode`, `other`; null when it could not be examined',
      ),
    inode: z.int().nonnegative().nullable().describe('Inode of the open file (the `N` of `pipe:[N]` for a pipe); null for anonymous inodes or when unknown'),
    pty_index: z
      .int()
      .nonnegative()
      .nullable()
      .describe(
        'For `pty` the terminal number (`/dev/pts/N`); for `pty_master` the number of the terminal it drives (`tty-index` in /proc/PID/fdinfo); null otherwise',
      ),
    access: z
      .enum(['r', 'w', 'rw'])
      .nullable()
      .describe(
        'How a pipe, FIFO or terminal is open (the access mode in /proc/PID/fdinfo): `r` the read end, `w` the write end, `rw` both; null for other types',
      ),
  })
  .strict();

export const ProcessFdPeerSchema = z
  .object({
    scan_id: scanId,
    pid,
    fd: z.int().nonnegative().describe('File descriptor of `pid` on the pipe, FIFO or terminal'),
    channel: z.enum(['pipe', 'fifo', 'pty']).describe('What joins the two processes: an anonymous pipe, a named pipe (FIFO), or a pseudo-terminal pair'),
    channel_id: z
      .int()
      .nonnegative()
      .describe('The pipe or FIFO inode, or the pseudo-terminal number: rows with the same channel and id are one pipe, FIFO or terminal'),
    access: z.enum(['r', 'w', 'rw']).nullable().describe("`pid`'s end: `r`, `w` or `rw` (a pty side is `rw`)"),
    peer_pid: z.int().nonnegative().describe('A process holding the other end (the write end of a pipe `pid` reads, the master of the terminal `pid` has, …)'),
    peer_fd: z.int().nonnegative().describe("The peer's file descriptor on it"),
    peer_access: z.enum(['r', 'w', 'rw']).nullable().describe("The peer's end"),
  })
  .strict();

export type ProcessOpenSocketRow = z.infer<typeof ProcessOpenSocketSchema>;
export type ListeningPortRow = z.infer<typeof ListeningPortSchema>;
export type ProcessMemoryMapRow = z.infer<typeof ProcessMemoryMapSchema>;
export type ProcessLibraryRow = z.infer<typeof ProcessLibrarySchema>;
export type ProcessEnvRow = z.infer<typeof ProcessEnvSchema>;
export type ProcessOpenFileRow = z.infer<typeof ProcessOpenFileSchema>;
export type ProcessFdPeerRow = z.infer<typeof ProcessFdPeerSchema>;

/** A row as a collector makes it: without `scan_id`, which storage stamps when it inserts the scan's rows. */
export type CollectedRow<Row> = Omit<Row, 'scan_id'>;

/**
 * The /proc sources live tables are read from. Live collection reads each source once per process for
 * every table that comes from it (src/collect/live-tables.ts):
 * - `fd`: the links of /proc/PID/fd (the socket tables join them with each network namespace's
 *   /proc/PID/net/* tables, read once per namespace);
 * - `environ`: /proc/PID/environ;
 * - `maps`: /proc/PID/maps.
 */
export const LIVE_TABLE_SOURCES = ['fd', 'environ', 'maps'] as const;
export type LiveTableSource = (typeof LIVE_TABLE_SOURCES)[number];

export interface LiveTableSchema {
  readonly schema: z.ZodObject;
  /** Where its rows come from (read once per process with every other table of the same source). */
  readonly source: LiveTableSource;
  /**
   * Collected as one flat array of SQL values (FlatTableRows in tables.ts) rather than an object per row:
   * for tables of tens of thousands of small rows (memory maps), where an object per row costs more than
   * reading the row from /proc.
   */
  readonly flat?: boolean;
  readonly description: string;
  readonly docIntro: string;
  readonly indexes: readonly string[];
  /** Values a rule test case's partial row gets for the columns it leaves out (`scan_id` is the case's). */
  readonly fixtureDefaults: Readonly<Record<string, unknown>>;
  /** Columns that may hold a secret and their kind (TableDefinition.redaction). */
  readonly redaction?: Readonly<Record<string, ColumnRedaction>>;
}

export const LIVE_TABLE_SCHEMAS = {
  process_open_sockets: {
    schema: ProcessOpenSocketSchema,
    source: 'fd',
    description: 'Sockets each process holds open, with addresses, ports and state.',
    docIntro:
      "One row per socket file descriptor per process: `/proc/PID/fd` links `socket:[inode]` joined with the network namespace's `/proc/PID/net/{tcp,tcp6,udp,udp6,raw,raw6,icmp,icmp6,udplite,udplite6,packet,netlink,unix}`, each read once per namespace; `/proc/net/unix`, whose paths a process chooses, is checked against the others so that a path cannot forge a line (docs/scan.md). Collected when a rule or query reads it, or by `scan --tables`.",
    indexes: ['pid', 'socket'],
    fixtureDefaults: {
      fd: 3,
      socket: 100_000,
      family: 'AF_INET',
      protocol: 6,
      socket_type: 'STREAM',
      local_address: '10.0.0.5',
      local_port: 40_000,
      remote_address: '203.0.113.7',
      remote_port: 443,
      state: 'ESTABLISHED',
      path: null,
      net_ns: 4026531840,
    },
  },
  listening_ports: {
    schema: ListeningPortSchema,
    source: 'fd',
    description: 'TCP sockets in LISTEN and bound, unconnected UDP sockets, with the process holding them.',
    docIntro:
      'One row per listening socket per process (a TCP socket in LISTEN, or a UDP socket bound to a port and not connected), derived from `process_open_sockets` in the same scan.',
    indexes: ['pid', 'port'],
    fixtureDefaults: {fd: 3, socket: 100_000, family: 'AF_INET', protocol: 6, address: '0.0.0.0', port: 8080, net_ns: 4026531840},
  },
  process_memory_map: {
    schema: ProcessMemoryMapSchema,
    source: 'maps',
    flat: true,
    description: 'Memory regions each process maps: libraries, executables, anonymous memory.',
    docIntro:
      'One row per line of `/proc/PID/maps`. Large (hundreds of rows per process): collected only when a rule or query reads it, or by `scan --tables process_memory_map` (or `all`).',
    indexes: ['pid'],
    fixtureDefaults: {
      start: '0x7f0000000000',
      end: '0x7f0000021000',
      permissions: 'r-xp',
      offset: 0,
      device: '08:01',
      inode: 1234,
      path: '/usr/lib/x86_64-linux-gnu/libc.so.6',
      pseudo: false,
      deleted: false,
    },
  },
  process_libraries: {
    schema: ProcessLibrarySchema,
    source: 'maps',
    description: 'Files each process maps executable: its program, the dynamic loader and its shared libraries.',
    docIntro:
      'One row per file per process with at least one executable (`x`) mapping in `/proc/PID/maps`: the code a process has loaded, what `lsof` lists as `txt` and `mem` and Sysmon calls an image load. Read from the same `/proc/PID/maps` as `process_memory_map` but several times smaller (3 rows for a `sleep` against its 37 mappings, 21 against 119 for a python process), so rules about loaded libraries read this table. Collected when a rule or query reads it, or by `scan --tables`.',
    indexes: ['pid'],
    fixtureDefaults: {
      path: '/usr/lib/x86_64-linux-gnu/libc.so.6',
      device: '08:01',
      inode: 1234,
      start: '0x7f0000000000',
      end: '0x7f0000021000',
      deleted: false,
    },
  },
  process_envs: {
    schema: ProcessEnvSchema,
    source: 'environ',
    description: "The environment variables named in `collection.env_variables` from each process's initial environment.",
    docIntro:
      'One row per variable per process, only for the names in `collection.env_variables` (default: the loader, shell-history, prompt, SSH, sudo, pkexec, gconv and PATH variables defenders look at). Needs root (or the same user) to read `/proc/PID/environ`; unreadable environments are counted, not errors.',
    indexes: ['pid', 'key'],
    fixtureDefaults: {key: 'PATH', value: '/usr/local/bin:/usr/bin:/bin'},
    redaction: {value: {envNameColumn: 'key'}},
  },
  process_open_files: {
    schema: ProcessOpenFileSchema,
    source: 'fd',
    description: 'File descriptors each process holds that are not sockets: files, devices, pipes, anonymous inodes.',
    docIntro:
      'One row per non-socket file descriptor per process (`/proc/PID/fd`): the link, what kind of file it is (a stat of the open file), and for pipes, FIFOs and terminals the access mode and terminal number from `/proc/PID/fdinfo/FD`.',
    indexes: ['pid'],
    fixtureDefaults: {fd: 3, path: '/var/log/app.log', deleted: false, type: 'file', inode: 4242, pty_index: null, access: null},
  },
  process_fd_peers: {
    schema: ProcessFdPeerSchema,
    source: 'fd',
    description: 'Which processes hold the other end of each pipe, FIFO and pseudo-terminal: the plumbing between processes.',
    docIntro:
      "One row per (process, fd, peer) for every pipe, FIFO and pseudo-terminal fd, resolved across all processes of the scan from `process_open_files`' facts: a pipe's or FIFO's peers hold the same inode at the other end (a reader's peers are its writers; an `rw` end pairs with every other), a terminal's peer holds its master (`/dev/ptmx` with the same `tty-index` in the same devpts instance) and the master's peers hold the terminal. So a shell whose stdin is `pipe:[N]` names the process writing into it, and a `/dev/pts/3` shell the relay behind its terminal (`sshd`, `script`, `socat … pty`, python's `pty.spawn`). A channel shared by more than 32 processes (a build's jobserver pipe) lists the first 32 peers by pid; one held by more than 16 fds (forks inheriting the same pipes) lists the peers of its stdio fds (0-2) only. Reads every process's fds, like `process_open_files`.",
    indexes: ['pid', 'peer_pid'],
    fixtureDefaults: {fd: 0, channel: 'pipe', channel_id: 90_000, access: 'r', peer_fd: 1, peer_access: 'w'},
  },
} as const satisfies Record<string, LiveTableSchema>;

export type LiveTableName = keyof typeof LIVE_TABLE_SCHEMAS;

/** The row type of a live table, as storage holds it (`scan_id` first). */
export type LiveTableRow<T extends LiveTableName> = z.infer<(typeof LIVE_TABLE_SCHEMAS)[T]['schema']>;

/**
 * The environment variables `process_envs` keeps by default: dynamic-linker hijacks (LD_*), shell-history
 * tampering (HIST*), prompt hooks, where an SSH, sudo or pkexec session came from, the gconv variables of the
 * pkexec exploit (GCONV_PATH, CHARSET), and PATH.
 */
export const DEFAULT_ENV_VARIABLES = [
  'LD_PRELOAD',
  'LD_LIBRARY_PATH',
  'LD_AUDIT',
  'LD_DEBUG',
  'LD_BIND_NOW',
  'HISTFILE',
  'HISTSIZE',
  'HISTFILESIZE',
  'HISTCONTROL',
  'HISTIGNORE',
  'PROMPT_COMMAND',
  'BASH_ENV',
  'ENV',
  'SSH_CONNECTION',
  'SSH_CLIENT',
  'SSH_TTY',
  'SUDO_USER',
  'SUDO_UID',
  'SUDO_COMMAND',
  'PKEXEC_UID',
  'GCONV_PATH',
  'CHARSET',
  'PATH',
  'PYTHONPATH',
  'NODE_OPTIONS',
  'PERL5OPT',
  'http_proxy',
  'https_proxy',
] as const;
