import {Flags} from '@oclif/core';

import {auditShowView, AUDIT_RECORD_TYPES, ledgerPathFor, readAuditRecords} from '../../src/audit/index.js';
import {ExitCode} from '../../src/errors.js';
import {parseTime} from '../../src/util/time.js';
import {DaemonEyeCommand} from '../_base/base-command.js';
import {formatFlag} from '../_base/flags.js';
import {type CommandOutcome, streamed} from '../_base/outcome.js';

export default class AuditShow extends DaemonEyeCommand<typeof AuditShow> {
  static override summary = 'Print audit ledger records.';
  static override description =
    'Streams the ledger. It does not verify it: run `audit verify` for that. Lines that are not records are skipped with a warning; a record is shown with its own members only (members its hash does not cover are left out, with a warning).';
  static override examples = ['<%= config.bin %> audit show --since 24h', '<%= config.bin %> audit show --action sign --format json | jq ".[].payload"'];
  static override flags = {
    ledger: Flags.string({summary: 'Ledger file (default audit.ledger_path).'}),
    since: Flags.string({summary: 'Only records from this time on: ISO 8601, epoch ms, or a duration ago (90m, 24h, 7d).'}),
    until: Flags.string({summary: 'Only records up to this time.'}),
    action: Flags.string({summary: 'Only records with this action (e.g. scan, sign, checkpoint).'}),
    type: Flags.option({options: AUDIT_RECORD_TYPES, summary: 'Only entries or only checkpoints.'})(),
    format: formatFlag(['json', 'ndjson', 'table'] as const),
  };

  protected async execute(): Promise<CommandOutcome> {
    const config = this.loadConfig();
    const now = Date.now();
    const {since, until, action, type} = this.flags;
    const filter = {
      ...(since === undefined ? {} : {since: parseTime(since, now, '--since')}),
      ...(until === undefined ? {} : {until: parseTime(until, now, '--until')}),
      ...(action === undefined ? {} : {action}),
      ...(type === undefined ? {} : {type}),
    };
    const records = readAuditRecords(
      ledgerPathFor(config, this.flags.ledger),
      filter,
      (line, problem) => this.logger.warn(`line ${line} skipped: ${problem} (run \`daemoneye audit verify\`)`),
      (line, seq, problem) =>
        this.logger.warn(`line ${line} (seq ${seq}) is not in canonical form: ${problem}; shown without it (run \`daemoneye audit verify --strict\`)`),
    );
    return {output: streamed(records, auditShowView, this.flags.format), exitCode: ExitCode.Success, audit: null};
  }
}
