// The health checks that belong to other modules (rule loading, ledger verification), behind one small
// interface. Rules are checked by the detection RuleManager; the ledger, until the AuditLedger is wired
// here, by its structure alone (sequence and hash links).
import {readFileSync} from 'node:fs';

import type {Config} from '../config/builder.js';
import {AuditRecordSchema, type AuditRecord} from '../audit/schema.js';

export interface RulesReport {
  /** Rules that loaded. */
  readonly loaded: number;
  /** Of those, the rules that will run. */
  readonly enabled: number;
  readonly invalid: ReadonlyArray<{readonly file: string; readonly message: string}>;
  /** What validated them: the detection RuleManager (metadata, SQL and test rows). */
  readonly validator: 'rule-manager';
}

export interface LedgerReport {
  readonly valid: boolean;
  readonly records: number;
  /** The first problem found, naming the record. */
  readonly problem?: string;
  readonly first_bad_seq?: number;
  /** Entries after the latest checkpoint (unsigned tail), when the verifier knows. */
  readonly unsigned_tail?: number;
  /** The AuditLedger's own verification (hashes, Merkle root, signatures) or the structure only. */
  readonly verifier: 'audit-ledger' | 'structure-only';
}

export interface LastRun {
  /** Epoch ms of the record. */
  readonly time: number;
  readonly action: string;
  readonly actor: string;
}

export interface HealthProbes {
  validateRules(config: Config): Promise<RulesReport>;
  verifyLedger(path: string): Promise<LedgerReport>;
  lastSuccessfulRun(path: string): Promise<LastRun | undefined>;
}

export const ZERO_HASH = '0'.repeat(64);

/** Actions that are a scheduled run: collection or detection (the audit helper's action names). */
const RUN_ACTION = /scan|collect|detect/i;

/** A ledger entry that records a run which completed (exit 0 or 1). */
export function isSuccessfulRun(record: AuditRecord): boolean {
  if (record.type !== 'entry' || !RUN_ACTION.test(`${record.action} ${record.actor}`)) return false;
  const payload = (typeof record.payload === 'object' && record.payload !== null ? record.payload : {}) as Record<string, unknown>;
  if (payload.success === false || payload.ok === false) return false;
  const exit = payload.exit_code;
  return exit === undefined || exit === 0 || exit === 1;
}

/** Read the ledger's lines; a last line without its newline is a torn append. */
function readLedgerLines(path: string): {lines: string[]; torn: boolean} {
  const text = readFileSync(path, 'utf8');
  if (text === '') return {lines: [], torn: false};
  const torn = !text.endsWith('\n');
  const lines = text.split('\n');
  if (!torn) lines.pop();
  return {lines, torn};
}

/** Structure-only verification: every line a record, sequence without gaps, each prev_hash the previous entry_hash. */
export async function verifyLedgerStructure(path: string): Promise<LedgerReport> {
  const {lines, torn} = readLedgerLines(path);
  let previousHash = ZERO_HASH;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] as string;
    const bad = (problem: string): LedgerReport => ({
      valid: false,
      records: lines.length,
      problem: `line ${index + 1}: ${problem}`,
      first_bad_seq: index,
      verifier: 'structure-only',
    });
    if (torn && index === lines.length - 1) return bad('torn last record (an append was interrupted)');
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return bad('not a JSON record');
    }
    const record = AuditRecordSchema.safeParse(parsed);
    if (!record.success) return bad('not an audit record');
    if (record.data.seq !== index) return bad(`sequence ${record.data.seq} where ${index} was expected (a record was removed or reordered)`);
    if (record.data.prev_hash !== previousHash) return bad(`prev_hash does not match the previous record's entry_hash (seq ${index})`);
    previousHash = record.data.entry_hash;
  }
  return {valid: true, records: lines.length, verifier: 'structure-only'};
}

/** The latest successful run recorded in the ledger. */
export async function lastSuccessfulRunInLedger(path: string): Promise<LastRun | undefined> {
  const {lines, torn} = readLedgerLines(path);
  for (let index = lines.length - (torn ? 2 : 1); index >= 0; index--) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(lines[index] as string);
    } catch {
      continue;
    }
    const record = AuditRecordSchema.safeParse(parsed);
    if (record.success && isSuccessfulRun(record.data)) return {time: record.data.time, action: record.data.action, actor: record.data.actor};
  }
  return undefined;
}

/** Every rule file the configuration loads, validated by the detection RuleManager (metadata, SQL, test rows). */
export async function validateRulesWithRuleManager(config: Config): Promise<RulesReport> {
  // The SQL validator (node-sql-parser) is heavy: loaded only when health checks rules.
  const [{validateRules}, {RuleManager}] = await Promise.all([import('../detection/rules-admin.js'), import('../detection/rule-manager.js')]);
  const validation = validateRules({config: config.values}, []);
  const invalid = validation.files.filter((file) => !file.valid).map((file) => ({file: file.file, message: file.problems[0] ?? 'invalid'}));
  if (invalid.length > 0) return {loaded: validation.files.length - invalid.length, enabled: 0, invalid, validator: 'rule-manager'};
  const {rules} = new RuleManager({config: config.values}).loadRules();
  return {loaded: rules.length, enabled: rules.filter(({rule}) => rule.enabled).length, invalid: [], validator: 'rule-manager'};
}

/**
 * The audit ledger's own verifier (docs/audit.md): every BLAKE3 hash, link and sequence number and the
 * Merkle root, streamed; loaded only when health checks the ledger.
 */
export async function verifyLedgerWithAuditVerifier(path: string): Promise<LedgerReport> {
  const {verifyLedger} = await import('../audit/verify.js');
  const result = await verifyLedger(path);
  const problem = result.first_problem;
  return {
    valid: result.valid,
    records: result.records,
    ...(problem === null ? {} : {problem: `line ${problem.line}: ${problem.problem}`, ...(problem.seq === null ? {} : {first_bad_seq: problem.seq})}),
    unsigned_tail: result.unsigned_tail?.count ?? 0,
    verifier: 'audit-ledger',
  };
}

export const defaultHealthProbes: HealthProbes = {
  validateRules: validateRulesWithRuleManager,
  verifyLedger: verifyLedgerWithAuditVerifier,
  lastSuccessfulRun: lastSuccessfulRunInLedger,
};
