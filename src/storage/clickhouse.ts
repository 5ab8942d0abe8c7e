// ClickHouse as the fleet's engine: the DDL of every table of the registry in the fleet shape
// (src/models/fleet-table.ts), and inserts over ClickHouse's HTTP interface (`INSERT INTO db.table FORMAT
// JSONEachRow`, gzip-compressed, Basic authentication, retried with backoff). The alert sink
// (src/alerting/sinks/clickhouse.ts) and `daemoneye ship` (src/app/ship.ts) send through here.
// Formats and interface: https://clickhouse.com/docs/en/interfaces/http and /interfaces/formats#jsoneachrow.
// The DDL keeps to what ClickHouse has had since 18.x (MergeTree with PARTITION BY/ORDER BY, Nullable, no Bool,
// no DateTime64): times stay Int64 epoch milliseconds, as everywhere in DaemonEye.
import {gzipSync} from 'node:zlib';

import {DaemonEyeError} from '../errors.js';
import type {ColumnSpec, SqlRowValue} from '../models/columns.js';
import {fleetColumns, fleetTimeColumn} from '../models/fleet-table.js';
import {TABLES, type TableDefinition} from '../models/tables.js';
import {terminalSafe} from '../output/terminal.js';
import {backoffMs, describeFetchError, isRetryableStatus, sleep} from '../util/http.js';
import {TOOL_VERSION} from '../version.js';

/** A database or table name ClickHouse takes unquoted. */
export const CLICKHOUSE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The ClickHouse type of a column: Int64, UInt8 (booleans 0/1), Float64 or String (text and JSON text), Nullable when nullable. */
export function clickhouseType(column: Pick<ColumnSpec, 'sqlType' | 'boolean' | 'nullable'>): string {
  const base = column.boolean ? 'UInt8' : column.sqlType === 'INTEGER' ? 'Int64' : column.sqlType === 'REAL' ? 'Float64' : 'String';
  return column.nullable ? `Nullable(${base})` : base;
}

const quote = (text: string): string => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * `CREATE TABLE IF NOT EXISTS db.table (…) ENGINE = MergeTree PARTITION BY <day> ORDER BY (hostname, <time>)`
 * for one table of the registry: every column with its exact type and its docs/schema.md description as a
 * comment, partitioned by the UTC day of its time column (scans: start_time, alerts: alert_time, the host
 * tables: scan_time), ordered for host and time.
 */
export function clickhouseTableDdl(table: TableDefinition, database = 'daemoneye'): string {
  const time = fleetTimeColumn(table);
  const lines = fleetColumns(table).map((c) => `  ${c.name} ${clickhouseType(c)} COMMENT ${quote(c.description.replace(/\s+/g, ' '))}`);
  return [
    `CREATE TABLE IF NOT EXISTS ${database}.${table.name}`,
    '(',
    lines.join(',\n'),
    ')',
    'ENGINE = MergeTree',
    `PARTITION BY toDate(toDateTime(intDiv(${time}, 1000)))`,
    `ORDER BY (hostname, ${time})`,
  ].join('\n');
}

/** The DDL of every table (and the database), statements separated by `;` and a blank line. */
export function clickhouseSchema(database = 'daemoneye'): string[] {
  if (!CLICKHOUSE_NAME.test(database)) {
    throw new DaemonEyeError('INVALID_ARGUMENT', `${database} is not a ClickHouse database name`, {
      hint: 'use letters, digits and _, not starting with a digit',
    });
  }
  return [`CREATE DATABASE IF NOT EXISTS ${database}`, ...TABLES.map((t) => clickhouseTableDdl(t, database))];
}

/** One row as a JSONEachRow line: the fleet columns by name, values as stored (booleans 0/1, JSON as text). */
export function jsonEachRowLine(columns: readonly ColumnSpec[], values: readonly SqlRowValue[]): string {
  const row: Record<string, SqlRowValue> = {};
  for (let i = 0; i < columns.length; i++) row[(columns[i] as ColumnSpec).name] = values[i] ?? null;
  return JSON.stringify(row);
}

/** Where and how to insert: the `clickhouse` sink's settings. */
export interface ClickHouseTarget {
  /** The HTTP interface, e.g. http://clickhouse:8123/ (credentials in it are sent as Basic authentication). */
  readonly url: string;
  readonly database: string;
  readonly user: string | null;
  readonly password: string | null;
  /** Timeout of one request, ms. */
  readonly timeout_ms: number;
  /** Retries after the first attempt. */
  readonly retry_attempts: number;
}

export interface InsertOutcome {
  readonly ok: boolean;
  readonly attempts: number;
  readonly status: number | null;
  /** Why not (no credential, no query string), else null. */
  readonly error: string | null;
  /** True when ClickHouse refused the request itself (schema mismatch, bad data, credentials): retrying cannot help. */
  readonly permanent: boolean;
  /** ClickHouse's error code of the last answer, if any (192–194, 516: the user or password was refused). */
  readonly code?: number;
}

/** Whether a ClickHouse error code means the user or password was refused. */
export const isAuthenticationCode = (code: number | undefined): boolean => code === 192 || code === 193 || code === 194 || code === 516;

/** ClickHouse error codes that say the request or its rows are wrong, whatever the HTTP status. */
const PERMANENT_CODES = new Set([6, 16, 26, 27, 33, 38, 41, 47, 53, 60, 62, 69, 70, 72, 81, 117, 131, 192, 193, 194, 497, 516]);

/** At most this many bytes of JSON per INSERT (before compression): big batches are split. */
export const MAX_INSERT_BYTES = 16 * 1024 * 1024;

/** A client of one ClickHouse server's HTTP interface (one target). */
export class ClickHouseClient {
  /** The server as shown in messages: origin and path, never credentials or a query string. */
  readonly shown: string;
  private readonly endpoint: string;
  private readonly authorization: string | null;

  constructor(
    private readonly target: ClickHouseTarget,
    private readonly options: {random?: () => number; requestBudgetMs?: number} = {},
  ) {
    const url = new URL(target.url);
    const user = target.user ?? (url.username === '' ? null : decodeURIComponent(url.username));
    const password = target.password ?? (url.password === '' ? null : decodeURIComponent(url.password));
    this.authorization = user === null && password === null ? null : `Basic ${Buffer.from(`${user ?? 'default'}:${password ?? ''}`).toString('base64')}`;
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    this.endpoint = url.href;
    this.shown = `${url.protocol}//${url.host}${url.pathname}`;
  }

  /** Secrets this client holds (the password and the Authorization value), for the logger to redact. */
  secrets(): string[] {
    const url = new URL(this.target.url);
    return [this.target.password, url.password === '' ? null : decodeURIComponent(url.password), url.password || null, this.authorization].filter(
      (s): s is string => s !== null && s !== '',
    );
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return {'user-agent': `daemoneye/${TOOL_VERSION}`, ...(this.authorization === null ? {} : {authorization: this.authorization}), ...extra};
  }

  /** Run a read-only query (health probe, tests, docs): the answer's text, or a DaemonEyeError (DELIVERY_FAILED, exit 3). */
  async query(sql: string, timeoutMs = this.target.timeout_ms): Promise<string> {
    let response: Response;
    try {
      response = await fetch(this.endpoint, {method: 'POST', headers: this.headers(), body: sql, redirect: 'error', signal: AbortSignal.timeout(timeoutMs)});
    } catch (error) {
      const timedOut = (error as {name?: string}).name === 'TimeoutError';
      throw new DaemonEyeError('DELIVERY_FAILED', `${this.shown}: ${timedOut ? `no answer within ${timeoutMs} ms` : describeFetchError(error)}`, {
        hint: 'check the clickhouse sink url and that the server is up (`daemoneye health`)',
      });
    }
    const text = await response.text();
    if (!response.ok) {
      throw new DaemonEyeError('DELIVERY_FAILED', `${this.shown} answered HTTP ${response.status}: ${clickhouseMessage(text)}`, {
        hint: 'check the query and the clickhouse sink user',
      });
    }
    return text;
  }

  /**
   * Insert JSONEachRow `lines` into `table` of the target's database: batches of at most MAX_INSERT_BYTES,
   * gzip-compressed, each retried up to retry_attempts times with backoff on network errors and 5xx/408/429
   * (not on rows ClickHouse refuses: those come back `permanent`, the table and ClickHouse's reason — which
   * names the column — in `error`). Stops at `signal`; `inserted` counts the lines of the batches taken, in
   * order (a failed batch stops the insert).
   */
  async insert(table: string, lines: readonly string[], options: {signal: AbortSignal; deadline: number}): Promise<InsertOutcome & {inserted: number}> {
    let attempts = 0;
    let status: number | null = null;
    let inserted = 0;
    for (const batch of batches(lines)) {
      const outcome = await this.insertBatch(table, batch, options);
      attempts += outcome.attempts;
      status = outcome.status ?? status;
      if (!outcome.ok) return {...outcome, attempts, status, inserted};
      inserted += batch.length;
    }
    return {ok: true, attempts, status, error: null, permanent: false, inserted};
  }

  private async insertBatch(table: string, lines: readonly string[], options: {signal: AbortSignal; deadline: number}): Promise<InsertOutcome> {
    const where = `${this.target.database}.${table}`;
    const url = new URL(this.endpoint);
    url.searchParams.set('query', `INSERT INTO ${where} FORMAT JSONEachRow`);
    const body = gzipSync(`${lines.join('\n')}\n`, {level: 3});
    const budget =
      this.options.requestBudgetMs === undefined ? options.signal : AbortSignal.any([options.signal, AbortSignal.timeout(this.options.requestBudgetMs)]);
    let status: number | null = null;
    let error: string | null = null;
    let attempt = 0;
    for (;;) {
      attempt++;
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: this.headers({'content-type': 'application/x-ndjson', 'content-encoding': 'gzip'}),
          body,
          redirect: 'error',
          signal: AbortSignal.any([budget, AbortSignal.timeout(this.target.timeout_ms)]),
        });
        status = response.status;
        const text = await response.text().catch(() => '');
        if (response.ok) return {ok: true, attempts: attempt, status, error: null, permanent: false};
        const code = /^Code: (\d+)/.exec(text)?.[1];
        const permanent = (code !== undefined && PERMANENT_CODES.has(Number(code))) || !isRetryableStatus(response.status);
        error = `${this.shown} refused the rows for ${where}: HTTP ${response.status}${code === undefined ? '' : `, ClickHouse code ${code}`}: ${clickhouseMessage(text)}`;
        if (permanent) return {ok: false, attempts: attempt, status, error, permanent: true, ...(code === undefined ? {} : {code: Number(code)})};
      } catch (caught) {
        if (options.signal.aborted)
          return {ok: false, attempts: attempt, status, error: `delivery deadline reached while inserting into ${where} at ${this.shown}`, permanent: false};
        const timedOut = (caught as {name?: string}).name === 'TimeoutError';
        error = `${this.shown}: ${timedOut ? `no answer within ${this.target.timeout_ms} ms` : describeFetchError(caught)} (inserting into ${where})`;
        if (budget.aborted) return {ok: false, attempts: attempt, status, error, permanent: false};
      }
      if (attempt > this.target.retry_attempts) return {ok: false, attempts: attempt, status, error, permanent: false};
      const delay = backoffMs(attempt, this.options.random);
      if (Date.now() + delay > options.deadline || !(await sleep(delay, budget))) {
        return {ok: false, attempts: attempt, status, error: `${error} (deadline reached before the next retry)`, permanent: false};
      }
    }
  }
}

/** ClickHouse's error text reduced to its message (`Code: N, e.displayText() = DB::Exception: …`), one line, at most 300 characters. */
export function clickhouseMessage(text: string): string {
  const display = /e\.displayText\(\) = (?:DB::Exception: )?([\s\S]*?)(?:, e\.what\(\) = |$)/.exec(text)?.[1] ?? text;
  const line = terminalSafe(display.replace(/\s+/g, ' ').trim());
  return line.length > 300 ? `${line.slice(0, 299)}…` : line === '' ? '(no message)' : line;
}

/** Lines grouped into batches of at most MAX_INSERT_BYTES (a longer single line is a batch of its own). */
function* batches(lines: readonly string[]): Generator<readonly string[]> {
  let start = 0;
  let size = 0;
  for (let i = 0; i < lines.length; i++) {
    const length = (lines[i] as string).length + 1;
    if (size + length > MAX_INSERT_BYTES && i > start) {
      yield lines.slice(start, i);
      start = i;
      size = 0;
    }
    size += length;
  }
  if (start < lines.length) yield lines.slice(start);
}
