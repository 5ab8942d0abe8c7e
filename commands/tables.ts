import {Args} from '@oclif/core';

import {describeTable, listTables} from '../src/detection/table-catalog.js';
import {columnListView, tableListView} from '../src/detection/table-catalog-view.js';
import {ExitCode} from '../src/errors.js';
import {DaemonEyeCommand} from './_base/base-command.js';
import {formatFlag} from './_base/flags.js';
import {type CommandOutcome, shown} from './_base/outcome.js';

export default class Tables extends DaemonEyeCommand<typeof Tables> {
  static override summary = 'List the tables a rule or query can read, or the columns of one (as osqueryi .tables and .schema).';
  static override description =
    'Without TABLE: every table of a snapshot (processes, the live-response tables, scans, alerts), the view process_traits (processes with the shared rule predicates) and each named list as list_<name>. ' +
    'With TABLE: its columns, their types, nullability and meaning. With detect --baseline every table but alerts is also readable as baseline_<table>. ' +
    'The same facts as docs/schema.md, from the same declarations.';
  static override examples = [
    '<%= config.bin %> tables',
    '<%= config.bin %> tables process_open_sockets',
    "<%= config.bin %> tables processes --format json | jq -r '.[] | select(.nullable == false) | .column'",
  ];
  static override args = {table: Args.string({description: 'A table name: print its columns.'})};
  static override flags = {format: formatFlag(['table', 'json', 'ndjson', 'csv'] as const)};

  protected async execute(): Promise<CommandOutcome> {
    const config = this.loadConfig();
    const view =
      this.args.table === undefined
        ? shown(tableListView(listTables(config.values)), this.flags.format)
        : shown(columnListView(describeTable(this.args.table, config.values)), this.flags.format);
    return {output: view, exitCode: ExitCode.Success, audit: null};
  }
}
