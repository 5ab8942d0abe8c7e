// Registers DaemonEye's user functions (sql-policy.ts, USER_FUNCTIONS) in a rule database: REGEXP (SQLite has
// the operator but no implementation), basename and dirname for executable paths, and whatever joins them
// there. Documented in docs/rules-sql.md, which is generated from the same list.
import type {Database} from 'sql.js';

import {SQL_POLICY, type SqlPolicy} from './sql-policy.js';

/** Register every user function of `policy` in `db`, each with its own state (caches are per database). */
export function registerUdfs(db: Database, policy: SqlPolicy = SQL_POLICY): void {
  for (const udf of policy.userFunctions) db.create_function(udf.name, udf.create() as (...args: unknown[]) => number | string | Uint8Array | null);
}
