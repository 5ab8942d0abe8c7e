import {Args} from '@oclif/core';

import {runQuery} from '../src/detection/query.js';
import {querySnapshot} from '../src/detection/snapshot-source.js';
import {type DaemonEyeError, ExitCode, isDaemonEyeError} from '../src/errors.js';
import {queryView} from '../src/detection/detection-view.js';
import {parseTime} from '../src/util/time.js';
import {DaemonEyeCommand} from './_base/base-command.js';
import {formatFlag, inputFlag, sinceFlag} from './_base/flags.js';
import {type CommandOutcome, shown} from './_base/outcome.js';

export default class Query extends DaemonEyeCommand<typeof Query> {
  static override summary = 'Run one read-only SQL query over a live or saved snapshot.';
  static override description =
    'The same validator and sandbox as detection rules: one SELECT over the snapshot tables (processes, the live-response tables, scans, alerts: docs/schema.md), list_<name> tables and json_each; on the live host only the tables it reads are collected, allow-listed functions only (docs/rules-sql.md). Refused SQL exits 2; a query past detection.rule_timeout_ms is killed (exit 3).';
  static override examples = [
    `<%= config.bin %> query "SELECT pid, name, cmdline FROM processes WHERE uid = 0" --input snapshot.db`,
    `<%= config.bin %> query - --input snapshot.db < hunt.sql`,
    `<%= config.bin %> query "SELECT p.pid, p.name, s.remote_address, s.remote_port FROM process_open_sockets s JOIN processes p USING (pid) WHERE s.state = 'ESTABLISHED'"`,
    `<%= config.bin %> query "SELECT name, count(*) AS n FROM processes GROUP BY name ORDER BY n DESC" --input store/ --since 7d --format csv`,
  ];
  static override args = {sql: Args.string({description: 'The SQL query, or - to read it from stdin.', required: true})};
  static override flags = {
    format: formatFlag(['table', 'json', 'ndjson', 'csv', 'ecs', 'ocsf'] as const),
    input: inputFlag,
    since: sinceFlag,
  };

  protected async execute(): Promise<CommandOutcome> {
    const config = this.loadConfig();
    const since = this.flags.since === undefined ? undefined : parseTime(this.flags.since, Date.now(), '--since');
    const sql = this.args.sql === '-' ? await readSqlFromStdin() : this.args.sql;
    let report: Awaited<ReturnType<typeof runQuery>>;
    // An unusable file in a store is reported and skipped; the query runs on the others and ends with exit 2.
    let skipped = 0;
    try {
      const onProblem = (problem: DaemonEyeError): void => {
        this.logger.reportError(problem);
        skipped += 1;
      };
      report = await runQuery({
        config: config.values,
        sql,
        snapshot: async (needs) =>
          querySnapshot({config: config.values, input: this.flags.input, since, onProblem, onWarning: (warning) => this.logger.warn(warning)}, needs),
      });
    } catch (error) {
      // SQL the validator refused is recorded with its reasons: probing the sandbox leaves a trace.
      if (isDaemonEyeError(error) && error.code === 'SQL_REFUSED') {
        return {refused: error, audit: {action: 'sql_refused', payload: {sql: sql.slice(0, 4096), sql_bytes: sql.length, reasons: error.details}}};
      }
      throw error;
    }
    return {
      output: shown(queryView(report), this.flags.format),
      report: [
        {info: `${report.row_count} row${report.row_count === 1 ? '' : 's'} in ${report.elapsed_ms} ms from ${report.source}`},
        ...(report.truncated ? [{warn: `the result was cut at ${report.row_count} rows`}] : []),
      ],
      exitCode: skipped > 0 ? ExitCode.UsageOrInput : ExitCode.Success,
      audit: {action: 'query', payload: {sql: sql.slice(0, 4096), rows: report.row_count, source: report.source, scan_ids: report.scan_ids}},
    };
  }
}

/** SQL from stdin; reading stops past 4 MiB (the validator refuses anything over its 64 KiB limit anyway). */
async function readSqlFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size > 4 * 1024 * 1024) break;
  }
  return Buffer.concat(chunks).toString('utf8');
}
