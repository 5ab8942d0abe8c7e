// The audit module: the tamper-evident ledger and everything about it, in one place. Commands import only
// this file. Inside: schema.ts (actions and their payloads, the record, checkpoint and proof schemas),
// ledger-record.ts (hashing and building one record), ledger.ts (appends under a lock, the AuditLedger),
// ledger-lines.ts (streaming reads), checkpoint-signature.ts (signing checkpoints), verify.ts (the one
// verifier, used by `audit verify` and `health`; verify-view.ts its summary), proof.ts (inclusion proofs),
// show.ts (filtered reads, the last successful run; show-view.ts how they print), checkpoint.ts (the latest
// checkpoint), record-audit.ts (what a command calls at its end) and keys.ts (which ledger and key files a
// command uses).
export {recordAudit, type RecordAuditOptions, type RecordAuditResult} from './record-audit.js';
export {ledgerPathFor, loadSigningKey, resolvePrivateKey, resolvePublicKey} from './keys.js';
export {latestCheckpoint, type CheckpointResult} from './checkpoint.js';
export * from './checkpoint-signature.js';
export * from './ledger.js';
export * from './proof.js';
export * from './ledger-record.js';
export * from './show.js';
export * from './show-view.js';
export * from './schema.js';
export * from './verify.js';
export * from './verify-view.js';
