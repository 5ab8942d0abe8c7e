import {Flags} from '@oclif/core';

import {loadSinkKinds, sinkSecrets} from '../src/alerting/sinks/sink-kinds.js';
import {shipToClickHouse} from '../src/app/ship.js';
import {ExitCode} from '../src/errors.js';
import {TABLE_NAMES} from '../src/models/tables.js';
import {safeJson} from '../src/output/terminal.js';
import {snapshotLimitsFromConfig} from '../src/storage/snapshot-file.js';
import {parseTime} from '../src/util/time.js';
import {DaemonEyeCommand} from './_base/base-command.js';
import {configFlags} from './_base/config-flags.js';
import {readerRedaction, sinceFlag, untilFlag} from './_base/flags.js';
import {type CommandOutcome, text} from './_base/outcome.js';

export default class Ship extends DaemonEyeCommand<typeof Ship> {
  static override summary = 'Insert the tables of a snapshot file or store into ClickHouse, the fleet engine, through the configured clickhouse sink.';
  static override description =
    'Every table (or --table) of the scans in range, each row with its host and time, over the ClickHouse HTTP interface ' +
    '(INSERT … FORMAT JSONEachRow, gzip, retried with backoff). Create the tables first with `daemoneye schema --dialect clickhouse`. ' +
    'A failure exits 3 and says which scans went in; the input is never changed. Prints what was inserted, as JSON (docs/operations/fleet.md).';
  static override examples = [
    '<%= config.bin %> scan --output /var/tmp/daemoneye-last.db && <%= config.bin %> ship --input /var/tmp/daemoneye-last.db',
    '<%= config.bin %> ship --since 24h --table processes --table scans',
  ];
  static override flags = {
    input: Flags.string({summary: 'Snapshot file or store directory (default: storage.path, i.e. <app.state_dir>/store).'}),
    table: Flags.option({options: TABLE_NAMES, multiple: true, summary: 'Only these tables (default: every table).'})(),
    since: sinceFlag,
    until: untilFlag,
    'scan-id': Flags.integer({min: 0, max: Number.MAX_SAFE_INTEGER, summary: 'Only this scan.'}),
    sink: Flags.string({summary: 'The clickhouse sink to ship through (default: the only one configured).'}),
    ...configFlags('redact'),
  };

  protected async execute(): Promise<CommandOutcome> {
    const config = this.loadConfig();
    const now = Date.now();
    const {flags} = this;
    await loadSinkKinds(config.values.alerting.sinks);
    for (const secret of config.values.alerting.sinks.flatMap(sinkSecrets)) this.logger.addSecret(secret);
    const input = flags.input ?? config.paths.storeDir;
    const result = await shipToClickHouse({
      input,
      ...(flags.table === undefined ? {} : {tables: flags.table}),
      since: flags.since === undefined ? undefined : parseTime(flags.since, now, '--since'),
      until: flags.until === undefined ? undefined : parseTime(flags.until, now, '--until'),
      scanId: flags['scan-id'],
      limits: snapshotLimitsFromConfig(config.values.storage),
      redaction: readerRedaction(config, (message) => this.logger.warn(message)),
      sinks: config.values.alerting.sinks,
      ...(flags.sink === undefined ? {} : {sinkName: flags.sink}),
      onProblem: (problem) => this.logger.reportError(problem),
      onWarning: (warning) => this.logger.warn(warning),
    });
    const skipped = result.problems.length > 0;
    return {
      output: text(`${safeJson({server: result.server, database: result.database, rows: result.rows, scan_ids: result.scanIds})}\n`),
      report: skipped ? [{warn: `${result.problems.length} snapshot file(s) could not be read and were skipped`}] : [],
      exitCode: skipped ? ExitCode.UsageOrInput : ExitCode.Success,
      audit: {action: 'ship', payload: {input, server: result.server, database: result.database, rows: result.rows, scan_ids: result.scanIds}},
    };
  }
}
