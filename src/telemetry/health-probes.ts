// The health checks that belong to other modules (rule loading, ledger verification, the last run), behind
// one small interface. Rules are checked by the detection RuleManager; the ledger by the audit module's own
// verifier (the one `audit verify` runs), and the last run read from the ledger by the audit module.
import type {Config} from '../config/builder.js';

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
  /** What verified it: the audit module's verifier (hashes, links, Merkle root, signatures), as `audit verify`. */
  readonly verifier: 'audit-ledger';
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

/** The latest entry of the ledger that records a completed run (see isSuccessfulRun), read streaming. */
export async function lastSuccessfulRunInLedger(path: string): Promise<LastRun | undefined> {
  const {latestSuccessfulRun} = await import('../audit/show.js');
  const record = await latestSuccessfulRun(path);
  return record === undefined ? undefined : {time: record.time, action: record.action, actor: record.actor};
}

/** Every rule file the configuration loads, validated by the detection RuleManager (metadata, SQL, test rows). */
export async function validateRulesWithRuleManager(config: Config): Promise<RulesReport> {
  // The SQL validator (node-sql-parser) is heavy: loaded only when health checks rules.
  const [{validateRules}, {RuleManager}] = await Promise.all([import('../detection/validate-rules.js'), import('../detection/rule-manager.js')]);
  const validation = await validateRules({config: config.values}, []);
  const invalid = validation.files.filter((file) => !file.valid).map((file) => ({file: file.file, message: file.problems[0] ?? 'invalid'}));
  if (invalid.length > 0) return {loaded: validation.files.length - invalid.length, enabled: 0, invalid, validator: 'rule-manager'};
  const {rules} = await new RuleManager({config: config.values}).loadRules();
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
