import {Flags} from '@oclif/core';

import {ExitCode} from '../src/errors.js';
import {EXPORT_FORMATS, EXPORT_TABLES, exportData} from '../src/storage/export.js';
import {snapshotLimitsFromConfig} from '../src/storage/snapshot-file.js';
import {parseTime} from '../src/util/time.js';
import {DaemonEyeCommand} from './_base/base-command.js';
import {sinceFlag, untilFlag} from './_base/flags.js';

export default class Export extends DaemonEyeCommand<typeof Export> {
  static override summary = 'Export a table (processes, a live-response table, scans or alerts) from a snapshot file or store as NDJSON, JSON or CSV.';
  static override description =
    'Reads a snapshot file (scan --output) or a store directory (scan --store; default: the configured store), one file at a time. ' +
    '--since/--until select scans by their start time. A corrupt file in a store is reported and skipped; the exit code is then 2.';
  static override examples = [
    '<%= config.bin %> export --input snapshot.db',
    '<%= config.bin %> export --since 24h --name sshd | jq .command_line',
    '<%= config.bin %> export --input /var/lib/daemoneye/store --table scans --format csv --output scans.csv',
  ];
  static override flags = {
    input: Flags.string({summary: 'Snapshot file or store directory (default: storage.path, i.e. <app.state_dir>/store).'}),
    table: Flags.option({options: EXPORT_TABLES, default: 'processes' as const, summary: 'Which records to export.'})(),
    format: Flags.option({
      options: EXPORT_FORMATS,
      default: 'ndjson' as const,
      summary: 'Output format: CSV per RFC 4180 with a header; ecs and ocsf map processes and alerts (docs/formats.md).',
    })(),
    since: sinceFlag,
    until: untilFlag,
    pid: Flags.integer({min: 0, summary: 'Only this pid (every table with a pid column; for alerts: alerts affecting it).'}),
    name: Flags.string({summary: 'Only processes with this exact name.'}),
    'scan-id': Flags.integer({min: 0, summary: 'Only this scan.'}),
    output: Flags.string({char: 'o', summary: 'Write to this file (atomically, mode 0600) instead of stdout.'}),
  };

  async run(): Promise<void> {
    const config = this.loadConfig();
    const now = Date.now();
    const {flags} = this;
    const result = await exportData(
      {
        input: flags.input ?? config.paths.storeDir,
        table: flags.table,
        format: flags.format,
        since: flags.since === undefined ? undefined : parseTime(flags.since, now, '--since'),
        until: flags.until === undefined ? undefined : parseTime(flags.until, now, '--until'),
        pid: flags.pid,
        name: flags.name,
        scanId: flags['scan-id'],
        outputPath: flags.output,
        limits: snapshotLimitsFromConfig(config.values.storage),
      },
      {onProblem: (problem) => this.logger.reportError(problem), onWarning: (warning) => this.logger.warn(warning)},
    );
    this.logger.debug(`exported ${result.rows} ${result.table} rows from ${result.filesRead} snapshot file(s)`);
    if (result.scansWithoutTable > 0) {
      const scans = result.scanIds.length;
      this.logger.warn(
        `${result.scansWithoutTable} of ${scans} scan${scans === 1 ? '' : 's'} in range did not collect ${result.table}: none of their rows are here`,
      );
    }
    if (result.problems.length > 0) {
      this.logger.warn(`${result.problems.length} snapshot file(s) could not be read and were skipped`);
      this.setExitCode(ExitCode.UsageOrInput);
    }
    await this.audit('export', {
      input: flags.input ?? config.paths.storeDir,
      table: result.table,
      format: result.format,
      rows: result.rows,
      scan_ids: result.scanIds,
      output: result.outputPath ?? null,
      exit_code: this.currentExitCode,
    });
  }
}
