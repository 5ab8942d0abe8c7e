import {Flags} from '@oclif/core';

import {DaemonEyeError, ExitCode} from '../src/errors.js';
import {EXPORT_FORMATS, EXPORT_TABLES, exportData} from '../src/storage/export.js';
import {exportParquet} from '../src/storage/parquet-export.js';
import {snapshotLimitsFromConfig} from '../src/storage/snapshot-file.js';
import {preflightOutput} from '../src/util/output-file.js';
import {parseTime} from '../src/util/time.js';
import {DaemonEyeCommand} from './_base/base-command.js';
import {configFlags} from './_base/config-flags.js';
import {PID_MAX_LIMIT, readerRedaction, sinceFlag, untilFlag} from './_base/flags.js';
import {type CommandOutcome, type ReportLine, text} from './_base/outcome.js';

export default class Export extends DaemonEyeCommand<typeof Export> {
  static override summary =
    'Export a table (processes, a live-response table, scans or alerts) from a snapshot file or store as NDJSON, JSON, CSV, ECS, OCSF, or Parquet files.';
  static override description =
    'Reads a snapshot file (scan --output) or a store directory (scan --store; default: the configured store), one file at a time. ' +
    '--since/--until select scans by their start time. A corrupt file in a store is reported and skipped; the exit code is then 2. ' +
    '--format parquet writes every table (or --table) under the directory --output as table=…/date=…/host_key=…/<scan id>.parquet and prints the files written (docs/formats.md).';
  static override examples = [
    '<%= config.bin %> export --input snapshot.db',
    '<%= config.bin %> export --since 24h --name sshd | jq .command_line',
    '<%= config.bin %> export --input /var/lib/daemoneye/store --table scans --format csv --output scans.csv',
    '<%= config.bin %> export --since 24h --format parquet --output /srv/lake',
  ];
  static override flags = {
    input: Flags.string({summary: 'Snapshot file or store directory (default: storage.path, i.e. <app.state_dir>/store).'}),
    table: Flags.option({options: EXPORT_TABLES, summary: 'Which records to export (default: processes; with --format parquet: every table).'})(),
    format: Flags.option({
      options: [...EXPORT_FORMATS, 'parquet'] as const,
      default: 'ndjson' as const,
      summary: 'Output format: CSV per RFC 4180 with a header; ecs and ocsf map processes and alerts (docs/formats.md); parquet writes files under --output.',
    })(),
    since: sinceFlag,
    until: untilFlag,
    pid: Flags.integer({min: 0, max: PID_MAX_LIMIT, summary: 'Only this pid (every table with a pid column; for alerts: alerts affecting it).'}),
    name: Flags.string({summary: 'Only processes with this exact name.'}),
    'scan-id': Flags.integer({min: 0, max: Number.MAX_SAFE_INTEGER, summary: 'Only this scan.'}),
    output: Flags.string({
      char: 'o',
      summary: 'Write to this file (atomically, mode 0600; a device or FIFO is written through) instead of stdout; with --format parquet: the lake directory.',
    }),
    ...configFlags('redact'),
  };

  protected async execute(): Promise<CommandOutcome> {
    if (this.flags.format === 'parquet') return this.parquet();
    const config = this.loadConfig();
    const now = Date.now();
    const {flags} = this;
    // Before reading a store that may be large: a path that cannot be written is said now.
    if (flags.output !== undefined) preflightOutput(flags.output, {what: 'export output'});
    const format = flags.format as (typeof EXPORT_FORMATS)[number];
    const result = await exportData(
      {
        input: flags.input ?? config.paths.storeDir,
        table: flags.table ?? 'processes',
        format,
        since: flags.since === undefined ? undefined : parseTime(flags.since, now, '--since'),
        until: flags.until === undefined ? undefined : parseTime(flags.until, now, '--until'),
        pid: flags.pid,
        name: flags.name,
        scanId: flags['scan-id'],
        outputPath: flags.output,
        limits: snapshotLimitsFromConfig(config.values.storage),
        redaction: readerRedaction(config, (message) => this.logger.warn(message)),
      },
      {
        onProblem: (problem) => this.logger.reportError(problem),
        onWarning: (warning) => this.logger.warn(warning),
        onNote: (message) => this.logger.info(message),
      },
    );
    const scans = result.scanIds.length;
    return {
      output: null,
      report: [
        {debug: `exported ${result.rows} ${result.table} rows from ${result.filesRead} snapshot file(s)`},
        ...(result.scansWithoutTable > 0
          ? [
              {
                warn: `${result.scansWithoutTable} of ${scans} scan${scans === 1 ? '' : 's'} in range did not collect ${result.table}: none of their rows are here`,
              },
            ]
          : []),
        ...skippedFiles(result.problems.length),
      ],
      exitCode: result.problems.length > 0 ? ExitCode.UsageOrInput : ExitCode.Success,
      audit: {
        action: 'export',
        payload: {
          input: flags.input ?? config.paths.storeDir,
          table: result.table,
          format: result.format,
          rows: result.rows,
          scan_ids: result.scanIds,
          output: result.outputPath ?? null,
        },
      },
    };
  }

  /** `--format parquet`: the lake layout under --output; prints each file written (relative to it), one a line. */
  private async parquet(): Promise<CommandOutcome> {
    const config = this.loadConfig();
    const now = Date.now();
    const {flags} = this;
    if (flags.output === undefined) {
      throw new DaemonEyeError('INVALID_ARGUMENT', '--format parquet writes files: it needs --output DIR', {hint: 'add --output /path/to/lake'});
    }
    for (const [flag, value] of [
      ['--pid', flags.pid],
      ['--name', flags.name],
    ] as const) {
      if (value !== undefined) {
        throw new DaemonEyeError('INVALID_ARGUMENT', `${flag} does not apply to --format parquet: a lake holds whole scans`, {
          hint: 'filter when you query the lake, or choose scans with --since, --until or --scan-id',
        });
      }
    }
    const input = flags.input ?? config.paths.storeDir;
    const result = await exportParquet({
      input,
      outputDir: flags.output,
      ...(flags.table === undefined ? {} : {tables: [flags.table]}),
      since: flags.since === undefined ? undefined : parseTime(flags.since, now, '--since'),
      until: flags.until === undefined ? undefined : parseTime(flags.until, now, '--until'),
      scanId: flags['scan-id'],
      limits: snapshotLimitsFromConfig(config.values.storage),
      redaction: readerRedaction(config, (message) => this.logger.warn(message)),
      onProblem: (problem) => this.logger.reportError(problem),
      onWarning: (warning) => this.logger.warn(warning),
    });
    return {
      output: result.files.length > 0 ? text(`${result.files.join('\n')}\n`) : null,
      report: [
        {info: `wrote ${result.files.length} Parquet file(s), ${result.rows} rows, under ${flags.output}`},
        ...(result.unscannedAlerts > 0 ? [{warn: `${result.unscannedAlerts} alert(s) tied to no scan have no host or date to file under: not written`}] : []),
        ...skippedFiles(result.problems.length),
      ],
      exitCode: result.problems.length > 0 ? ExitCode.UsageOrInput : ExitCode.Success,
      audit: {
        action: 'export',
        payload: {input, table: flags.table ?? 'all', format: 'parquet', rows: result.rows, scan_ids: result.scanIds, output: flags.output},
      },
    };
  }
}

/** The warning that `count` snapshot files of a store were skipped (each was reported as it was read). */
function skippedFiles(count: number): ReportLine[] {
  return count > 0 ? [{warn: `${count} snapshot file(s) could not be read and were skipped`}] : [];
}
