// The shared body of `rules enable` and `rules disable`: they differ only in the state they write.
import {Args} from '@oclif/core';

import {switchRule} from '../../src/app/rules.js';
import {ExitCode} from '../../src/errors.js';
import {objectView} from '../../src/output/view.js';
import {DaemonEyeCommand} from './base-command.js';
import {formatFlag} from './flags.js';
import {type CommandOutcome, shown} from './outcome.js';

export abstract class RuleSwitchCommand extends DaemonEyeCommand<typeof RuleSwitchCommand> {
  static override args = {id: Args.string({description: 'The rule id.', required: true})};
  static override flags = {format: formatFlag(['json', 'text'] as const, 'Output format (default: text).')};

  /** true for `rules enable`, false for `rules disable`. */
  protected abstract readonly enable: boolean;

  protected async execute(): Promise<CommandOutcome> {
    const config = this.loadConfig();
    const {id} = this.args;
    const {format, config: configFile} = this.flags;
    const result = await switchRule({config: config.values, id, enabled: this.enable, ...(configFile === undefined ? {} : {configFile})});
    // Text prints nothing on stdout (the line below goes to stderr); json is the result object.
    const word = this.enable ? 'enabled' : 'disabled';
    const link =
      result.written === result.file ? '' : ` (a symbolic link to ${result.written}, which was ${result.changed ? 'edited' : 'read'}; the link is kept)`;
    return {
      output: shown({...objectView(result), text: {text: () => ''}}, format ?? 'text'),
      report: [{info: `rule ${result.rule_id} ${result.changed ? word : `was already ${word}`} in ${result.file}${link}${result.created ? ' (created)' : ''}`}],
      exitCode: ExitCode.Success,
      audit: this.enable ? {action: 'rule_enable', payload: {...result, enabled: true}} : {action: 'rule_disable', payload: {...result, enabled: false}},
    };
  }
}
