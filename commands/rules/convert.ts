import {Args} from '@oclif/core';

import {convertRules} from '../../src/app/rules.js';
import {ExitCode} from '../../src/errors.js';
import {rowPieces, type View} from '../../src/output/view.js';
import {terminalSafe} from '../../src/output/terminal.js';
import {DaemonEyeCommand} from '../_base/base-command.js';
import {formatFlag} from '../_base/flags.js';
import {type CommandOutcome, shown} from '../_base/outcome.js';

export default class RulesConvert extends DaemonEyeCommand<typeof RulesConvert> {
  static override summary = 'Print the SQL each rule file runs (a Sigma rule: the SQL it compiles to), for review.';
  static override description =
    'Each FILE (or directory) is read in its format (DaemonEye or Sigma, recognised by content) and its SQL printed: as text, one "-- file: id: name" comment and the query per rule, or as JSON/NDJSON objects {file, valid, format, id, name, sql, problems}. A rule that cannot be compiled exactly is refused with one file:line:col line on stderr naming the reason; exit 1 when any is refused, 2 when a path cannot be read.';
  static override examples = [
    '<%= config.bin %> rules convert sigma/proc_creation_lnx_base64_decode.yml',
    "<%= config.bin %> rules convert ./sigma-rules --format json | jq -r '.[] | select(.valid) | .sql'",
  ];
  static override strict = false;
  static override args = {file: Args.string({description: 'Rule files or directories.', required: true})};
  static override flags = {format: formatFlag(['text', 'json', 'ndjson'] as const, 'Output format (default: text).')};

  protected async execute(): Promise<CommandOutcome> {
    const config = this.loadConfig();
    const conversions = await convertRules({config: config.values}, this.positional);
    // SQL for review is text by default, piped or not: it is what a reviewer saves as a .sql file.
    const view: View<(typeof conversions)[number]> = {
      rows: conversions,
      text: {
        text: (rows) =>
          rowPieces(rows, (c) => (c.sql === null ? '' : `${terminalSafe(`-- ${c.file}: ${c.id ?? ''}: ${c.name ?? ''}`)}\n${c.sql.trimEnd()};\n\n`)),
      },
    };
    const refused = conversions.filter((c) => !c.valid).length;
    return {
      output: shown(view, this.flags.format ?? 'text'),
      report: [...conversions.flatMap((c) => c.problems), {info: `${conversions.length - refused} converted, ${refused} refused`}],
      exitCode: refused > 0 ? ExitCode.CheckFailed : ExitCode.Success,
      audit: null,
    };
  }
}
