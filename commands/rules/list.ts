import {Flags} from '@oclif/core';

import {listRules} from '../../src/app/rules.js';
import {ruleListView} from '../../src/app/rules-view.js';
import {DaemonEyeCommand} from '../_base/base-command.js';
import {formatFlag} from '../_base/flags.js';

export default class RulesList extends DaemonEyeCommand<typeof RulesList> {
  static override summary = 'List the detection rules and whether each is enabled.';
  static override description =
    'Built-in rules, rules in the user rules directory, detection.rules_paths and --rules, with enable/disable from configuration applied.';
  static override examples = ['<%= config.bin %> rules list', "<%= config.bin %> rules list --format json | jq '.[] | select(.enabled == false) | .id'"];
  static override flags = {
    format: formatFlag(['table', 'json', 'ndjson', 'csv'] as const),
    rules: Flags.string({summary: 'A further directory or file of rules (repeatable).', multiple: true}),
  };

  async run(): Promise<void> {
    const config = this.loadConfig();
    const rules = listRules({config: config.values, rulesPaths: this.flags.rules ?? []});
    await this.present(this.flags.format, ruleListView(rules));
    this.logger.info(`${rules.length} rules, ${rules.filter((r) => r.enabled).length} enabled`);
  }
}
