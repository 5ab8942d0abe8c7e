import {Args} from '@oclif/core';

import {validateRules} from '../../src/app/rules.js';
import {ruleValidationView} from '../../src/app/rules-view.js';
import {ExitCode} from '../../src/errors.js';
import {DaemonEyeCommand} from '../_base/base-command.js';
import {formatFlag} from '../_base/flags.js';
import {type CommandOutcome, type ReportLine, shown} from '../_base/outcome.js';

export default class RulesValidate extends DaemonEyeCommand<typeof RulesValidate> {
  static override summary = 'Validate rule files: metadata, SQL and test cases.';
  static override description =
    'Each PATH (file or directory) is checked; without PATH, every rule the configuration loads. Problems are printed one per line as file:line:col: key: problem. Exit 0 when all are valid, 1 when any is invalid, 2 when a path cannot be read. CI runs the same check.';
  static override examples = ['<%= config.bin %> rules validate', '<%= config.bin %> rules validate ./my-rules/shell-from-web.yaml'];
  static override strict = false;
  static override args = {path: Args.string({description: 'Rule files or directories.'})};
  static override flags = {format: formatFlag(['json', 'ndjson', 'table'] as const)};

  protected async execute(): Promise<CommandOutcome> {
    const config = this.loadConfig();
    const result = await validateRules({config: config.values}, this.positional);
    const invalid = result.files.filter((f) => !f.valid).length;
    return {
      output: shown(ruleValidationView(result), this.flags.format),
      report: [
        ...result.files.flatMap((file): ReportLine[] => (file.valid ? [{debug: `${file.file}: valid`}] : [...file.problems])),
        {info: `${result.files.length - invalid} valid, ${invalid} invalid`},
      ],
      exitCode: invalid > 0 ? ExitCode.CheckFailed : ExitCode.Success,
      audit: null,
    };
  }
}
