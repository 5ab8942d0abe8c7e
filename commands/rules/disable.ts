import {Args} from '@oclif/core';

import {switchRule} from '../../src/detection/rules-admin.js';
import {renderJson} from '../../src/output/render.js';
import {DaemonEyeCommand} from '../_base/base-command.js';
import {formatFlag} from '../_base/flags.js';

export default class RulesDisable extends DaemonEyeCommand<typeof RulesDisable> {
  static override summary = 'Disable a rule in the configuration file.';
  static override description =
    'Writes detection.disabled_rules (and removes the id from detection.enabled_rules) in the --config file, else the user configuration file (created when missing), atomically and keeping its comments.';
  static override examples = [
    '<%= config.bin %> rules disable suspicious-shell-from-web-server',
    '<%= config.bin %> rules disable my-rule --config /etc/daemoneye/config.yaml',
  ];
  static override args = {id: Args.string({description: 'The rule id.', required: true})};
  static override flags = {format: formatFlag(['json', 'text'] as const, 'Output format (default: text).')};

  async run(): Promise<void> {
    const config = this.loadConfig();
    const result = switchRule({
      config: config.values,
      id: this.args.id,
      enabled: false,
      ...(this.flags.config === undefined ? {} : {configFile: this.flags.config}),
    });
    if (this.flags.format === 'json') this.write(renderJson(result));
    this.logger.info(`rule ${result.rule_id} ${result.changed ? 'disabled' : 'was already disabled'} in ${result.file}${result.created ? ' (created)' : ''}`);
    await this.audit('rule_disable', result);
  }
}
