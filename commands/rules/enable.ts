import {Args} from '@oclif/core';

import {switchRule} from '../../src/detection/rules-admin.js';
import {renderJson} from '../../src/output/render.js';
import {DaemonEyeCommand} from '../_base/base-command.js';
import {formatFlag} from '../_base/flags.js';

export default class RulesEnable extends DaemonEyeCommand<typeof RulesEnable> {
  static override summary = 'Enable a rule in the configuration file.';
  static override description =
    'Writes detection.enabled_rules (and removes the id from detection.disabled_rules) in the --config file, else the user configuration file (created when missing), atomically and keeping its comments.';
  static override examples = [
    '<%= config.bin %> rules enable suspicious-shell-from-web-server',
    '<%= config.bin %> rules enable my-rule --config /etc/daemoneye/config.yaml',
  ];
  static override args = {id: Args.string({description: 'The rule id.', required: true})};
  static override flags = {format: formatFlag(['json', 'text'] as const, 'Output format (default: text).')};

  async run(): Promise<void> {
    const config = this.loadConfig();
    const result = switchRule({
      config: config.values,
      id: this.args.id,
      enabled: true,
      ...(this.flags.config === undefined ? {} : {configFile: this.flags.config}),
    });
    if (this.flags.format === 'json') this.write(renderJson(result));
    this.logger.info(`rule ${result.rule_id} ${result.changed ? 'enabled' : 'was already enabled'} in ${result.file}${result.created ? ' (created)' : ''}`);
    await this.audit('rule_enable', result);
  }
}
