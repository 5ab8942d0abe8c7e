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
  return selectedEntries(environ, selection).map(({key, entry, eq}) => ({pid, key, value: escapeLatin1(entry.slice(eq + 1))}));
}

/**
 * The part of an environ text parseEnviron keeps: the first entry of each selected name, NUL-separated, as
 * they were. parseEnviron of it gives the same rows as of the whole text. The /proc walk keeps this much of
 * each process's environ for process_envs while the text is in hand, so the file is read once per scan.
 */
export function selectEnviron(environ: string, selection: EnvSelection): string {
  return selectedEntries(environ, selection)
    .map(({entry}) => entry)
    .join('\0');
}

/** The first entry of each selected name, in order, with its escaped name and the position of its `=`. */
function selectedEntries(environ: string, selection: EnvSelection): {key: string; entry: string; eq: number}[] {
  const chosen: {key: string; entry: string; eq: number}[] = [];
  if (selection.names.size === 0) return chosen;
  const seen = new Set<string>();
  for (const entry of environ.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const key = escapeLatin1(entry.slice(0, eq));
    if (!selection.names.has(key) || seen.has(key)) continue;
    seen.add(key);
    chosen.push({key, entry, eq});
  }
  return chosen;
}
