// `daemoneye ship`: the tables of a snapshot file or store inserted into ClickHouse, the fleet's engine, in the
// fleet shape (src/models/fleet-table.ts: every row with its host and time), through the configured
// `clickhouse` sink's server and credentials (src/storage/clickhouse.ts). One INSERT per table per snapshot
// file (split past 16 MB), gzip-compressed, retried with backoff; the snapshot files are never changed.
import type {SinkConfig} from '../config/schema.js';
import {DaemonEyeError} from '../errors.js';
import {fleetColumns} from '../models/fleet-table.js';
import {COLLECTED_TABLE_NAMES, TABLE_NAMES, TABLES, type TableDefinition, tableDefinition, tableDdl} from '../models/tables.js';
import {ClickHouseClient, clickhouseSchema, isAuthenticationCode, jsonEachRowLine} from '../storage/clickhouse.js';
import {fleetRowsOfScan} from '../storage/fleet-rows.js';
import {rangeReadOptions, requireSnapshotsInRange} from '../storage/input.js';
import type {ReadRedaction} from '../storage/redact-snapshot.js';
import type {SnapshotLimits} from '../storage/snapshot-file.js';
import {formatTime} from '../util/time.js';

export type ClickHouseSinkConfig = Extract<SinkConfig, {type: 'clickhouse'}>;

export interface ShipConfig {
  /** A snapshot file or a store directory. */
  readonly input: string;
  /** Tables to ship (default: every table). */
  readonly tables?: readonly string[];
  readonly since?: number;
  readonly until?: number;
  readonly scanId?: number;
  readonly limits?: SnapshotLimits;
  /** The redaction policy applied to what is read (src/storage/redact-snapshot.ts): default policy when absent; false shows data as stored. */
  readonly redaction?: ReadRedaction;
  /** The configured sinks; the `clickhouse` one named `sinkName` (or the only one) is the server. */
  readonly sinks: readonly SinkConfig[];
  readonly sinkName?: string;
  readonly onProblem?: (problem: DaemonEyeError) => void;
  readonly onWarning: (warning: string) => void;
}

export interface ShipResult {
  /** The server, as origin and path (no credentials). */
  readonly server: string;
  readonly database: string;
  /** Rows inserted, by table. */
  readonly rows: Record<string, number>;
  readonly scanIds: number[];
  readonly filesRead: number;
  /** Store files that could not be used (passed to onProblem); the CLI exits 2 when any. */
  readonly problems: DaemonEyeError[];
  /** Secrets of the sink, for the logger to redact. */
  readonly secrets: string[];
}

/** The `clickhouse` sink to ship through: the one named, else the only one configured (SINK_UNKNOWN, exit 2, otherwise). */
export function clickhouseSink(sinks: readonly SinkConfig[], name?: string): ClickHouseSinkConfig {
  const candidates = sinks.filter((s): s is ClickHouseSinkConfig => s.type === 'clickhouse');
  const chosen = name === undefined ? (candidates.length === 1 ? candidates[0] : undefined) : candidates.find((s) => s.name === name);
  if (chosen !== undefined) return chosen;
  const problem =
    name !== undefined
      ? `no clickhouse sink is named ${name}`
      : candidates.length === 0
        ? 'no sink of type clickhouse is configured'
        : `${candidates.length} clickhouse sinks are configured (${candidates.map((s) => s.name).join(', ')})`;
  throw new DaemonEyeError('SINK_UNKNOWN', problem, {
    hint: name === undefined && candidates.length > 1 ? 'choose one with --sink NAME' : 'add one under alerting.sinks (docs/operations/fleet.md)',
  });
}

/**
 * Insert the scans in range of `input` into the ClickHouse database of the clickhouse sink: each table's rows
 * in the fleet shape, table by table, file by file. A failure stops the run with DELIVERY_FAILED (exit 3)
 * saying which scans went in and how to ship the rest (`--since`): the input is never changed, so nothing is
 * lost. Unknown tables are INVALID_ARGUMENT; ClickHouse refusing rows (a schema mismatch) names the table and
 * ClickHouse's reason, which names the column.
 */
export async function shipToClickHouse(config: ShipConfig): Promise<ShipResult> {
  const tables = config.tables ?? TABLE_NAMES;
  const unknown = tables.filter((t) => !TABLE_NAMES.includes(t));
  if (unknown.length > 0) throw new DaemonEyeError('INVALID_ARGUMENT', `unknown table ${unknown.join(', ')}`, {hint: `ship one of ${TABLE_NAMES.join(', ')}`});
  const sink = clickhouseSink(config.sinks, config.sinkName);
  const client = new ClickHouseClient(sink);
  const problems: DaemonEyeError[] = [];
  const readOptions = rangeReadOptions(config, problems);
  const rows: Record<string, number> = Object.fromEntries(tables.map((t) => [t, 0]));
  const scanIds: number[] = [];
  let filesRead = 0;
  const signal = new AbortController().signal;
  for await (const snapshot of requireSnapshotsInRange(config.input, readOptions)) {
    filesRead++;
    const scans = snapshot.scans.filter((s) => snapshot.scanIds.includes(s.id));
    for (const table of tables) {
      const spec = tableDefinition(table) as TableDefinition;
      const columns = fleetColumns(spec);
      const lines: string[] = [];
      for (const scan of scans) {
        if (COLLECTED_TABLE_NAMES.includes(table) && !scan.tables.includes(table)) continue;
        for (const values of fleetRowsOfScan(snapshot.db, spec, scan)) lines.push(jsonEachRowLine(columns, values));
      }
      if (lines.length === 0) continue;
      const outcome = await client.insert(table, lines, {signal, deadline: Number.POSITIVE_INFINITY});
      rows[table] = (rows[table] ?? 0) + outcome.inserted;
      if (!outcome.ok) {
        const first = Math.min(...scans.map((s) => s.start_time));
        const shipped = scanIds.length === 0 ? 'no scan was shipped' : `${scanIds.length} scan(s) before ${formatTime(first)} were shipped`;
        throw new DaemonEyeError('DELIVERY_FAILED', `${outcome.error ?? `${client.shown} did not take the rows`}; ${shipped}`, {
          file: snapshot.path,
          hint: isAuthenticationCode(outcome.code)
            ? "check the clickhouse sink's user and password (`daemoneye health` probes them); the input is unchanged"
            : outcome.permanent
              ? `compare the table with \`daemoneye schema --dialect clickhouse\` (ClickHouse named what it refused); the input is unchanged`
              : `the input is unchanged: ship again with --since ${formatTime(first)} once the server answers`,
        });
      }
    }
    scanIds.push(...scans.map((s) => s.id));
  }
  return {server: client.shown, database: sink.database, rows, scanIds, filesRead, problems, secrets: client.secrets()};
}

/** `daemoneye schema`: the DDL statements of every table in `dialect` (ClickHouse: in `database`). */
export function tableSchema(dialect: 'clickhouse' | 'sqlite', database = 'daemoneye'): string[] {
  return dialect === 'clickhouse' ? clickhouseSchema(database) : TABLES.flatMap(tableDdl);
}
