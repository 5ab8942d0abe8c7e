// The audit ledger's data, declared once: the actions a command records (each with its payload schema), a
// ledger record (one JSON line), a signed checkpoint and an inclusion proof. Writers validate against these,
// readers (verify, show, prove, health) parse with them; docs/audit.md describes the same fields.
import {z} from 'zod';

import {HEX64} from '../crypto/hash.js';
import {mentionsName} from '../errors.js';

const hex64 = (field: string) => z.string({error: `${field} is not 64 lower-case hex digits`}).regex(HEX64, `${field} is not 64 lower-case hex digits`);
const exitCode = z.int().min(0).max(3).describe('The exit code the command ended with (0 ok, 1 check said no, 2 usage/input, 3 runtime)');
const path = z.string().nullable();

/**
 * What each action's payload holds. Every entry a command records carries the exit code it ended with
 * (`exit_code`, stamped by the base command: commands/_base/outcome.ts); `health` reads it on the entries that
 * record a scheduled run (`process_collection`, `detection`). A refusal has its own action
 * (`detection_refused`, `sql_refused`) and never counts as a run.
 */
export const AUDIT_ACTION_PAYLOADS = {
  /** `scan`: one snapshot taken. */
  process_collection: z.looseObject({
    scan_id: z.int(),
    process_count: z.int().nonnegative(),
    collector: z.string(),
    pids: z.array(z.int()).nullable(),
    output: path,
    store_file: path,
    exit_code: exitCode,
  }),
  /** `detect`: the rules ran over a snapshot. */
  detection: z.looseObject({
    scan_ids: z.array(z.int()),
    source: z.string(),
    rules_run: z.int().nonnegative(),
    failed: z.array(z.unknown()),
    timed_out: z.array(z.unknown()),
    not_run: z.array(z.unknown()),
    alerts_by_severity: z.record(z.string(), z.int().nonnegative()),
    findings: z.int().nonnegative(),
    deliveries: z.array(z.looseObject({sink: z.string(), ok: z.boolean()})),
    suppressed: z.unknown(),
    stored: path,
    exit_code: exitCode,
  }),
  /** `detect` refused to run: an invalid rule file or refused rule SQL (exit 2). */
  detection_refused: z.looseObject({code: z.string(), error: z.string(), details: z.unknown(), exit_code: exitCode}),
  /** `query`: one read-only query ran. */
  query: z.looseObject({sql: z.string(), rows: z.int().nonnegative(), source: z.string(), scan_ids: z.array(z.int()), exit_code: exitCode}),
  /** `query` SQL the validator refused (probing the sandbox leaves a trace). */
  sql_refused: z.looseObject({sql: z.string(), sql_bytes: z.int().nonnegative(), reasons: z.unknown(), exit_code: exitCode}),
  /** `export`: rows written out of a snapshot file or store. */
  export: z.looseObject({
    input: z.string(),
    table: z.string(),
    format: z.string(),
    rows: z.int().nonnegative(),
    scan_ids: z.array(z.int()),
    output: path,
    exit_code: exitCode,
  }),
  /** `ship`: the tables of a snapshot file or store inserted into ClickHouse (the server as origin and path, no credentials). */
  ship: z.looseObject({
    input: z.string(),
    server: z.string(),
    database: z.string(),
    rows: z.record(z.string(), z.int().nonnegative()),
    scan_ids: z.array(z.int()),
    exit_code: exitCode,
  }),
  /** `alerts deliver`: spooled alerts retried. */
  alert_redelivery: z.looseObject({delivered: z.int().nonnegative(), pending: z.int().nonnegative(), deliveries: z.array(z.unknown()), exit_code: exitCode}),
  /** `sign`: a detached signature written. */
  sign: z.looseObject({
    file: z.string(),
    signature_file: z.string(),
    armor: z.boolean(),
    bytes: z.int().nonnegative(),
    key_id: z.string(),
    exit_code: exitCode,
  }),
  /** `keys generate`: a key pair written. */
  keys_generate: z.looseObject({
    private_key_path: z.string(),
    public_key_path: z.string(),
    key_id: z.string(),
    overwritten: z.boolean(),
    exit_code: exitCode,
  }),
  /** `rules enable` / `rules disable`: a configuration file edited. */
  rule_enable: z.looseObject({
    file: z.string(),
    rule_id: z.string(),
    enabled: z.literal(true),
    changed: z.boolean(),
    created: z.boolean(),
    exit_code: exitCode,
  }),
  rule_disable: z.looseObject({
    file: z.string(),
    rule_id: z.string(),
    enabled: z.literal(false),
    changed: z.boolean(),
    created: z.boolean(),
    exit_code: exitCode,
  }),
  /** `scan --input`: a saved scan shown (e.g. as a tree). */
  process_view: z.looseObject({input: z.string(), scan_id: z.int(), process_count: z.int().nonnegative(), exit_code: exitCode}),
  /** `diff`: two scans compared. */
  diff: z.looseObject({old: z.unknown(), new: z.unknown(), counts: z.record(z.string(), z.int()), exit_code: exitCode}),
  /** `collect`: an evidence bundle written; its manifest's SHA-256 binds the bundle to this record. */
  evidence_collection: z.looseObject({
    output: z.string(),
    case_id: z.string(),
    manifest_sha256: z.string(),
    signed: z.boolean(),
    key_id: z.string().nullable(),
    pids: z.array(z.int()),
    reason: z.string().describe('What chose the processes: `--pid`, `--alerts FILE` or `--rule ID`'),
    redacted: z.boolean(),
    files: z.int().nonnegative(),
    exit_code: exitCode,
  }),
  /** Written by the ledger itself: a torn last record (a crash mid-append) was moved aside before this append. */
  ledger_torn_record_quarantined: z.looseObject({file: z.string(), bytes: z.int().nonnegative(), blake3: z.string()}),
} as const;

export type AuditAction = keyof typeof AUDIT_ACTION_PAYLOADS;
export const AUDIT_ACTIONS = Object.keys(AUDIT_ACTION_PAYLOADS) as AuditAction[];
export type AuditPayload<A extends AuditAction> = z.infer<(typeof AUDIT_ACTION_PAYLOADS)[A]>;

/** The actions that record a scheduled run (what `health` means by "the last run"). */
export const RUN_ACTIONS: readonly AuditAction[] = ['process_collection', 'detection'];

const RunOutcomeSchema = z.looseObject({exit_code: exitCode});

/**
 * Whether a ledger record is a run that completed: a `process_collection` or `detection` entry that ended
 * with exit 0 (nothing found) or 1 (the check said no). A refused run is recorded under another action
 * (`detection_refused`), and a run that failed carries exit 2 or 3: neither counts.
 */
export function isSuccessfulRun(record: {readonly type: string; readonly action: string; readonly payload: unknown}): boolean {
  if (record.type !== 'entry' || !(RUN_ACTIONS as readonly string[]).includes(record.action)) return false;
  const outcome = RunOutcomeSchema.safeParse(record.payload);
  return outcome.success && (outcome.data.exit_code === 0 || outcome.data.exit_code === 1);
}

export const isAuditAction = (action: string): action is AuditAction => Object.hasOwn(AUDIT_ACTION_PAYLOADS, action);

/** What a command asks to record: who, which action, and that action's payload. */
export interface AuditEntry<A extends AuditAction = AuditAction> {
  /** Who acted: the command, e.g. `daemoneye scan (user root, uid 0)`. */
  readonly actor: string;
  readonly action: A;
  readonly payload: unknown;
}

/** Why `payload` is not a valid payload of `action`, or undefined. */
export function auditPayloadProblem(action: AuditAction, payload: unknown): string | undefined {
  const result = AUDIT_ACTION_PAYLOADS[action].safeParse(payload);
  return result.success ? undefined : firstIssue(result.error);
}

export const AUDIT_RECORD_TYPES = ['entry', 'checkpoint'] as const;
export type AuditRecordType = (typeof AUDIT_RECORD_TYPES)[number];

/** One line of the ledger file. Checkpoints are records too, so the chain covers them. */
export const LedgerRecordSchema = z.object({
  seq: z
    .int({error: 'seq is not a non-negative integer'})
    .nonnegative({error: 'seq is not a non-negative integer'})
    .describe('Sequence number, 0-based, without gaps'),
  type: z.enum(AUDIT_RECORD_TYPES, {error: 'type is neither "entry" nor "checkpoint"'}).describe('`entry` for an action, `checkpoint` for a signed tree head'),
  time: z.int({error: 'time is not an integer (epoch ms)'}).describe('When the record was appended, epoch milliseconds'),
  actor: z.string({error: 'actor is not a string'}).describe('Who acted'),
  // Any string: a ledger is history, and records of actions this version no longer writes still verify.
  action: z.string({error: 'action is not a string'}).describe('What was done (AUDIT_ACTIONS, or `checkpoint`)'),
  payload: z.custom<unknown>((value) => value !== undefined, {error: 'payload is missing'}).describe('Details (JSON); for a checkpoint, the checkpoint'),
  prev_hash: hex64('prev_hash').describe('entry_hash of the previous record (64 zeros for the first)'),
  entry_hash: hex64('entry_hash').describe("BLAKE3 of this record's canonical encoding (docs/audit.md)"),
  // Verifiers compare each frontier hash with the recomputed one; selfCheck tests their form for appends.
  frontier: z
    .array(z.string(), {error: 'frontier is not a list of hashes'})
    .describe('Merkle frontier after this record: roots of the perfect subtrees over records 0..seq, left to right'),
});
export type LedgerRecord = Readonly<z.infer<typeof LedgerRecordSchema>> & {readonly payload: unknown};

/** A checkpoint as stored in a checkpoint record's payload and as shipped. Unsigned ones have null key and signature. */
export const CheckpointSchema = z
  .object({
    tree_size: z.int({error: 'tree_size is not a non-negative integer'}).nonnegative({error: 'tree_size is not a non-negative integer'}),
    root: hex64('root'),
    time: z.int({error: 'time is not an integer (epoch ms)'}),
    key_id: z.string({error: 'key_id is neither a string nor null'}).nullable(),
    signature: z
      .string({error: 'signature is neither base64 nor null'})
      .regex(/^[A-Za-z0-9+/]+=*$/, 'signature is neither base64 nor null')
      .nullable(),
    /** Set when the ledger ended in records appended without a checkpoint before this run (a crash, or a writer without the key). */
    adopted_unsigned_tail: z.boolean().optional(),
  })
  .refine((c) => (c.signature === null) === (c.key_id === null), {error: 'key_id and signature must both be set or both be null'});
export type Checkpoint = Readonly<z.infer<typeof CheckpointSchema>>;

/** One record, its audit path to a Merkle root, and the signed checkpoint of that root (`audit prove`). */
export const InclusionProofSchema = z.object({
  version: z.literal(1, {error: 'version is not 1'}),
  leaf_index: z.int({error: 'leaf_index and tree_size must be integers'}).nonnegative(),
  tree_size: z.int({error: 'leaf_index and tree_size must be integers'}).nonnegative(),
  record: LedgerRecordSchema.omit({frontier: true}),
  leaf_hash: hex64('leaf_hash'),
  audit_path: z.array(hex64('audit_path'), {error: 'audit_path must be a list of 64-hex-digit hashes'}),
  root: hex64('root'),
  /** The signed checkpoint whose tree this proof reaches; null when the record is not yet under one. */
  checkpoint: CheckpointSchema.nullable(),
});
export type InclusionProof = Readonly<z.infer<typeof InclusionProofSchema>> & {readonly record: Omit<LedgerRecord, 'frontier'>};

/** The first problem zod found, prefixed with where it is when the message does not already say. */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid';
  const where = issue.path.join('.');
  return where === '' || mentionsName(issue.message, String(issue.path[issue.path.length - 1])) ? issue.message : `${where}: ${issue.message}`;
}

/** Why a parsed value is not a ledger record, or undefined when its shape is right. */
export function recordShapeProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const result = LedgerRecordSchema.safeParse(value);
  return result.success ? undefined : firstIssue(result.error);
}

/** Why a value is not a checkpoint, or undefined. */
export function checkpointShapeProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const result = CheckpointSchema.safeParse(value);
  return result.success ? undefined : firstIssue(result.error);
}

/** Why a value is not an inclusion proof, or undefined. */
export function proofShapeProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const result = InclusionProofSchema.safeParse(value);
  if (result.success) return undefined;
  const issue = result.error.issues[0];
  const part = issue?.path[0];
  if (issue === undefined || (part !== 'record' && part !== 'checkpoint')) return firstIssue(result.error);
  // Inside the record or checkpoint, say which part, then the problem as its own schema words it.
  const inner = issue.path.slice(1).join('.');
  const named = inner === '' || mentionsName(issue.message, String(issue.path[issue.path.length - 1]));
  return `${part}: ${named ? issue.message : `${inner}: ${issue.message}`}`;
}
