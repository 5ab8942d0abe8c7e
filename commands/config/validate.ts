import {Args} from '@oclif/core';

import {configValidationView} from '../../src/app/config-view.js';
import {ConfigInvalidError} from '../../src/config/builder.js';
import {validateConfigFile, type FileValidation} from '../../src/config/validate-file.js';
import {formatIssue} from '../../src/config/validator.js';
import {ExitCode, isDaemonEyeError} from '../../src/errors.js';
import {DaemonEyeCommand} from '../_base/base-command.js';
import {formatFlag} from '../_base/flags.js';
import {type CommandOutcome, type ReportLine, shown} from '../_base/outcome.js';

export default class ConfigValidate extends DaemonEyeCommand<typeof ConfigValidate> {
  static override summary = 'Validate configuration files against the schema.';
  static override description =
    'Each FILE is checked on its own. Without FILE, the effective layered configuration is checked. Exit 0 when valid, 1 when any problem is found (all are listed), 2 when a file cannot be opened.';
  static override examples = ['<%= config.bin %> config validate /etc/daemoneye/config.yaml', '<%= config.bin %> config validate --config ./daemoneye.yaml'];
  static override strict = false;
  static override args = {file: Args.string({description: 'Configuration file(s) to check.'})};
  static override flags = {format: formatFlag(['json', 'ndjson', 'table'] as const)};

  protected async execute(): Promise<CommandOutcome> {
    const files = this.positional;
    const results: FileValidation[] = files.length > 0 ? files.map((file) => validateConfigFile(file)) : [this.validateLayers()];
    const invalid = results.filter((r) => !r.valid).length;
    return {
      output: shown(configValidationView(results), this.flags.format),
      report: [
        ...results.flatMap((result): ReportLine[] => (result.valid ? [{info: `${result.file}: valid`}] : result.errors.map((issue) => formatIssue(issue)))),
        {info: `${results.length - invalid} valid, ${invalid} invalid`},
      ],
      exitCode: invalid > 0 ? ExitCode.CheckFailed : ExitCode.Success,
      audit: null,
    };
  }

  /** The layered configuration as a whole: every problem, or valid. */
  private validateLayers(): FileValidation {
    try {
      const config = this.loadConfig();
      return {file: config.files.join(', ') || '(defaults)', valid: true, errors: []};
    } catch (error) {
      // The schema's problems keep their key path, source and location, as for a FILE checked on its own.
      if (error instanceof ConfigInvalidError) return {file: error.file ?? '(layers)', valid: false, errors: error.issues};
      if (isDaemonEyeError(error) && (error.code === 'CONFIG_INVALID' || error.code === 'CONFIG_YAML_SYNTAX' || error.code === 'CONFIG_ENV_MISSING')) {
        const lines = error.details.length > 0 ? error.details : [error.message];
        return {file: error.file ?? '(layers)', valid: false, errors: lines.map((message) => ({path: '', message}))};
      }
      throw error;
    }
  }
}
