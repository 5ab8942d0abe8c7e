import {Flags} from '@oclif/core';

import {coverageView} from '../../src/app/rules-view.js';
import {rulesCoverage} from '../../src/app/rules.js';
import {ExitCode} from '../../src/errors.js';
import {DaemonEyeCommand} from '../_base/base-command.js';
import {formatFlag} from '../_base/flags.js';
import {type CommandOutcome, shown} from '../_base/outcome.js';

export default class RulesCoverage extends DaemonEyeCommand<typeof RulesCoverage> {
  static override summary = 'Map the enabled rules onto ATT&CK: covered, visible to a snapshot, or not visible, per Linux technique.';
  static override description =
    'One row per ATT&CK Enterprise technique on Linux: the enabled rules tagged with it, or why none is (a snapshot could show it but no rule judges it, or a snapshot cannot show it). --format navigator writes an ATT&CK Navigator layer (format 4.5).';
  static override examples = [
    '<%= config.bin %> rules coverage',
    '<%= config.bin %> rules coverage --format navigator > daemoneye-layer.json',
    "<%= config.bin %> rules coverage --format json | jq '.counts'",
  ];
  static override flags = {
    format: formatFlag(['table', 'json', 'ndjson', 'csv', 'navigator'] as const),
    rules: Flags.string({summary: 'A further directory or file of rules (repeatable).', multiple: true}),
  };

  protected async execute(): Promise<CommandOutcome> {
    const config = this.loadConfig();
    const report = await rulesCoverage({config: config.values, rulesPaths: this.flags.rules ?? []});
    return {
      output: shown(coverageView(report), this.flags.format),
      report: [{info: `${report.counts.covered} covered / ${report.counts.visible} visible to a snapshot / ${report.counts.total} Linux techniques`}],
      exitCode: ExitCode.Success,
      audit: null,
    };
  }
}
