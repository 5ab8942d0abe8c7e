// The SQL functions DaemonEye registers in every rule database: REGEXP (SQLite has the operator but no
// implementation), basename and dirname for executable paths. Documented in docs/rules-sql.md.
import type {Database} from 'sql.js';

const MAX_CACHED_PATTERNS = 256;

/** Register regexp(pattern, text) (also `text REGEXP pattern`), basename(path) and dirname(path). */
export function registerUdfs(db: Database): void {
  const patterns = new Map<string, RegExp>();
  db.create_function('regexp', (pattern: unknown, text: unknown): number | null => {
    if (pattern === null || text === null || pattern === undefined || text === undefined) return null;
    const source = String(pattern);
    let regex = patterns.get(source);
    if (regex === undefined) {
      // A bad pattern is the rule author's error: it surfaces as this rule's error, not a crash.
      regex = new RegExp(source);
      if (patterns.size >= MAX_CACHED_PATTERNS) patterns.clear();
      patterns.set(source, regex);
    }
    return regex.test(String(text)) ? 1 : 0;
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
