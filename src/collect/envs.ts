// process_envs: the variables named in collection.env_variables from /proc/PID/environ (the environment the
// process started with). Secret values are redacted with every other table by the column's kind
// (`value`: an environment value named by `key`, src/collect/redact.ts).
import type {CollectedRow, ProcessEnvRow} from '../models/live-tables.js';
import {escapeLatin1} from './text-encoding.js';

export interface EnvSelection {
  /** Names to keep, exact and case-sensitive as the environment is. */
  readonly names: ReadonlySet<string>;
}

/**
 * Rows of the selected variables of one environ text (NUL-separated `KEY=VALUE`, bytes read as latin1; names
 * and values come out in the one text form, escapeBytes). The first occurrence of a name wins, as getenv(3)
 * does; entries without `=` are skipped.
 */
export function parseEnviron(pid: number, environ: string, selection: EnvSelection): CollectedRow<ProcessEnvRow>[] {
  const rows: CollectedRow<ProcessEnvRow>[] = [];
  const seen = new Set<string>();
  for (const entry of environ.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const key = escapeLatin1(entry.slice(0, eq));
    if (!selection.names.has(key) || seen.has(key)) continue;
    seen.add(key);
    rows.push({pid, key, value: escapeLatin1(entry.slice(eq + 1))});
  }
  return rows;
}
