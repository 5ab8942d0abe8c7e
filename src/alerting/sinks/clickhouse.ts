// ClickHouseSink: alerts inserted into the `alerts` table of a ClickHouse database (`daemoneye schema --dialect
// clickhouse`) over its HTTP interface, one batched, gzip-compressed `INSERT … FORMAT JSONEachRow` per run,
// retried with backoff (src/storage/clickhouse.ts). What is not taken stays in the spool like any sink's.
import {hostname} from 'node:os';

import type {SinkConfig} from '../../config/schema.js';
import type {Alert} from '../../models/alert.js';
import {fleetColumns} from '../../models/fleet-table.js';
import {ALERTS_TABLE} from '../../models/tables.js';
import {ClickHouseClient, jsonEachRowLine} from '../../storage/clickhouse.js';
import type {AlertSink, SinkKind, SinkSendOptions, SinkSendResult} from '../types.js';

export type ClickHouseSinkConfig = Extract<SinkConfig, {type: 'clickhouse'}>;

const COLUMNS = fleetColumns(ALERTS_TABLE);

/** An alert as a row of the ClickHouse `alerts` table: its columns, then its host's id and name (this host's name when it names none). */
export function clickhouseAlertLine(alert: Alert, fallbackHostname = hostname()): string {
  return jsonEachRowLine(COLUMNS, [...ALERTS_TABLE.toRow(alert), alert.host?.id ?? null, alert.host?.hostname ?? fallbackHostname]);
}

export class ClickHouseSink implements AlertSink {
  readonly type = 'clickhouse' as const;
  readonly name: string;
  readonly client: ClickHouseClient;

  constructor(config: ClickHouseSinkConfig, options: {deliveryTimeoutMs?: number; random?: () => number} = {}) {
    this.name = config.name;
    this.client = new ClickHouseClient(config, {
      ...(options.random === undefined ? {} : {random: options.random}),
      ...(options.deliveryTimeoutMs === undefined ? {} : {requestBudgetMs: options.deliveryTimeoutMs}),
    });
  }

  secrets(): string[] {
    return this.client.secrets();
  }

  async send(alerts: readonly Alert[], options: SinkSendOptions): Promise<SinkSendResult> {
    if (alerts.length === 0) return {delivered: [], attempts: 0, status: null, error: null};
    const outcome = await this.client.insert(
      'alerts',
      alerts.map((alert) => clickhouseAlertLine(alert)),
      options,
    );
    return {delivered: alerts.map((_, i) => i < outcome.inserted), attempts: outcome.attempts, status: outcome.status, error: outcome.error};
  }

  /** What `health` asks: `SELECT count() FROM db.alerts` with the run's credentials (no alert sent). */
  async probe(timeoutMs: number, database: string): Promise<{ok: boolean; detail: string}> {
    try {
      const count = (await this.client.query(`SELECT count() FROM ${database}.alerts`, timeoutMs)).trim();
      return {ok: true, detail: `${this.client.shown}: ${database}.alerts holds ${count} alert(s)`};
    } catch (error) {
      return {ok: false, detail: (error as Error).message};
    }
  }
}

/** The clickhouse sink kind: probed by a read of its alerts table with the run's credentials. */
export const CLICKHOUSE_SINK: SinkKind<ClickHouseSinkConfig> = {
  type: 'clickhouse',
  create: (config, options) => new ClickHouseSink(config, options.deliveryTimeoutMs === undefined ? {} : {deliveryTimeoutMs: options.deliveryTimeoutMs}),
  secrets: (config) => new ClickHouseSink(config).secrets(),
  probe: async (config, timeoutMs) => {
    const probe = await new ClickHouseSink(config).probe(Math.min(timeoutMs, config.timeout_ms), config.database);
    return {reachable: probe.ok, detail: probe.detail};
  },
  where: (config) => new ClickHouseSink(config).client.shown,
};
