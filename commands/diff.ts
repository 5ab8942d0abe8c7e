import {Args, Flags} from '@oclif/core';

import {ExitCode} from '../src/errors.js';
import {DaemonEyeCommand} from './_base/base-command.js';
import {configFlags} from './_base/config-flags.js';
import {formatFlag, readerRedaction} from './_base/flags.js';
import {type CommandOutcome, shown} from './_base/outcome.js';

export default class Diff extends DaemonEyeCommand<typeof Diff> {
  static override summary = 'Show what changed between two scans: processes, new executables, changed hashes, parent → child pairs, listening ports.';
  static override description =
    'OLD and NEW are snapshot files or store directories (the latest scan of each); one store alone compares its last two scans; no argument, the configured store. Processes are matched by entity id (boot id, pid, start time). Each change is one osquery-style differential result: {"name", "action": "added"|"removed"|"changed", "columns", …}, NDJSON when piped, a table on a terminal. Listening ports are compared when both scans hold them. Exit 1 with --fail-on-change when anything changed.';
  static override examples = [
    '<%= config.bin %> diff baseline.db now.db',
    '<%= config.bin %> diff /var/lib/daemoneye/store --fail-on-change',
    '<%= config.bin %> diff known-good.db /var/lib/daemoneye/store | jq -c \'select(.name == "new_executables")\'',
  ];
  static override args = {
    old: Args.string({description: 'The older snapshot file or store (or a store alone: its last two scans).'}),
    new: Args.string({description: 'The newer snapshot file or store.'}),
  };
  static override flags = {
    format: formatFlag(['json', 'ndjson', 'table', 'ocsf', 'osquery'] as const),
    'fail-on-change': Flags.boolean({summary: 'Exit 1 when anything changed.'}),
    ...configFlags('redact'),
  };

  protected async execute(): Promise<CommandOutcome> {
    const config = this.loadConfig();
    const [{diffInputs}, {diffSummaryLine, diffView}, {snapshotLimitsFromConfig}] = await Promise.all([
      import('../src/app/diff.js'),
      import('../src/diff/diff-view.js'),
      import('../src/storage/snapshot-file.js'),
    ]);
    const inputs = [this.args.old, this.args.new].filter((a): a is string => a !== undefined);
    const diff = await diffInputs({
      inputs,
      defaultStore: config.paths.storeDir,
      redaction: readerRedaction(config, (message) => this.logger.warn(message)),
      limits: snapshotLimitsFromConfig(config.values.storage),
      // An unusable file of a store is reported and skipped; the diff of the others is printed, then exit 2.
      onProblem: (problem) => this.logger.reportError(problem),
      onWarning: (warning) => this.logger.warn(warning),
    });
    const partial = (diff.skipped_files?.length ?? 0) > 0;
    return {
      output: shown(diffView(diff), this.flags.format),
      report: [{info: diffSummaryLine(diff)}],
      exitCode: partial ? ExitCode.UsageOrInput : this.flags['fail-on-change'] && diff.results.length > 0 ? ExitCode.CheckFailed : ExitCode.Success,
      audit: {action: 'diff', payload: {old: diff.old, new: diff.new, counts: diff.counts}},
    };
  }
}
