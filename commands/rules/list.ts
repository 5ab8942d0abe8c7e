import {Flags} from '@oclif/core';

import {listRules} from '../../src/app/rules.js';
import {ruleListView} from '../../src/app/rules-view.js';
import {ExitCode} from '../../src/errors.js';
import {DaemonEyeCommand} from '../_base/base-command.js';
import {formatFlag} from '../_base/flags.js';
import {type CommandOutcome, shown} from '../_base/outcome.js';

export default class RulesList extends DaemonEyeCommand<typeof RulesList> {
  static override summary = 'List the detection rules and whether each is enabled.';
  static override description =
    'Built-in rules, rules in the user rules directory, detection.rules_paths and --rules, with enable/disable from configuration applied.';
  static override examples = ['<%= config.bin %> rules list', "<%= config.bin %> rules list --format json | jq '.[] | select(.enabled == false) | .id'"];
  static override flags = {
    format: formatFlag(['table', 'json', 'ndjson', 'csv'] as const),
    rules: Flags.string({summary: 'A further directory or file of rules (repeatable).', multiple: true}),
  };

  protected async execute(): Promise<CommandOutcome> {
    const config = this.loadConfig();
    const rules = await listRules({config: config.values, rulesPaths: this.flags.rules ?? []});
    return {
      output: shown(ruleListView(rules), this.flags.format),
      report: [{info: `${rules.length} rules, ${rules.filter((r) => r.enabled).length} enabled`}],
      exitCode: ExitCode.Success,
      audit: null,
    };
  }
}
