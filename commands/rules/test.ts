import {Args, Flags} from '@oclif/core';

import {testRules} from '../../src/app/rules.js';
import {ruleTestView} from '../../src/app/rules-view.js';
import {failureText} from '../../src/detection/rule-tests.js';
import {ExitCode} from '../../src/errors.js';
import {DaemonEyeCommand} from '../_base/base-command.js';
import {type CommandOutcome, shown} from '../_base/outcome.js';
import {MAX_TIMER_MS} from '../../src/util/time.js';

export default class RulesTest extends DaemonEyeCommand<typeof RulesTest> {
  static override summary = "Run rules' test cases, or run rules on data you give.";
  static override description =
    'Each TARGET is a rule file, a directory of rules or a rule id; without TARGET, every loaded rule. Each case must flag exactly its expected pids. With --input (a snapshot file, or a JSON/NDJSON/YAML list of process rows) the rules run on that data instead and report what they flag. Prints each case and "N passed, N failed" on stderr; exit 1 when any case fails, 2 when a rule file is invalid.';
  static override examples = [
    '<%= config.bin %> rules test',
    '<%= config.bin %> rules test rules/execution/ --format junit > rules-junit.xml',
    '<%= config.bin %> rules test my-rule-id --input rows.json',
  ];
  static override strict = false;
  static override args = {target: Args.string({description: 'Rule files, directories or ids.'})};
  static override flags = {
    format: Flags.option({options: ['json', 'ndjson', 'junit', 'text'] as const, summary: 'Output format (default: text on a terminal, ndjson when piped).'})(),
    input: Flags.string({summary: 'A snapshot file or a file of process rows to run the rules on.'}),
    rules: Flags.string({summary: 'A further directory or file of rules (repeatable).', multiple: true}),
    timeout: Flags.integer({summary: 'Deadline of the whole test run in ms (default: detection.run_timeout_ms).', min: 1, max: MAX_TIMER_MS}),
  };

  protected async execute(): Promise<CommandOutcome> {
    const config = this.loadConfig();
    const summary = await testRules({
      config: config.values,
      rulesPaths: this.flags.rules ?? [],
      targets: this.positional,
      ...(this.flags.input === undefined ? {} : {input: this.flags.input}),
      ...(this.flags.timeout === undefined ? {} : {timeoutMs: this.flags.timeout}),
      onWarning: (warning) => this.logger.warn(warning),
    });
    const results = summary.results.map((r) => {
      const found = r.expected === null && r.passed ? ` (flags ${r.actual.length === 0 ? 'nothing' : `pids ${r.actual.join(', ')}`})` : '';
      return `${r.passed ? 'PASS' : 'FAIL'} ${r.rule_id}: ${r.case}${found}${r.passed ? '' : `: ${failureText(r)}`}`;
    });
    const invalid = summary.invalid_files > 0 ? ` (${summary.invalid_files} invalid rule file${summary.invalid_files === 1 ? '' : 's'})` : '';
    return {
      output: shown(ruleTestView(summary), this.flags.format, 'text'),
      report: [...results, `${summary.passed} passed, ${summary.failed} failed${invalid}`],
      exitCode: summary.invalid_files > 0 ? ExitCode.UsageOrInput : summary.failed > 0 ? ExitCode.CheckFailed : ExitCode.Success,
      audit: null,
    };
  }
}
