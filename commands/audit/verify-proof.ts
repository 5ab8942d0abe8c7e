import {Args, Flags} from '@oclif/core';

import {readProofFile, resolvePublicKey, verifyInclusionProof} from '../../src/audit/index.js';
import {ExitCode} from '../../src/errors.js';
import {objectView} from '../../src/output/view.js';
import {formatFlag} from '../_base/flags.js';
import {type CommandOutcome, shown} from '../_base/outcome.js';
import {DaemonEyeCommand} from '../_base/base-command.js';

export default class AuditVerifyProof extends DaemonEyeCommand<typeof AuditVerifyProof> {
  static override summary = 'Check an inclusion proof offline, without the ledger.';
  static override description =
    'Recomputes the record hash, walks the audit path to the root and checks the checkpoint signature. Exit 0 valid, 1 not, 2 when the file cannot be read.';
  static override examples = ['<%= config.bin %> audit verify-proof proof-41.json --public-key public.key'];
  static override args = {file: Args.string({description: 'Proof file (`audit prove` output).', required: true})};
  static override flags = {
    'public-key': Flags.string({summary: 'Public key that signed the checkpoint (default crypto.public_key_path).'}),
    format: formatFlag(['json', 'ndjson', 'table'] as const, 'Output format (default: json on a terminal, ndjson when piped).'),
  };

  protected async execute(): Promise<CommandOutcome> {
    const config = this.loadConfig();
    const proof = readProofFile(this.args.file);
    const result = verifyInclusionProof(proof, resolvePublicKey(config, this.flags['public-key']));
    return {
      output: shown(objectView(result), this.flags.format, 'json'),
      report: result.valid
        ? [{info: `record ${result.leaf_index} is in the signed tree of ${result.tree_size} records`}]
        : result.problems.map((problem) => ({error: `${this.args.file}: ${problem}`})),
      exitCode: result.valid ? ExitCode.Success : ExitCode.CheckFailed,
      audit: null,
    };
  }
}
