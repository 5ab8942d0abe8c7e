// The audit module: the tamper-evident ledger and everything about it, in one place. Commands import only
// this file. Inside: schema.ts (actions and their payloads, the record, checkpoint and proof schemas),
// ledger-record.ts (hashing and building one record), ledger.ts (appends under a lock, the AuditLedger),
// ledger-lines.ts (streaming reads), checkpoint-signature.ts (signing checkpoints), verify.ts (the one
// verifier, used by `audit verify` and `health`), proof.ts (inclusion proofs), show.ts (filtered reads, the
// last successful run), checkpoint.ts (the latest checkpoint), record-audit.ts (what a command calls at its
// end) and keys.ts (which key files a command uses).
import type {Config} from '../config/builder.js';
import type {LedgerVerification} from './verify.js';
import {formatTime} from '../util/time.js';

export {recordAudit, type RecordAuditOptions, type RecordAuditResult} from './record-audit.js';
export {loadSigningKey, resolvePrivateKey, resolvePublicKey} from './keys.js';

/** `--ledger FILE`, else audit.ledger_path, else <state_dir>/audit.ledger. */
export function ledgerPathFor(config: Config, flag: string | undefined): string {
  return flag ?? config.paths.ledgerPath;
}

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

export {latestCheckpoint, type CheckpointResult} from './checkpoint.js';
export * from './checkpoint-signature.js';
export * from './ledger.js';
export * from './proof.js';
export * from './ledger-record.js';
export * from './show.js';
export * from './show-view.js';
export * from './schema.js';
export * from './verify.js';
