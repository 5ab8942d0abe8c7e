// Shared rule predicates (what Falco calls macros): "is a kernel thread", "is a shell", "is an interpreter",
// "is a user process", declared once as columns of the view `process_traits` — every column of `processes`
// plus one 0/1 column per predicate — instead of being spelled again in each rule. The rule worker creates
// the view in every rule database (after the named lists it reads), the validator knows its columns and the
// lists it reads, and docs/rules-sql.md is generated from this list. SQLite flattens the view into the
// query that reads it, so a join on it plans with the (scan_id, pid) indexes of `processes`, and a predicate
// a query does not name costs nothing. Where a rule keeps a subquery over the view whole (`SELECT q.*` not
// flattened), every predicate is computed for each row: so a list of GLOB patterns is one linear-time
// regular expression (regex.ts), through a function only the view calls (rules cannot: the validator does
// not allow it).
import type {Database} from 'sql.js';

import {regexCache} from './regex.js';

/** One shared predicate: a 0/1 column of `process_traits`. */
export interface RulePredicate {
  /** The column's name. */
  readonly name: string;
  /** SQL over one `processes` row, alias `p`: true (1) or false (0), never NULL. */
  readonly sql: string;
  /** What it means, for docs/rules-sql.md. */
  readonly description: string;
  /** The named lists it reads (`shells` for `list_shells`). */
  readonly lists: readonly string[];
}

/** The view's name: what a rule reads instead of `processes` to use the predicates. */
export const PROCESS_TRAITS_VIEW = 'process_traits';

/** The executable's lower-case base name, or the process name (comm) when the path is unknown. */
const BASE_NAME = 'lower(coalesce(p.exe_name, p.name))';

/** The function the view calls: 1 when one of the texts matches one of the named list's GLOB patterns. */
const LIST_GLOB = 'daemoneye_list_glob';

/**
 * The executable is the host's own file at its path (the SQL of `exe_path_trusted`). The host's mount namespace
 * is pid 1's in the same scan, or kthreadd's (pid 2) when pid 1's is not known (a sandbox's init); `IS`, so a
 * snapshot that records no namespaces (the systeminformation collector) compares null with null. Neither pid 1
 * nor 2 in the scan, or no path: 0, never NULL.
 */
const EXE_PATH_TRUSTED =
  "coalesce(p.executable_path GLOB '/*' AND coalesce(p.exe_deleted, 0) = 0 AND coalesce(p.exe_memfd, 0) = 0 AND coalesce(p.exe_replaced, 0) = 0" +
  ' AND EXISTS (SELECT 1 FROM main.processes i WHERE i.scan_id = p.scan_id AND i.pid IN (1, 2))' +
  ' AND (SELECT i.mnt_ns FROM main.processes i WHERE i.scan_id = p.scan_id AND i.pid IN (1, 2) AND i.mnt_ns IS NOT NULL ORDER BY i.pid LIMIT 1) IS p.mnt_ns, 0)';

/**
 * Directories only root writes on a Linux host, as packages install them (the executable link is a canonical
 * path: no `..`, no symlink). `/opt` holds vendors' packages (Chrome's setuid sandbox); an installer that hands
 * an `/opt/<app>` directory to a service account makes it that account's, which the rules cannot see.
 */
const SYSTEM_DIRS = [
  '/usr/bin',
  '/usr/sbin',
  '/bin',
  '/sbin',
  '/usr/lib',
  '/usr/lib64',
  '/usr/libexec',
  '/usr/share',
  '/lib',
  '/lib64',
  '/usr/local/bin',
  '/usr/local/sbin',
  '/opt',
  '/snap',
];

export const RULE_PREDICATES: readonly RulePredicate[] = [
  {
    name: 'is_kernel_thread',
    sql: 'coalesce(p.kernel_thread, 0) <> 0',
    description: 'a kernel thread (`kernel_thread`: PF_KTHREAD); no executable, no argv, no fds',
    lists: [],
  },
  {
    name: 'is_user_process',
    sql: 'coalesce(p.kernel_thread, 0) = 0',
    description: 'not a kernel thread: a process started by exec (what most rules look at)',
    lists: [],
  },
  {
    name: 'is_shell',
    sql: `(${BASE_NAME} IN (SELECT value FROM list_shells) OR lower(p.name) IN (SELECT value FROM list_shells))`,
    description:
      "a command shell: the executable's base name (`exe_name`, or `name` when the path is unknown) or the process name is in the list `shells` (exact, lower case)",
    lists: ['shells'],
  },
  {
    name: 'is_interpreter',
    sql: `${LIST_GLOB}('interpreters', ${BASE_NAME}, lower(p.name))`,
    description:
      "a script interpreter that runs code given on its command line: the executable's base name (`exe_name`, or `name` when the path is unknown) or the process name matches a GLOB pattern of the list `interpreters` (`python[0-9]*`)",
    lists: ['interpreters'],
  },
  {
    name: 'exe_path_trusted',
    sql: EXE_PATH_TRUSTED,
    description:
      "`executable_path` names the file the process runs as the host sees it: not deleted, replaced or a memfd, and the process is in the host's mount namespace (pid 1's, or kthreadd's when pid 1's is not known; in a mount namespace of its own, which any user can make with `unshare -rm`, a bind mount puts any file at any path). An exemption by program must read this AND a path only root can write (`exe_system_file`), never `name`, `exe_name` alone or argv, which the process or its launcher chooses",
    lists: [],
  },
  {
    name: 'exe_system_file',
    sql: `(${EXE_PATH_TRUSTED} AND (${SYSTEM_DIRS.map((dir) => `p.executable_path GLOB '${dir}/*'`).join(' OR ')}))`,
    description: `\`exe_path_trusted\` and the executable lies under a directory only root writes: ${SYSTEM_DIRS.map((dir) => `\`${dir}\``).join(', ')}. What a rule reads to exempt a program by its executable's base name (\`exe_name\`): an unprivileged user can give a file any name, but not put it there`,
    lists: [],
  },
];

/** The columns of `process_traits` besides those of `processes`. */
export const PREDICATE_COLUMNS: readonly string[] = RULE_PREDICATES.map((p) => p.name);

/** The named lists the view reads. */
export const PREDICATE_LISTS: readonly string[] = [...new Set(RULE_PREDICATES.flatMap((p) => p.lists))];

/** The view's definition (a TEMP view over the snapshot's `processes`; it never writes the snapshot). */
export const PROCESS_TRAITS_SQL = `CREATE TEMP VIEW ${PROCESS_TRAITS_VIEW} AS SELECT p.*, ${RULE_PREDICATES.map((predicate) => `(${predicate.sql}) AS ${predicate.name}`).join(', ')} FROM main.processes AS p`;

const escapeRegex = (c: string): string => c.replace(/[\\^$.|?*+()[\]{}]/g, (m) => `\\${m}`);

/**
 * A SQLite GLOB pattern as an RE2 pattern matching the same texts (anchored by the caller, flag `s`): `*`
 * any run, `?` one character, `[...]` a set (`^` first negates, `]` first is a member, `a-z` a range), the
 * rest literal and case-sensitive (SQLite's patternCompare). Null for an unclosed `[`, which matches nothing.
 */
export function globRegexSource(glob: string): string | null {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      let j = i + 1;
      let set = '';
      if (glob[j] === '^') {
        set += '^';
        j++;
      }
      if (glob[j] === ']') {
        set += '\\]';
        j++;
      }
      for (; j < glob.length && glob[j] !== ']'; j++) {
        const d = glob[j] as string;
        set += d === '\\' || d === '[' || d === '^' ? `\\${d}` : d;
      }
      if (j >= glob.length) return null;
      out += `[${set}]`;
      i = j;
    } else out += escapeRegex(c);
  }
  return out;
}

/**
 * Create `process_traits` in a rule database, with the function it calls over `lists` (the named lists
 * loaded for the database's queries: SqlValidator.referencedLists gives the view's lists to every query that
 * reads it). A query reading the view when a list it needs was not loaded is an error, never an empty list.
 */
export function createRuleViews(db: Database, lists: Readonly<Record<string, readonly string[]>>): void {
  const listOf = (name: string): readonly string[] => {
    const values = lists[name];
    if (values === undefined) throw new Error(`${PROCESS_TRAITS_VIEW}: the list ${name} is not loaded`);
    return values;
  };
  const compiled = regexCache(16);
  const sources = new Map<string, string | null>();
  // One call per row for both names (the base name and the process name, usually the same text).
  db.create_function(LIST_GLOB, (name: unknown, text: unknown, other: unknown) => {
    const key = String(name);
    let source = sources.get(key);
    if (source === undefined) {
      const parts = listOf(key).flatMap((glob) => globRegexSource(glob) ?? []);
      source = parts.length === 0 ? null : `^(?:${parts.join('|')})$`;
      sources.set(key, source);
    }
    if (source === null) return 0;
    const regex = compiled(source, 's');
    const matches = (value: unknown): boolean => value !== null && value !== undefined && regex.test(String(value));
    return matches(text) || (other !== text && matches(other)) ? 1 : 0;
  });
  db.exec(`DROP VIEW IF EXISTS temp.${PROCESS_TRAITS_VIEW}; ${PROCESS_TRAITS_SQL}`);
}
