// A snapshot database made ready for rule queries, as every rule worker holds it: our SQL functions, the named
// lists as `list_<name>` tables, the `process_traits` view, a page cache as large as the snapshot, and
// read-only. One place, so the worker (rule-worker.ts) and the benchmarks that time rules in-process set up
// the same database.
import type {Database} from 'sql.js';

import {createRuleViews} from './rule-predicates.js';
import {registerUdfs} from './udfs.js';

/** The page cache never grows past this (KiB): 512 MiB. */
const MAX_CACHE_KIB = 512 * 1024;

/**
 * Prepare `db` (a snapshot just loaded or built) for rule queries: register the functions, create one table
 * per named list (`lists`: name → values; names are checked against /^[a-z0-9_]+$/ before they get here,
 * values are bound, never spliced), create the rule views, size the page cache to the snapshot and make the
 * connection read-only. Throws what sql.js throws (a list a view needs and `lists` lacks: rule-predicates.ts).
 */
export function prepareRuleDatabase(db: Database, lists: Readonly<Record<string, readonly string[]>>): void {
  registerUdfs(db);
  for (const [name, values] of Object.entries(lists)) {
    db.exec(`DROP TABLE IF EXISTS list_${name}; CREATE TABLE list_${name} (value TEXT)`);
    const insert = db.prepare(`INSERT INTO list_${name} (value) VALUES (?)`);
    for (const value of values) insert.run([value]);
    insert.free();
  }
  createRuleViews(db, lists);
  // SQLite's default 2 MB page cache makes every scan of a bigger snapshot re-read its pages through the
  // in-memory file system; a cache as large as the snapshot keeps them after the first rule touched them.
  const bytes = Number(db.exec('SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()')[0]?.values[0]?.[0] ?? 0);
  db.exec(`PRAGMA cache_size = -${Math.min(MAX_CACHE_KIB, Math.ceil((bytes * 1.25) / 1024) + 2048)}`);
  // Belt and braces: the validator already refuses every write, and this copy is private to the thread.
  db.exec('PRAGMA query_only = 1');
}
