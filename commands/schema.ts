import {Flags} from '@oclif/core';

import {tableSchema} from '../src/app/ship.js';
import {ExitCode} from '../src/errors.js';
import {DaemonEyeCommand} from './_base/base-command.js';
import {type CommandOutcome, text} from './_base/outcome.js';

export default class Schema extends DaemonEyeCommand<typeof Schema> {
  static override summary =
    'Print the DDL of every table: ClickHouse (the fleet engine: MergeTree by day, ordered by host and time) or SQLite (a snapshot file).';
  static override description =
    'From the table registry, the same declarations as docs/schema.md. --dialect clickhouse gives each table in the fleet shape ' +
    '(host_id, hostname and scan_time added), with exact types, partitioned by day and ordered by host and time, for `ship` and the clickhouse sink ' +
    '(docs/operations/fleet.md). Pipe it into clickhouse-client --multiquery, or POST it statement by statement.';
  static override examples = [
    '<%= config.bin %> schema --dialect clickhouse | clickhouse-client --multiquery',
    '<%= config.bin %> schema --dialect clickhouse --database security',
    '<%= config.bin %> schema --dialect sqlite',
  ];
  static override flags = {
    dialect: Flags.option({options: ['clickhouse', 'sqlite'] as const, default: 'clickhouse' as const, summary: 'SQL dialect.'})(),
    database: Flags.string({default: 'daemoneye', summary: 'ClickHouse database the tables go in.'}),
  };

  protected async execute(): Promise<CommandOutcome> {
    return {output: text(`${tableSchema(this.flags.dialect, this.flags.database).join(';\n\n')};\n`), exitCode: ExitCode.Success, audit: null};
  }
}
