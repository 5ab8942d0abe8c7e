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

/**
 * The process facts of a record or row (see the file header); null when it has no numeric `pid`. A column
 * the row lacks is null. Shapes: `{pid, name, …, platform_data: {uid, …}}` or `{pid, name, …, uid, …}`.
 */
export function processFacts(row: Readonly<Record<string, unknown>>): ProcessFacts | null {
  const pid = num(row.pid);
  if (pid === null) return null;
  const platform = row.platform_data !== null && typeof row.platform_data === 'object' ? (row.platform_data as Record<string, unknown>) : {};
  const field = (name: string): unknown => (name in row ? row[name] : platform[name]);
  const args = argvOf(row.command_line);
  const commandLine = str(row.cmdline) ?? (args === null ? null : args.join(' '));
  return {
    pid,
    ppid: num(row.ppid),
    name: str(row.name),
    executable: str(row.executable_path),
    args,
    commandLine: commandLine === '' ? null : commandLine,
    start: num(row.start_time),
    sha256: str(row.executable_hash),
    entityId: str(field('entity_id')),
    uid: str(row.user_id) ?? str(field('uid')),
    userName: str(field('user_name')),
    euid: str(field('euid')),
    gid: str(field('gid')),
    cwd: str(field('cwd')),
    sessionId: num(field('session_id')),
    processGroup: num(field('process_group')),
    containerId: str(field('container_id')),
    tty: str(field('tty')),
    collectedAt: num(row.collection_time),
    recordId: str(row.id),
    fileDeleted: row.file_exists === undefined ? bool(field('exe_deleted')) : bool(row.file_exists) === null ? null : !bool(row.file_exists),
  };
}

/** An object without its null, undefined and empty-object members (ECS and OCSF leave unknowns out). */
export function compact<T extends Record<string, unknown>>(value: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) {
    if (member === null || member === undefined) continue;
    if (typeof member === 'object' && !Array.isArray(member) && Object.keys(member).length === 0) continue;
    out[key] = member;
  }
  return out as Partial<T>;
}

/** Epoch ms as RFC 3339 UTC, null for none. */
export function isoTime(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
