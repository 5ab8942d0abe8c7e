import {Flags} from '@oclif/core';

import {configView} from '../../src/app/config-view.js';
import {ExitCode} from '../../src/errors.js';
import {DaemonEyeCommand} from '../_base/base-command.js';
import {formatFlag} from '../_base/flags.js';
import {type CommandOutcome, shown} from '../_base/outcome.js';

export default class ConfigShow extends DaemonEyeCommand<typeof ConfigShow> {
  static override summary = 'Print the effective configuration, secrets redacted.';
  static override description =
    'Every key after all layers (defaults, system file, user file, --config, environment, flags). With --sources, the layer that set each key.';
  static override examples = [
    '<%= config.bin %> config show',
    '<%= config.bin %> config show --sources --format json | jq .sources',
    'DAEMONEYE_APP__LOG_LEVEL=debug <%= config.bin %> config show --sources',
  ];
  static override flags = {
    format: formatFlag(['json', 'ndjson', 'table'] as const),
    sources: Flags.boolean({summary: 'Show which layer set each key.'}),
  };

  protected async execute(): Promise<CommandOutcome> {
    const config = this.loadConfig();
    return {output: shown(configView(config, this.flags.sources), this.flags.format), exitCode: ExitCode.Success, audit: null};
  }
}
