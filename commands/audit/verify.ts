import {Flags} from '@oclif/core';

import {ledgerPathFor, readCheckpointFile, resolvePublicKey, verificationSummary, verifyLedger} from '../../src/audit/index.js';
import {ExitCode} from '../../src/errors.js';
import {objectView} from '../../src/output/view.js';
import {DaemonEyeCommand} from '../_base/base-command.js';
import {formatFlag} from '../_base/flags.js';
import {type CommandOutcome, shown} from '../_base/outcome.js';

export default class AuditVerify extends DaemonEyeCommand<typeof AuditVerify> {
  static override summary = 'Verify the audit ledger: hashes, chain, Merkle root, checkpoint signatures.';
  static override description =
    'Streams the ledger and recomputes every record hash, link, sequence number and the Merkle tree; checks the latest signed checkpoint with the public key and proves the ledger extends each --checkpoint shipped off the host. Names the first bad record (seq and line). Exit 0 intact, 1 not (or, with --strict, an unsigned tail, an unchecked signature or a record line not in canonical form), 2 when a file cannot be opened.';
  static override examples = [
    '<%= config.bin %> audit verify',
    '<%= config.bin %> audit verify --public-key /etc/daemoneye/public.key --checkpoint shipped.json --strict',
  ];
  static override flags = {
    ledger: Flags.string({summary: 'Ledger file (default audit.ledger_path).'}),
    'public-key': Flags.string({summary: 'Public key that signed the checkpoints (default crypto.public_key_path).'}),
    checkpoint: Flags.string({summary: 'A checkpoint shipped off the host (`audit checkpoint` output); repeatable.', multiple: true}),
    strict: Flags.boolean({summary: 'Also fail on an unsigned tail, a signature that cannot be checked, or a record line not in canonical form.'}),
    format: formatFlag(['json', 'ndjson', 'table'] as const),
  };

  protected async execute(): Promise<CommandOutcome> {
    const config = this.loadConfig();
    const publicKey = resolvePublicKey(config, this.flags['public-key']);
    const shipped = (this.flags.checkpoint ?? []).map((file) => ({file, checkpoint: readCheckpointFile(file)}));
    const report = await verifyLedger(ledgerPathFor(config, this.flags.ledger), {publicKey, shipped, strict: this.flags.strict});
    const view = objectView(report, () => [
      ['valid', report.valid],
      ['records', report.records],
      ['head_hash', report.head_hash],
      ['root', report.root],
      ['latest_checkpoint', report.latest_checkpoint === null ? null : `seq ${report.latest_checkpoint.seq} (${report.latest_checkpoint.signature_status})`],
      ['unsigned_tail', report.unsigned_tail === null ? null : `${report.unsigned_tail.count} from seq ${report.unsigned_tail.from_seq}`],
      [
        'first_problem',
        report.first_problem === null ? null : `seq ${report.first_problem.seq ?? '?'} line ${report.first_problem.line}: ${report.first_problem.problem}`,
      ],
    ]);
    return {
      output: shown(view, this.flags.format),
      report: verificationSummary(report),
      exitCode: report.valid ? ExitCode.Success : ExitCode.CheckFailed,
      audit: null,
    };
  }
}
