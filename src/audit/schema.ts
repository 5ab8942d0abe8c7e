// Audit ledger records (DESIGN.md, "Audit ledger"): what a command did, chained and hashed.
import {z} from 'zod';

/** What a caller asks to record. */
export const AuditEntrySchema = z
  .object({
    actor: z.string().min(1).describe('Who acted: the command, e.g. `daemoneye scan`, with the OS user'),
    action: z.string().min(1).describe('What was done, e.g. `process_collection`'),
    payload: z.unknown().describe('Details of the action (JSON)'),
  })
  .strict();
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

export const AUDIT_RECORD_TYPES = ['entry', 'checkpoint'] as const;
export type AuditRecordType = (typeof AUDIT_RECORD_TYPES)[number];

const HEX64 = /^[0-9a-f]{64}$/;

/** One line of the ledger file. Checkpoints are records too, so the chain covers them. */
export const AuditRecordSchema = z
  .object({
    seq: z.int().nonnegative().describe('Sequence number, 0-based, without gaps'),
    type: z.enum(AUDIT_RECORD_TYPES).describe('`entry` for an action, `checkpoint` for a signed tree head'),
    time: z.int().describe('When the record was appended, epoch milliseconds'),
    actor: z.string().describe('Who acted'),
    action: z.string().describe('What was done'),
    payload: z.unknown().describe('Details (JSON); for a checkpoint the tree size, root, signature and key id'),
    prev_hash: z.string().regex(HEX64).describe('entry_hash of the previous record (64 zeros for the first)'),
    entry_hash: z.string().regex(HEX64).describe("BLAKE3 of this record's canonical encoding (docs/audit.md)"),
    frontier: z.array(z.string().regex(HEX64)).describe('Merkle frontier after this record: roots of the perfect subtrees over records 0..seq, left to right'),
  })
  .passthrough();
export type AuditRecord = z.infer<typeof AuditRecordSchema>;
