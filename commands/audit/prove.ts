import {Args, Flags} from '@oclif/core';

import {ledgerPathFor, proveInclusion} from '../../src/audit/index.js';
import {DaemonEyeError, ExitCode} from '../../src/errors.js';
import {objectView} from '../../src/output/view.js';
import {formatFlag} from '../_base/flags.js';
import {type CommandOutcome, shown} from '../_base/outcome.js';
import {DaemonEyeCommand} from '../_base/base-command.js';

export default class AuditProve extends DaemonEyeCommand<typeof AuditProve> {
  static override summary = 'Print an inclusion proof (JSON) of one ledger record.';
  static override description =
    'The record, its Merkle audit path, the root and the latest signed checkpoint covering it. `audit verify-proof FILE --public-key PUB` checks it offline, without the ledger.';
  static override examples = ['<%= config.bin %> audit prove 41 > proof-41.json', '<%= config.bin %> audit verify-proof proof-41.json --public-key public.key'];
  static override args = {seq: Args.string({description: 'Sequence number of the record.', required: true})};
  static override flags = {
    ledger: Flags.string({summary: 'Ledger file (default audit.ledger_path).'}),
    format: formatFlag(['json', 'ndjson', 'table'] as const, 'Output format (default: json on a terminal, ndjson when piped).'),
  };

  protected async execute(): Promise<CommandOutcome> {
    const config = this.loadConfig();
    if (!/^\d{1,15}$/.test(this.args.seq))
      throw new DaemonEyeError('INVALID_ARGUMENT', `SEQ must be a record number, not "${this.args.seq}"`, {hint: 'see `daemoneye audit show`'});
    const proof = await proveInclusion(ledgerPathFor(config, this.flags.ledger), Number(this.args.seq));
    return {
      output: shown(objectView(proof), this.flags.format, 'json'),
      report: proof.checkpoint === null ? [{warn: `record ${proof.leaf_index} is not yet under a signed checkpoint: the proof's root is unsigned`}] : [],
      exitCode: ExitCode.Success,
      audit: null,
    };
  }
}
