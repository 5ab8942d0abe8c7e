import {Flags} from '@oclif/core';

import {latestCheckpoint, ledgerPathFor} from '../../src/audit/index.js';
import {ExitCode} from '../../src/errors.js';
import {objectView} from '../../src/output/view.js';
import {formatFlag} from '../_base/flags.js';
import {type CommandOutcome, shown} from '../_base/outcome.js';
import {DaemonEyeCommand} from '../_base/base-command.js';

export default class AuditCheckpoint extends DaemonEyeCommand<typeof AuditCheckpoint> {
  static override summary = 'Print the latest signed checkpoint (JSON) to ship off the host.';
  static override description =
    'Ship it to a SIEM or CI artefact store; later, `audit verify --checkpoint FILE` proves the ledger still extends it, which catches truncation and rewritten history. Without any signed checkpoint, prints the current unsigned tree head and warns.';
  static override examples = [
    '<%= config.bin %> audit checkpoint > checkpoint-$(date +%F).json',
    '<%= config.bin %> audit verify --checkpoint checkpoint-2024-05-01.json',
  ];
  static override flags = {
    ledger: Flags.string({summary: 'Ledger file (default audit.ledger_path).'}),
    format: formatFlag(['json', 'ndjson', 'table'] as const, 'Output format (default: json on a terminal, ndjson when piped).'),
  };

  protected async execute(): Promise<CommandOutcome> {
    const config = this.loadConfig();
    const result = await latestCheckpoint(ledgerPathFor(config, this.flags.ledger));
    return {
      output: shown(objectView(result.checkpoint as object), this.flags.format, 'json'),
      report:
        result.seq === null
          ? [{warn: 'no signed checkpoint in the ledger: this is the unsigned tree head (create a key with `daemoneye keys generate`)'}]
          : result.records_after > 0
            ? [{warn: `${result.records_after} record(s) after checkpoint seq ${result.seq} are not covered by it`}]
            : [],
      exitCode: ExitCode.Success,
      audit: null,
    };
  }
}
