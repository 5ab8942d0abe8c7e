// Sigma logsource mappings as data: for each logsource a snapshot can answer (product and category), the
// table one event is a row of, how that row joins its process (and the process's parent), the conditions
// every event row meets, and which column or expression each Sigma field reads. The compiler (compile.ts)
// knows no table or field by name; a new logsource is one entry here. docs/sigma.md documents every entry.
// A field a mapping does not list refuses the rule by name, with the mapping's reason when it gives one
// (never silently matching nothing).

/**
 * What a field holds: `text` takes strings and the string modifiers; `integer` whole numbers and lt/gt;
 * `ip` an IP address as text (the string modifiers and `cidr`).
 */
export type SigmaFieldType = 'text' | 'integer' | 'ip';

export interface SigmaFieldMapping {
  /** The alias of the row it reads (one of the mapping's `from` or `joins`). */
  readonly row: string;
  /** SQL of the value over that row, `{row}` standing for its alias: `{row}.cmdline`. */
  readonly sql: string;
  readonly type: SigmaFieldType;
}

/** A row joined to the event row. */
export interface SigmaJoin {
  readonly table: string;
  readonly alias: string;
  /** `JOIN`: every event has this row; `LEFT JOIN`: it may be missing (its fields are then missing values). */
  readonly kind: 'JOIN' | 'LEFT JOIN';
  readonly on: string;
  /** Joined only when a field reads it (and its result columns are selected only then). */
  readonly whenUsed: boolean;
  /** Result columns it adds: `parent.cmdline AS parent_cmdline`. */
  readonly columns: readonly string[];
}

export interface SigmaLogsourceMapping {
  readonly product: string;
  readonly category: string;
  /** The table one event is a row of, and its alias. */
  readonly from: {readonly table: string; readonly alias: string};
  readonly joins: readonly SigmaJoin[];
  /** Conditions every event row meets (kernel threads out, sockets with a peer only), ANDed before the rule's. */
  readonly where: readonly string[];
  /** Result columns, always selected (the process's `pid` among them: alerts name processes by it). */
  readonly columns: readonly string[];
  /** The alias of the event's process row: `sigma_allow` matches its `cmdline`. */
  readonly process: string;
  /** Sigma's field names (case-sensitive, as SigmaHQ's taxonomy spells them). */
  readonly fields: Readonly<Record<string, SigmaFieldMapping>>;
  /** Fields of the logsource's taxonomy a snapshot cannot give, with the reason (named in the refusal). */
  readonly unanswerable: Readonly<Record<string, string>>;
}

const text = (row: string, column: string): SigmaFieldMapping => ({row, sql: `{row}.${column}`, type: 'text'});
const integer = (row: string, column: string): SigmaFieldMapping => ({row, sql: `{row}.${column}`, type: 'integer'});

/** The fields of a process and its parent, the same in every logsource whose events belong to a process (alias p). */
const PROCESS_FIELDS: Readonly<Record<string, SigmaFieldMapping>> = {
  Image: text('p', 'executable_path'),
  CommandLine: text('p', 'cmdline'),
  ParentImage: text('parent', 'executable_path'),
  ParentCommandLine: text('parent', 'cmdline'),
  User: text('p', 'user_name'),
  CurrentDirectory: text('p', 'cwd'),
  ProcessId: integer('p', 'pid'),
  ParentProcessId: integer('p', 'ppid'),
};

/** The columns every compiled rule returns about the process. */
const PROCESS_COLUMNS = ['p.pid', 'p.ppid', 'p.name', 'p.executable_path', 'p.cmdline', 'p.user_name', 'p.cwd'];

/** A process's parent: the row whose pid is its ppid in the same scan; missing when it exited or is 0. */
const PARENT_JOIN: SigmaJoin = {
  table: 'processes',
  alias: 'parent',
  kind: 'LEFT JOIN',
  on: 'parent.pid = p.ppid AND parent.scan_id = p.scan_id',
  whenUsed: true,
  columns: ['parent.executable_path AS parent_executable_path', 'parent.cmdline AS parent_cmdline'],
};

/** Kernel threads are never created by exec and hold no sockets: no event of these logsources describes one. */
const NOT_KERNEL_THREAD = 'coalesce(p.kernel_thread, 0) = 0';

/**
 * An address as Sigma's `SourceIp` / `DestinationIp` give it: an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`,
 * an IPv4 peer of a dual-stack socket) as its IPv4 address, anything else as the table writes it.
 */
const ipOf = (column: string): string => `(CASE WHEN {row}.${column} GLOB '::ffff:[0-9]*.*' THEN substr({row}.${column}, 8) ELSE {row}.${column} END)`;

/**
 * Who opened a connection, as Sigma's `Initiated` ('true': this process connected out). A snapshot holds no
 * connect() or accept() call, only the sockets: a connection whose local port a listening socket of the same
 * network namespace and protocol holds in this scan was accepted ('false'); any other was initiated here
 * ('true'). The kernel never gives an outgoing connection a port a listener has bound.
 */
const INITIATED =
  "(CASE WHEN EXISTS (SELECT 1 FROM listening_ports l WHERE l.scan_id = {row}.scan_id AND l.port = {row}.local_port AND l.protocol = {row}.protocol AND l.net_ns IS {row}.net_ns) THEN 'false' ELSE 'true' END)";

const NO_NAME = 'a socket holds the peer address, not the host name it was resolved from (match DestinationIp instead)';
const NO_PORT_NAME = 'port names are a lookup of the event source (/etc/services); match DestinationPort or SourcePort instead';

/** The logsources the compiler reads (a `service` is refused), in the order docs/sigma.md lists them. */
export const SIGMA_LOGSOURCES: readonly SigmaLogsourceMapping[] = [
  {
    product: 'linux',
    category: 'process_creation',
    from: {table: 'processes', alias: 'p'},
    joins: [PARENT_JOIN],
    where: [NOT_KERNEL_THREAD],
    columns: PROCESS_COLUMNS,
    process: 'p',
    fields: PROCESS_FIELDS,
    unanswerable: {},
  },
  {
    product: 'linux',
    category: 'network_connection',
    // One event per socket with a peer: a TCP connection in any state past the handshake, or a connected
    // UDP socket; listening and unconnected sockets are not connections.
    from: {table: 'process_open_sockets', alias: 's'},
    joins: [{table: 'processes', alias: 'p', kind: 'JOIN', on: 'p.scan_id = s.scan_id AND p.pid = s.pid', whenUsed: false, columns: []}, {...PARENT_JOIN}],
    where: [NOT_KERNEL_THREAD, "s.family IN ('AF_INET', 'AF_INET6')", 's.protocol IN (6, 17)', 's.remote_port > 0'],
    columns: [...PROCESS_COLUMNS, 's.fd', 's.protocol', 's.local_address', 's.local_port', 's.remote_address', 's.remote_port', 's.state'],
    process: 'p',
    fields: {
      ...PROCESS_FIELDS,
      Protocol: {row: 's', sql: "(CASE {row}.protocol WHEN 6 THEN 'tcp' WHEN 17 THEN 'udp' END)", type: 'text'},
      Initiated: {row: 's', sql: INITIATED, type: 'text'},
      SourceIp: {row: 's', sql: ipOf('local_address'), type: 'ip'},
      SourcePort: integer('s', 'local_port'),
      SourceIsIpv6: {row: 's', sql: `(CASE WHEN instr(${ipOf('local_address')}, ':') > 0 THEN 'true' ELSE 'false' END)`, type: 'text'},
      DestinationIp: {row: 's', sql: ipOf('remote_address'), type: 'ip'},
      DestinationPort: integer('s', 'remote_port'),
      DestinationIsIpv6: {row: 's', sql: `(CASE WHEN instr(${ipOf('remote_address')}, ':') > 0 THEN 'true' ELSE 'false' END)`, type: 'text'},
    },
    unanswerable: {
      DestinationHostname: NO_NAME,
      SourceHostname: NO_NAME,
      DestinationPortName: NO_PORT_NAME,
      SourcePortName: NO_PORT_NAME,
    },
  },
];
