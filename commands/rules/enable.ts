import {RuleSwitchCommand} from '../_base/rule-switch.js';

export default class RulesEnable extends RuleSwitchCommand {
  static override summary = 'Enable a rule in the configuration file.';
  static override description =
    'Writes detection.enabled_rules (and removes the id from detection.disabled_rules) in the --config file, else the user configuration file (created when missing), atomically and keeping its comments.';
  static override examples = [
    '<%= config.bin %> rules enable suspicious-shell-from-web-server',
    '<%= config.bin %> rules enable my-rule --config /etc/daemoneye/config.yaml',
  ];
  protected readonly enable = true;
}
