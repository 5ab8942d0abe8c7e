// The one configuration schema: every key, its type, default and one-line description. Each capability
// adds its keys here so unknown-key checking keeps working; docs/configuration.md is generated from it.
import {posix} from 'node:path';

import {z} from 'zod';

import {DecorationsSchema} from '../models/host.js';
import {DEFAULT_ENV_VARIABLES} from '../models/live-tables.js';
import {DEFAULT_SHORT_FLAGS, SECRET_WORDS} from '../redaction/policy.js';
import {AlertSeveritySchema} from '../models/severity.js';
import {COLLECTED_TABLE_NAMES} from '../models/tables.js';
import {FILE_LIMITS, MAX_LIST_ENTRIES, MIB} from '../util/read-file.js';
import {MAX_TIMER_MS} from '../util/time.js';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export const LOG_FORMATS = ['text', 'json'] as const;

/** A count or size: a whole number from 1 to `max` (a bound past anything meaningful, so no value overflows what reads it). */
const upTo = (max: number) => z.int().positive().max(max);
const durationMs = (description: string, fallback: number) =>
  z
    .int()
    .positive()
    .max(MAX_TIMER_MS, `at most ${MAX_TIMER_MS} ms (about 24.8 days), the longest delay Node's timers take`)
    .default(fallback)
    .describe(description);

/**
 * A path DaemonEye writes to (state, store, ledger, alert file, metrics, keys): not empty, and not under
 * /proc or /sys (but for this process's own descriptors, /proc/self/fd/N), kernel interfaces on every Linux
 * host, where a "file" is no file (the write would fail
 * at the end of a run with a misleading ENOENT). Other kernel file systems mounted elsewhere are refused
 * when written (src/util/output-file.ts); this check needs no host, so `config validate` gives the same
 * answer on a build machine.
 */
const KERNEL_PATH = /^\/(proc|sys)(\/|$)/;
/** This process's own descriptors (`--metrics-file /proc/self/fd/1`): written to as they are open. */
const OWN_DESCRIPTOR_PATH = /^\/proc\/(self|thread-self)\/fd\/\d+$/;
const KERNEL_PATH_PROBLEM = 'is under /proc or /sys, a kernel interface, not a place for files: give a path on a disk';

/** Why `path` cannot be a path DaemonEye writes (see writtenPath), or undefined when it can. */
export function writtenPathProblem(path: string): string | undefined {
  if (path === '') return 'an empty path: give a path, or leave the key out';
  const normal = posix.normalize(path);
  return KERNEL_PATH.test(normal) && !OWN_DESCRIPTOR_PATH.test(normal) ? KERNEL_PATH_PROBLEM : undefined;
}

const writtenPath = () =>
  z.string().check((ctx) => {
    const problem = writtenPathProblem(ctx.value);
    if (problem !== undefined) ctx.issues.push({code: 'custom', message: problem, input: ctx.value});
  });

const AppSchema = z
  .object({
    log_level: z.enum(LOG_LEVELS).default('info').describe('What is logged to stderr: error, warn, info or debug'),
    log_format: z.enum(LOG_FORMATS).default('text').describe('Log and error format on stderr: text or json'),
    state_dir: writtenPath()
      .nullable()
      .default(null)
      .describe(
        "Where state lives; null means $STATE_DIRECTORY (set by systemd's StateDirectory=), else /var/lib/daemoneye as root, else $XDG_STATE_HOME/daemoneye (or ~/.local/state/daemoneye)",
      ),
    scan_interval_ms: durationMs('How often scans are scheduled (cron/timer); `health` calls the last run stale after twice this', 300_000),
  })
  .strict()
  .prefault({});

/**
 * Saved by default: every collected table but the memory maps, which are large (tens to hundreds of rows per
 * process); process_libraries, read from the same files, holds what the library rules need.
 */
export const DEFAULT_SCAN_TABLES: readonly string[] = COLLECTED_TABLE_NAMES.filter((t) => t !== 'process_memory_map');

/**
 * How much of a process's argv a scan keeps, in bytes of /proc/PID/cmdline: whoever starts a process chooses
 * its argv's length (up to about 6 MiB each), and every byte kept is copied into the snapshot and through each
 * rule reading `cmdline`. Defaults from measurement (docs/performance.md, "Command lines"): the 1 MB argvs of
 * test/commands/detect-hostile.test.ts are kept whole, twenty processes of 6 MB are not.
 */
export const ARGV_DEFAULTS = {floor: 64 * 1024, ceiling: 1024 * 1024, budget: 8 * 1024 * 1024} as const;

/**
 * How much of a process's environment a scan reads, in bytes of /proc/PID/environ: whoever starts a process
 * chooses its environment's length as freely as its argv's, and before this limit each was read whole, for
 * every process of every scan. Only the variables kept are held (envs.ts), so a byte read costs a scan only its
 * reading. Defaults from measurement (docs/performance.md, "Environments").
 */
export const ENVIRON_DEFAULTS = {floor: 64 * 1024, ceiling: 6 * 1024 * 1024, budget: 32 * 1024 * 1024} as const;

/**
 * What one process may make a scan read of a per-process source whose size the process chooses: its open
 * file descriptors (up to its `ulimit -Hn`, often 524,288 or more for anyone) and its memory maps (up to
 * vm.max_map_count, 65,530 by default). Defaults chosen from measurement (docs/performance.md, "Fan-out"):
 * a busy proxy's 20,000 sockets are read whole, ten processes holding 19,000 fds each are not.
 */
export const FANOUT_DEFAULTS = {
  fds: {floor: 1024, ceiling: 65_536, budget: 100_000},
  maps: {floor: 2048, ceiling: 65_536, budget: 250_000},
  socket_table_lines: 500_000,
} as const;

const fanoutLimits = (what: string, which: string, defaults: {readonly floor: number; readonly ceiling: number; readonly budget: number}) =>
  z
    .object({
      floor: upTo(2 ** 24)
        .default(defaults.floor)
        .describe(`${what} of every process read whatever the budget (${which}): no process can hide another`),
      ceiling: upTo(2 ** 24)
        .default(defaults.ceiling)
        .describe(`${what} of one process never read past, whatever is left of the budget`),
      budget: upTo(2 ** 30)
        .default(defaults.budget)
        .describe(
          `${what} a scan reads over all its processes: a process past its floor gets an equal share of what is left among the processes still waiting for theirs (every floor is read even past the budget)`,
        ),
    })
    .strict()
    .prefault({});

const CollectionSchema = z
  .object({
    collector: z
      .enum(['auto', 'procfs', 'systeminformation'])
      .default('auto')
      .describe('Process collector: auto (procfs where /proc exists), procfs or systeminformation'),
    hash: z.boolean().default(true).describe('Hash each executable (SHA-256)'),
    hash_max_bytes: upTo(2 ** 40)
      .default(256 * 1024 * 1024)
      .describe('Executables larger than this are not hashed'),
    hash_concurrency: z.int().positive().max(64).default(4).describe('Executables hashed at once'),
    hash_cache: z
      .boolean()
      .default(true)
      .describe(
        'Reuse a digest from <state dir>/hash-cache.json while the executable has the same device, inode, size, mtime and ctime (any write or replacement changes ctime or inode)',
      ),
    cpu_sample_ms: z.int().nonnegative().max(60_000).default(0).describe('Measure CPU over this interval instead of since process start (0: since start)'),
    hidden_check: z
      .boolean()
      .default(false)
      .describe(
        'Also sweep the whole pid space with kill(pid, 0) for processes the /proc listing leaves out (one syscall per pid up to kernel.pid_max: about 0.15 s for 32,768 pids); mounts over /proc entries are checked on every scan regardless',
      ),
    tables: z
      .array(z.enum(COLLECTED_TABLE_NAMES as [string, ...string[]]))
      .default([...DEFAULT_SCAN_TABLES])
      .describe(
        'Tables `scan --output/--store` saves (`scan --tables` overrides; `processes` is always saved). `detect` and `query` on the live host collect exactly the tables their SQL reads',
      ),
    decorations: DecorationsSchema.default({}).describe(
      "Static labels put on every record of this host, in its `host.decorations` (osquery's decorations; ECS `labels`, OCSF `metadata.labels`), e.g. `{env: prod, team: payments}`; `${VAR}` substitution applies",
    ),
    env_variables: z
      .array(z.string().regex(/^[^=\0]+$/, 'a variable name has no = or NUL'))
      .default([...DEFAULT_ENV_VARIABLES])
      .describe('Environment variables `process_envs` keeps (exact, case-sensitive names); secret-looking values are redacted as argv is'),
    argv: z
      .object({
        floor: upTo(2 ** 30)
          .min(2)
          .default(ARGV_DEFAULTS.floor)
          .describe("Bytes of every process's argv kept whatever the budget (its first and last halves): no process can hide another"),
        ceiling: upTo(2 ** 30)
          .min(2)
          .default(ARGV_DEFAULTS.ceiling)
          .describe(
            "Bytes of one process's argv never kept past, whatever is left of the budget; a snapshot file's longer argv is cut to it as it is read (docs/storage.md)",
          ),
        budget: upTo(2 ** 40)
          .default(ARGV_DEFAULTS.budget)
          .describe(
            'Bytes of argv a scan keeps over all its processes: a process whose argv is longer than the floor gets an equal share of what is left among the processes still waiting for theirs (every floor is kept even past the budget)',
          ),
      })
      .strict()
      .prefault({})
      .describe(
        "How much of each process's command line (/proc/PID/cmdline, NULs included) a scan keeps in `processes.command_line` and `cmdline`: a longer one keeps its first and last bytes with a `[daemoneye: N of M bytes of argv not kept]` argument between, and is named in the scan's warnings and `scans.errors`",
      ),
    environ: z
      .object({
        floor: upTo(2 ** 30)
          .default(ENVIRON_DEFAULTS.floor)
          .describe("Bytes of every process's environment read whatever the budget (its start): no process can hide another"),
        ceiling: upTo(2 ** 30)
          .default(ENVIRON_DEFAULTS.ceiling)
          .describe("Bytes of one process's environment never read past, whatever is left of the budget"),
        budget: upTo(2 ** 40)
          .default(ENVIRON_DEFAULTS.budget)
          .describe(
            'Bytes of environment a scan reads over all its processes: a process whose environment is longer than the floor gets an equal share of what is left among the processes still waiting for theirs (every floor is read even past the budget)',
          ),
      })
      .strict()
      .prefault({})
      .describe(
        "How much of each process's environment (/proc/PID/environ, NULs included) a scan reads for `ld_preload`, `ld_audit` and `process_envs`: a longer one is read from its start only, so a variable after the cut is not seen; the process's `environ_cut` is true and it is named in the scan's warnings and `scans.errors`",
      ),
    fanout: z
      .object({
        fds: fanoutLimits('File descriptors', 'its lowest, stdio first', FANOUT_DEFAULTS.fds),
        maps: fanoutLimits('Memory maps (lines of /proc/PID/maps)', "its first, in the kernel's order by address", FANOUT_DEFAULTS.maps),
        socket_table_lines: upTo(2 ** 30)
          .default(FANOUT_DEFAULTS.socket_table_lines)
          .describe(
            "Lines a scan reads of each network namespace's socket tables (/proc/net/tcp, udp, unix, …): anyone holds as many sockets as their fds allow, listed in the kernel's hash order; a socket past them has its `process_open_sockets` row without family, addresses or state",
          ),
      })
      .strict()
      .prefault({})
      .describe(
        "How much of what one process fans out into a scan reads (process_open_files, process_open_sockets, process_fd_peers from its fds; process_memory_map, process_libraries from its maps): a process cut short is named in the scan's warnings and `scans.errors`",
      ),
    redaction: z
      .object({
        enabled: z
          .boolean()
          .default(true)
          .describe(
            "Redact secrets in collected data (argv, environment values), in saved snapshots as `query`, `export`, `diff`, `scan --input` and `ship` read them back, and in evidence bundles (each command's `--no-redact` overrides, with a warning); logs, errors, reports, alerts and `config show` are always redacted (docs/redaction.md)",
          ),
        flags: z
          .array(z.string())
          .default([...SECRET_WORDS])
          .describe(
            'Secret words: a flag, environment variable, URL query key or `name=value` with one as a part of its name has its value redacted (`--db-password X`, `DB_PASSWORD`, `?access_token=`); this list replaces the default',
          ),
        short_flags: z
          .record(z.string(), z.array(z.string()))
          .default(Object.fromEntries(Object.entries(DEFAULT_SHORT_FLAGS).map(([tool, flags]) => [tool, [...flags]])))
          .describe('Per tool (basename of argv[0]), short flags whose value is a secret (`mysql -pX`); this map replaces the default'),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

const StorageSchema = z
  .object({
    path: writtenPath().nullable().default(null).describe('Store directory for `--store` without a path; null means <app.state_dir>/store'),
    retention_days: upTo(36_500).nullable().default(30).describe('Snapshot files older than this are pruned after each write (null: keep)'),
    max_scans: upTo(100_000_000).nullable().default(10_000).describe('At most this many snapshot files are kept (null: no limit)'),
    max_size_mb: upTo(2 ** 30)
      .nullable()
      .default(1024)
      .describe('The store is pruned, oldest first, to stay under this size (null: no limit)'),
    max_query_mb: upTo(16_384).default(512).describe('`query` over a store refuses to load more than this many MB of snapshot files at once'),
    max_snapshot_mb: z
      .int()
      .positive()
      .max(16_384)
      .default(512)
      .describe('A snapshot file bigger than this is refused unread (`--input`, `--baseline`, each file of a store): sql.js holds 2–3× a file in memory'),
  })
  .strict()
  .prefault({});

const NamedListSchema = z
  .object({
    values: z
      .array(z.string())
      .max(MAX_LIST_ENTRIES, `a named list holds at most ${MAX_LIST_ENTRIES} values`)
      .optional()
      .describe(`Inline values (at most ${MAX_LIST_ENTRIES})`),
    file: z.string().optional().describe('A file with one value per line (`#` starts a comment)'),
  })
  .strict()
  .refine((list) => (list.values === undefined) !== (list.file === undefined), {message: 'give either values or file, not both or neither'});

const DetectionSchema = z
  .object({
    builtin_rules: z.boolean().default(true).describe('Load the rules shipped with DaemonEye'),
    rules_paths: z.array(z.string()).default([]).describe('Further directories or files of rules'),
    enabled_rules: z.array(z.string()).default([]).describe('Rule ids switched on even if their file says `enabled: false` (`rules enable`)'),
    disabled_rules: z.array(z.string()).default([]).describe('Rule ids switched off (`rules disable`)'),
    rule_cache: z
      .boolean()
      .default(true)
      .describe('detect reuses the parsed, compiled and validated form of an unchanged rule file outside the built-in pack from <state dir>/rule-cache.json'),
    rule_timeout_ms: durationMs('A rule running longer than this is killed and reported', 30_000),
    run_timeout_ms: durationMs(
      'Deadline for the rule phase of a detection run (collection before it is bounded by `collection.fanout` and `collection.argv`, not by this). Every rule first gets a fair share of it, so no rule can starve the others; a rule still running at the deadline is reported as timed out, one it kept from starting as not run',
      60_000,
    ),
    max_concurrent_rules: z
      .int()
      .positive()
      .max(64)
      .nullable()
      .default(null)
      .describe(
        'Most rule lanes at once, the main thread counted (null: the number of CPUs). A run starts on one lane, the main thread, and adds worker threads up to this cap only when it falls behind its deadline (its projected time past three quarters of what is left); never more than one per 4 MB of snapshot, nor than half the available memory holds (each worker costs ≈ 56 MiB and a page cache 1.25× the snapshot). 1: the main thread only',
      ),
    lists: z
      .record(z.string().regex(/^[a-z0-9_]+$/, 'list names are lower-case letters, digits and _'), NamedListSchema)
      .default({})
      .describe(
        `Named lists, visible to rules as read-only tables \`list_<name>(value)\`: each \`{values: [a, b]}\` or \`{file: /path/to/list.txt}\`, at most ${MAX_LIST_ENTRIES.toLocaleString('en-US')} values (a list file at most ${FILE_LIMITS.list.maxBytes / MIB} MiB)`,
      ),
  })
  .strict()
  .prefault({});

const SinkBase = {
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'sink names are letters, digits, ".", "_" and "-"')
    .describe('Name used by `detect --sink`'),
  min_severity: AlertSeveritySchema.default('low').describe('Only alerts at or above this severity go to this sink'),
};

export const SinkSchema = z.discriminatedUnion('type', [
  z
    .object({...SinkBase, type: z.literal('stdout'), format: z.enum(['json', 'ndjson', 'text']).default('ndjson').describe('Default `detect` output format')})
    .strict(),
  z
    .object({
      ...SinkBase,
      type: z.literal('file'),
      path: writtenPath().describe('NDJSON file the alerts are appended to'),
      format: z
        .enum(['ndjson', 'ecs', 'ocsf'])
        .default('ndjson')
        .describe('One line per alert: the alert record (ndjson), an ECS alert event (ecs) or an OCSF Detection Finding (ocsf)'),
      max_bytes: upTo(2 ** 50)
        .nullable()
        .default(null)
        .describe('Rotate to `<path>.1` when the file would pass this size (null: never)'),
      max_files: upTo(1_000).default(5).describe('Rotated files kept'),
    })
    .strict(),
  z
    .object({
      ...SinkBase,
      type: z.literal('syslog'),
      protocol: z.enum(['udp', 'tcp', 'unix']).default('udp').describe('Transport: udp, tcp (RFC 6587 octet counting) or unix'),
      host: z.string().default('localhost').describe('Syslog host (udp, tcp)'),
      port: z.int().min(1).max(65535).default(514).describe('Syslog port (udp, tcp)'),
      socket_path: z.string().default('/dev/log').describe('Unix socket path (unix)'),
      facility: z
        .enum([
          'kern',
          'user',
          'mail',
          'daemon',
          'auth',
          'syslog',
          'lpr',
          'news',
          'uucp',
          'cron',
          'authpriv',
          'ftp',
          'local0',
          'local1',
          'local2',
          'local3',
          'local4',
          'local5',
          'local6',
          'local7',
        ])
        .default('daemon')
        .describe('Syslog facility'),
      tag: z.string().default('daemoneye').describe('APP-NAME of the RFC 5424 message'),
      max_message_bytes: z
        .int()
        .min(480)
        .max(16 * 1024 * 1024)
        .default(8192)
        .describe('Longer messages are truncated (never split)'),
      timeout_ms: durationMs('Connect/send timeout', 5_000),
    })
    .strict(),
  z
    .object({
      ...SinkBase,
      type: z.literal('webhook'),
      url: z.url({protocol: /^https?$/}).describe('Endpoint the alert JSON is POSTed to'),
      headers: z.record(z.string(), z.string()).default({}).describe('Extra request headers (values are secrets: redacted wherever shown)'),
      timeout_ms: durationMs('Timeout of one request', 10_000),
      retry_attempts: z
        .int()
        .nonnegative()
        .max(10)
        .default(3)
        .describe('Retries after the first attempt (exponential backoff with jitter, honours Retry-After)'),
      format: z
        .enum(['json', 'splunk_hec', 'ecs', 'ocsf'])
        .default('json')
        .describe('Body format: the alert JSON, the Splunk HEC event envelope, an ECS alert event (ecs) or an OCSF Detection Finding (ocsf)'),
      hmac_secret: z.string().nullable().default(null).describe('When set, `X-DaemonEye-Signature: sha256=<hex>` of the body (a secret)'),
    })
    .strict(),
  z
    .object({
      ...SinkBase,
      type: z.literal('clickhouse'),
      url: z.url({protocol: /^https?$/}).describe('The ClickHouse HTTP interface alerts are inserted through, e.g. http://clickhouse:8123/'),
      database: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a ClickHouse database name: letters, digits and _, not starting with a digit')
        .default('daemoneye')
        .describe('Database holding the tables of `daemoneye schema --dialect clickhouse`'),
      user: z.string().nullable().default(null).describe("ClickHouse user (null: the one in the URL, else ClickHouse's default)"),
      password: z
        .string()
        .nullable()
        .default(null)
        .describe('Its password (a secret: redacted wherever shown; write `${VAR}` to take it from the environment)'),
      timeout_ms: durationMs('Timeout of one request', 10_000),
      retry_attempts: z.int().nonnegative().max(10).default(3).describe('Retries after the first attempt (exponential backoff with jitter)'),
    })
    .strict(),
]);
export type SinkConfig = z.infer<typeof SinkSchema>;

const DEFAULT_KEY_FIELDS = ['rule_id', 'process_name'];

const AlertingSchema = z
  .object({
    deduplication: z
      .object({
        enabled: z.boolean().default(false).describe('Suppress an alert whose dedupe key was delivered within the window (across runs)'),
        window_minutes: upTo(525_600).default(60).describe('Suppression window in minutes'),
        key_fields: z
          .array(z.string())
          .min(1)
          .default(DEFAULT_KEY_FIELDS)
          .describe('Default dedupe key fields: `rule_id` plus result columns (`process_name` is the process name)'),
      })
      .strict()
      .prefault({}),
    state_dir: writtenPath().nullable().default(null).describe('Dedupe state and spool of undelivered alerts; null means <app.state_dir>/alerts'),
    max_queue_size: upTo(10_000_000).default(10_000).describe('At most this many undelivered alerts are spooled; the oldest are dropped (and counted)'),
    max_alert_bytes: z
      .int()
      .min(4096)
      .max(16 * 1024 * 1024)
      .default(65_536)
      .describe("An alert's JSON is at most this many bytes in every output and sink: longer text in the rule's result rows is cut, marked `…[cut: N bytes]`"),
    delivery_timeout_ms: durationMs('Timeout of one delivery to one sink', 30_000),
    delivery_deadline_ms: durationMs('Deadline for all deliveries of one run; what is not delivered by then is spooled', 20_000),
    sinks: z.array(SinkSchema).default([]).describe('Where alerts go besides stdout'),
  })
  .strict()
  .prefault({});

const AuditSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Append an entry to the audit ledger for every command that collects, detects, writes or changes something'),
    ledger_path: writtenPath().nullable().default(null).describe('Ledger file; null means <app.state_dir>/audit.ledger'),
  })
  .strict()
  .prefault({});

const CryptoSchema = z
  .object({
    private_key_path: writtenPath()
      .default('/etc/daemoneye/private.key')
      .describe('Ed25519 private key (PEM PKCS#8) that signs audit checkpoints; unsigned when absent'),
    public_key_path: z.string().default('/etc/daemoneye/public.key').describe('Ed25519 public key (PEM SPKI) that verifies checkpoints and signatures'),
  })
  .strict()
  .prefault({});

const TelemetrySchema = z
  .object({
    metrics_file: writtenPath().nullable().default(null).describe('Write Prometheus metrics here when each command ends, even on failure (null: off)'),
  })
  .strict()
  .prefault({});

export const ConfigSchema = z
  .object({
    app: AppSchema,
    collection: CollectionSchema,
    storage: StorageSchema,
    detection: DetectionSchema,
    alerting: AlertingSchema,
    audit: AuditSchema,
    crypto: CryptoSchema,
    telemetry: TelemetrySchema,
  })
  .strict();

export type DaemonEyeConfig = z.infer<typeof ConfigSchema>;

/** The embedded defaults: the schema applied to an empty document. */
export function embeddedDefaults(): DaemonEyeConfig {
  return ConfigSchema.parse({});
}
