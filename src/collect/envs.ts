// process_envs: the variables named in collection.env_variables from /proc/PID/environ (the environment the
// process started with), secret-looking values redacted the way argv is.
import {REDACTED, redactUrlCredentials} from '../config/redact.js';
import type {CollectedRow, ProcessEnvRow} from '../models/live-tables.js';
import {escapeLatin1} from './text-encoding.js';

export interface EnvSelection {
  /** Names to keep, exact and case-sensitive as the environment is. */
  readonly names: ReadonlySet<string>;
  /**
   * Secret words (collection.redaction.flags: `password`, `token`, …): a variable whose name has one as a
   * `_`- or `-`-separated word (`DB_PASSWORD`, `GITHUB_TOKEN`) has its value replaced by `[REDACTED]`.
   */
  readonly secretWords: ReadonlySet<string>;
  /** False: values are kept as read (collection.redaction.enabled: false). */
  readonly redact: boolean;
}

function secretName(name: string, words: ReadonlySet<string>): boolean {
  return name
    .toLowerCase()
    .split(/[_-]+/)
    .some((word) => words.has(word));
}

/**
 * Rows of the selected variables of one environ text (NUL-separated `KEY=VALUE`, bytes read as latin1; names
 * and values come out in the one text form, escapeBytes). The first occurrence of a name wins, as getenv(3)
 * does; entries without `=` are skipped. Credentials in URLs are redacted too.
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
    let value = escapeLatin1(entry.slice(eq + 1));
    if (selection.redact) value = secretName(key, selection.secretWords) ? REDACTED : value.includes('://') ? redactUrlCredentials(value) : value;
    rows.push({pid, key, value});
  }
  return rows;
}
