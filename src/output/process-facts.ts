// The facts of one process, whatever shape it arrives in: a ProcessRecord (platform data nested), a row of the
// `processes` table or a query (platform-data columns flat), or a rule's result row in an alert's `alert_data`.
// ECS and OCSF (src/output/ecs.ts, src/output/ocsf.ts) map these facts, so both read every shape the same way.

export interface ProcessFacts {
  readonly pid: number;
  readonly ppid: number | null;
  readonly name: string | null;
  readonly executable: string | null;
  readonly args: readonly string[] | null;
  readonly commandLine: string | null;
  /** Epoch ms. */
  readonly start: number | null;
  readonly sha256: string | null;
  readonly entityId: string | null;
  readonly uid: string | null;
  readonly userName: string | null;
  readonly euid: string | null;
  readonly gid: string | null;
  readonly cwd: string | null;
  readonly sessionId: number | null;
  readonly processGroup: number | null;
  readonly containerId: string | null;
  readonly tty: string | null;
  /** When the record was read, epoch ms. */
  readonly collectedAt: number | null;
  readonly recordId: string | null;
  readonly fileDeleted: boolean | null;
}

const num = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const str = (value: unknown): string | null => (typeof value === 'string' ? value : typeof value === 'number' ? String(value) : null);
const bool = (value: unknown): boolean | null => (typeof value === 'boolean' ? value : value === 1 ? true : value === 0 ? false : null);

function argvOf(value: unknown): string[] | null {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value === 'string' && value.startsWith('[')) {
    try {
      const parsed = JSON.parse(value) as unknown;
      return Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === 'string') : null;
    } catch {
      return null;
    }
  }
  return null;
}

/** The platform-data fields processFacts reads (nested under `platform_data` in a record, flat in a row). */
const PLATFORM_FACT_FIELDS = [
  'entity_id',
  'uid',
  'user_name',
  'euid',
  'gid',
  'cwd',
  'session_id',
  'process_group',
  'container_id',
  'tty',
  'exe_deleted',
] as const;

/**
 * The columns of the `processes` table processFacts reads: an export mapping rows to ECS or OCSF selects only
 * these, as a flat row, instead of parsing each whole record (src/storage/export.ts).
 */
export const PROCESS_FACT_COLUMNS: readonly string[] = [
  'id',
  'collection_time',
  'pid',
  'ppid',
  'name',
  'executable_path',
  'command_line',
  'cmdline',
  'start_time',
  'executable_hash',
  'user_id',
  'file_exists',
  ...PLATFORM_FACT_FIELDS,
];

/** Whether `row` is a process to processFacts: it has a numeric pid. */
export function hasProcessPid(row: Readonly<Record<string, unknown>>): boolean {
  return num(row.pid) !== null;
}

/**
 * The process facts of a record or row (see the file header); null when it has no numeric `pid`. A column
 * the row lacks is null. Shapes: `{pid, name, …, platform_data: {uid, …}}` or `{pid, name, …, uid, …}`.
 */

export function processFacts(row: Readonly<Record<string, unknown>>): ProcessFacts | null {
  const pid = num(row.pid);
  if (pid === null) return null;
  const nested = row.platform_data !== null && typeof row.platform_data === 'object' ? (row.platform_data as Record<string, unknown>) : null;
  // A flat row's own column wins over platform_data's member of the same name.
  const get = nested === null ? (name: string): unknown => row[name] : (name: string): unknown => (name in row ? row[name] : nested[name]);
  const args = argvOf(row.command_line);
  const commandLine = str(row.cmdline) ?? (args === null ? null : args.join(' '));
  const exists = row.file_exists;
  return {
    pid,
    ppid: num(row.ppid),
    name: str(row.name),
    executable: str(row.executable_path),
    args,
    commandLine: commandLine === '' ? null : commandLine,
    start: num(row.start_time),
    sha256: str(row.executable_hash),
    entityId: str(get('entity_id')),
    uid: str(row.user_id) ?? str(get('uid')),
    userName: str(get('user_name')),
    euid: str(get('euid')),
    gid: str(get('gid')),
    cwd: str(get('cwd')),
    sessionId: num(get('session_id')),
    processGroup: num(get('process_group')),
    containerId: str(get('container_id')),
    tty: str(get('tty')),
    collectedAt: num(row.collection_time),
    recordId: str(row.id),
    fileDeleted: exists === undefined ? bool(get('exe_deleted')) : bool(exists) === null ? null : !bool(exists),
  };
}

/** An object without its null, undefined and empty-object members (ECS and OCSF leave unknowns out). */
export function compact<T extends Record<string, unknown>>(value: T): Partial<T> {
  // A for…in loop over the object literals the renderers build (no Object.entries arrays): this runs several
  // times per rendered process, so it is most of the cost of ECS/OCSF output (bench/fleet.bench.ts).
  const out: Record<string, unknown> = {};
  for (const key in value) {
    const member = value[key];
    if (member === null || member === undefined) continue;
    if (typeof member === 'object' && !Array.isArray(member) && isEmpty(member)) continue;
    out[key] = member;
  }
  return out as Partial<T>;
}

function isEmpty(value: object): boolean {
  for (const key in value) if (Object.hasOwn(value, key)) return false;
  return true;
}

/** Epoch ms as RFC 3339 UTC, null for none. */
export function isoTime(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
