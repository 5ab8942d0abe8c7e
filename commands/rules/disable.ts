import {RuleSwitchCommand} from '../_base/rule-switch.js';

export default class RulesDisable extends RuleSwitchCommand {
  static override summary = 'Disable a rule in the configuration file.';
  static override description =
    'Writes detection.disabled_rules (and removes the id from detection.enabled_rules) in the --config file, else the user configuration file (created when missing), atomically and keeping its comments.';
  static override examples = [
    '<%= config.bin %> rules disable suspicious-shell-from-web-server',
    '<%= config.bin %> rules disable my-rule --config /etc/daemoneye/config.yaml',
  ];
  protected readonly enable = false;
}
