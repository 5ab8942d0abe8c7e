// How `audit verify` reports: the human summary on stderr (in every format; stdout has the report).
import {formatTime} from '../util/time.js';
import type {LedgerVerification} from './verify.js';

/** The human summary `audit verify` prints on stderr in every format. */
export function verificationSummary(report: LedgerVerification): string[] {
  const lines = [
    `${report.ledger}: ${report.valid ? 'intact' : 'NOT VALID'} — ${report.records} records (${report.entries} entries, ${report.checkpoints} checkpoints)`,
  ];
  lines.push(`head hash ${report.head_hash ?? '(empty ledger)'}; root ${report.root}`);
  const latest = report.latest_checkpoint;
  if (latest === null) lines.push('latest signed checkpoint: none (unsigned ledger)');
  else
    lines.push(
      `latest signed checkpoint: seq ${latest.seq}, ${latest.tree_size} records, ${formatTime(latest.time)}, key ${latest.key_id ?? '?'}, signature ${latest.signature_status}`,
    );
  if (report.unsigned_tail !== null)
    lines.push(`unsigned tail: ${report.unsigned_tail.count} record(s) from seq ${report.unsigned_tail.from_seq}${report.strict ? ' (fails --strict)' : ''}`);
  for (const shipped of report.shipped)
    lines.push(`shipped checkpoint ${shipped.file} (${shipped.tree_size} records): ${shipped.status}, signature ${shipped.signature}`);
  if (report.first_problem !== null) {
    const where = report.first_problem.line > 0 ? `line ${report.first_problem.line}, ` : '';
    lines.push(`first problem: ${where}seq ${report.first_problem.seq ?? '?'}: ${report.first_problem.problem}`);
  }
  for (const warning of report.warnings) lines.push(`warning: ${warning}`);
  return lines;
}
