// The shared body of `rules enable` and `rules disable`: they differ only in the state they write.
import {Args, type Command} from '@oclif/core';

import {switchRule} from '../../src/app/rules.js';
import {objectView} from '../../src/output/view.js';
import {DaemonEyeCommand} from './base-command.js';
import {formatFlag} from './flags.js';

export abstract class RuleSwitchCommand<T extends typeof Command> extends DaemonEyeCommand<T> {
  static override args = {id: Args.string({description: 'The rule id.', required: true})};
  static override flags = {format: formatFlag(['json', 'text'] as const, 'Output format (default: text).')};

  /** true for `rules enable`, false for `rules disable`. */
  protected abstract readonly enable: boolean;

  async run(): Promise<void> {
    const config = this.loadConfig();
    const {id} = this.args as {id: string};
    const {format, config: configFile} = this.flags as {format?: string; config?: string};
    const result = switchRule({config: config.values, id, enabled: this.enable, ...(configFile === undefined ? {} : {configFile})});
    // Text prints nothing on stdout (the line below goes to stderr); json is the result object.
    await this.present(format ?? 'text', {...objectView(result), text: {text: () => ''}});
    const word = this.enable ? 'enabled' : 'disabled';
    const link =
      result.written === result.file ? '' : ` (a symbolic link to ${result.written}, which was ${result.changed ? 'edited' : 'read'}; the link is kept)`;
    this.logger.info(`rule ${result.rule_id} ${result.changed ? word : `was already ${word}`} in ${result.file}${link}${result.created ? ' (created)' : ''}`);
    await this.audit(this.enable ? 'rule_enable' : 'rule_disable', result);
  }
}
