// `query` as a library call: validate one ad-hoc SQL statement, take the snapshot (live or saved) holding
// the tables it reads, and run it in the sandbox; refused SQL and tables the input lacks are errors.
import type {DaemonEyeConfig} from '../config/schema.js';
import {DaemonEyeError} from '../errors.js';
import {hostResolver} from '../models/host.js';
import type {ScanRecord} from '../models/scan.js';
import {serialiseResultRow} from '../models/serialise.js';
import {missingTablesAdvice, tableDefinition} from '../models/tables.js';
import {DetectionEngine} from './engine.js';
import {missingTables, snapshotPayload} from './rules-on-snapshot.js';
import type {SnapshotForDetection, SnapshotNeeds} from './snapshot-source.js';
import {SqlValidator} from './sql-validator.js';
import {namedLists} from './table-catalog.js';
import {mapSteps, runSliced, type Steps} from '../util/steps.js';

export interface QueryOptions {
  readonly config: DaemonEyeConfig;
  readonly sql: string;
  /** The snapshot to query; `needs.tables` are the host tables the SQL reads (a live snapshot collects those). */
  readonly snapshot: (needs: SnapshotNeeds) => Promise<SnapshotForDetection>;
  /** Rows kept; more are dropped and `truncated` says so. */
  readonly maxRows?: number;
  /** The environment the user rules directory is found from (default: the process's). */
  readonly env?: NodeJS.ProcessEnv;
}

export interface QueryReport {
  readonly columns: readonly string[];
  /**
   * Result rows as records: boolean and JSON columns of the snapshot tables in their record shape (src/models/serialise.ts),
   * each with the `host` it comes from (src/models/host.ts: its `scan_id`'s host, else the input's one host, else null)
   * unless the query returns a column named `host` itself.
   */
  readonly rows: readonly Record<string, unknown>[];
  readonly row_count: number;
  readonly truncated: boolean;
  readonly elapsed_ms: number;
  readonly source: string;
  readonly scan_ids: readonly number[];
}

export const QUERY_MAX_ROWS = 100_000;

/** Validate, then run one ad-hoc query in the sandbox. Refused SQL throws SQL_REFUSED (exit 2). */
export async function runQuery(options: QueryOptions): Promise<QueryReport> {
  const {config} = options;
  const validator = new SqlValidator().withReadOnlyMode(true).withTimeout(config.detection.rule_timeout_ms);
  const verdict = validator.validateQuery(options.sql);
  if (!verdict.valid) {
    const first = verdict.errors[0];
    throw new DaemonEyeError(
      'SQL_REFUSED',
      `SQL refused: ${first?.message ?? 'invalid'}${first?.workaround === undefined ? '' : ` (workaround: ${first.workaround})`}`,
      {
        hint: 'see docs/rules-sql.md',
        details: verdict.errors.map((e) => `${e.reason}: ${e.message}`),
      },
    );
  }
  // One query, one lane: a snapshot file's bytes run on this thread (the engine's in-process lane) at any size.
  const engine = new DetectionEngine({workers: 1, maxRows: options.maxRows ?? QUERY_MAX_ROWS});
  try {
    const tables = validator.referencedTables(options.sql).filter((table) => tableDefinition(table)?.collected === true);
    const snapshot = await options.snapshot({tables});
    const missing = missingTables(validator, options.sql, snapshot.tables);
    if (missing.length > 0) throw notCollected(snapshot, missing);
    // The named lists rules read (shipped beside the rules, user and configured): `list_shells` and the
    // shared predicates of process_traits answer in a query as they do in a rule.
    const payload = snapshotPayload(snapshot.content, namedLists(config, options.env ?? process.env), [options.sql], validator);
    const [outcome] = await engine.runTasks([{key: 'query', sql: options.sql, timeoutMs: validator.timeoutMs, snapshot: payload}], {
      deadlineMs: config.detection.run_timeout_ms,
    });
    if (outcome === undefined || outcome.status !== 'ok') {
      const timedOut = outcome?.status === 'timeout' || outcome?.status === 'not_run';
      throw new DaemonEyeError(timedOut ? 'RULE_TIMEOUT' : 'RULE_FAILED', `query ${timedOut ? 'timed out' : 'failed'}: ${outcome?.error ?? 'no result'}`, {
        hint: timedOut ? 'narrow the query or raise detection.rule_timeout_ms' : 'fix the query',
      });
    }
    // Up to QUERY_MAX_ROWS rows of any size: each made a record in slices (src/util/steps.ts).
    const records = await runSliced(mapSteps(outcome.rows, (row) => serialiseResultRow(row)));
    return {
      columns: outcome.columns,
      rows: await runSliced(withHosts(records, snapshot.scans, outcome.columns)),
      row_count: outcome.rows.length,
      truncated: outcome.truncated,
      elapsed_ms: Math.round(outcome.elapsedMs),
      source: snapshot.source,
      scan_ids: snapshot.scanIds,
    };
  } finally {
    await engine.close();
  }
}

/**
 * The query reads tables some scans of its input did not collect: which scans (by start time) and what to
 * do. When later scans hold them, `--since` past the newest scan that lacks one narrows the input to those.
 */
function notCollected(snapshot: SnapshotForDetection, missing: readonly string[]): DaemonEyeError {
  const lacking = snapshot.scans.filter((scan) => missing.some((table) => !scan.tables.includes(table)));
  const newest = lacking.at(-1);
  const which =
    newest === undefined || lacking.length === snapshot.scans.length
      ? `${snapshot.source} did not collect`
      : `${lacking.length} of the ${snapshot.scans.length} scans in ${snapshot.source} did not collect, the newest of them taken ${new Date(newest.start_time).toISOString()}`;
  const later = newest === undefined ? false : snapshot.scans.some((scan) => scan.start_time > newest.start_time);
  const since = later && newest !== undefined ? `query the later scans with \`--since ${new Date(newest.start_time + 1).toISOString()}\`, or ` : '';
  const live = snapshot.source === 'live';
  const collectors = lacking.map((scan) => scan.collector);
  // A live run collects every table its SQL reads, unless the collector is one that reads processes only.
  const liveInstead = live || collectors.includes('systeminformation') ? '' : ', or query the live host without --input';
  return new DaemonEyeError('INPUT_INCOMPATIBLE', `the query reads ${missing.join(', ')}, which ${which}`, {
    ...(live ? {} : {file: snapshot.source}),
    hint: `${since}${missingTablesAdvice(missing, collectors, live)}${liveInstead}`,
  });
}

/** Each row with its `host` (src/models/host.ts); a column the query named `host` itself wins. */
function* withHosts(rows: Record<string, unknown>[], scans: readonly ScanRecord[], columns: readonly string[]): Steps<Record<string, unknown>[]> {
  if (columns.includes('host')) return rows;
  const hostOf = hostResolver(scans);
  return yield* mapSteps(rows, (row) => ({...row, host: hostOf(row)}));
}
