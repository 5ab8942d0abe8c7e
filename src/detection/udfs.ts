// The SQL functions DaemonEye registers in every rule database: REGEXP (SQLite has the operator but no
// implementation) and regexp_flags (with flags), casefold (case folding beyond ASCII, for Sigma's
// case-insensitive matching), basename and dirname for executable paths. Documented in docs/rules-sql.md.
import type {Database} from 'sql.js';

import {casefold} from './sigma/casefold.js';

const MAX_CACHED_PATTERNS = 256;

const REGEXP_FLAGS = /^[ims]*$/;

/**
 * Register regexp(pattern, text) (also `text REGEXP pattern`), regexp_flags(pattern, flags, text) (flags:
 * any of i, m, s, as JavaScript reads them), casefold(text), basename(path) and dirname(path).
 */
export function registerUdfs(db: Database): void {
  const patterns = new Map<string, RegExp>();
  const compiled = (source: string, flags: string): RegExp => {
    const key = `${flags}/${source}`;
    let regex = patterns.get(key);
    if (regex === undefined) {
      // A bad pattern is the rule author's error: it surfaces as this rule's error, not a crash.
      regex = new RegExp(source, flags);
      if (patterns.size >= MAX_CACHED_PATTERNS) patterns.clear();
      patterns.set(key, regex);
    }
    return regex;
  };
  db.create_function('regexp', (pattern: unknown, text: unknown): number | null => {
    if (pattern === null || text === null || pattern === undefined || text === undefined) return null;
    return compiled(String(pattern), '').test(String(text)) ? 1 : 0;
  });
  db.create_function('regexp_flags', (pattern: unknown, flags: unknown, text: unknown): number | null => {
    if (pattern === null || text === null || pattern === undefined || text === undefined) return null;
    const flagText = flags === null || flags === undefined ? '' : String(flags);
    // Only the matching flags: g or y would make test() stateful across rows.
    if (!REGEXP_FLAGS.test(flagText)) throw new Error(`regexp_flags: flags are any of i, m, s, not "${flagText}"`);
    return compiled(String(pattern), flagText).test(String(text)) ? 1 : 0;
  });
  db.create_function('casefold', (text: unknown): string | null => {
    if (text === null || text === undefined) return null;
    return casefold(String(text));
  });
  db.create_function('basename', (path: unknown): string | null => {
    if (path === null || path === undefined) return null;
    const text = String(path).replace(/\/+$/, '');
    return text.slice(text.lastIndexOf('/') + 1);
  });
  db.create_function('dirname', (path: unknown): string | null => {
    if (path === null || path === undefined) return null;
    const text = String(path).replace(/\/+$/, '');
    const slash = text.lastIndexOf('/');
    if (slash < 0) return '.';
    return slash === 0 ? '/' : text.slice(0, slash);
  });
}
