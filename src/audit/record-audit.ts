// recordAudit: the one call every command makes at its end. It appends the command's entry to the
// ledger and, when a key file exists at crypto.private_key_path, a signed checkpoint over the whole ledger.
import type {Config} from '../config/builder.js';
import type {PrivateKey} from '../crypto/keys.js';
import {DaemonEyeError, isDaemonEyeError} from '../errors.js';
import type {AuditEntry} from './schema.js';
import {loadSigningKey} from './keys.js';
import {AuditLedger, type LedgerRecord} from './ledger.js';

export interface RecordAuditOptions {
  /** `--no-audit`: record nothing for this run. */
  readonly noAudit?: boolean;
  /** Warnings (an exposed key file, a quarantined torn record) go here. */
  readonly warn?: (message: string) => void;
}

export interface RecordAuditResult {
  readonly ledger: string;
  readonly entry: LedgerRecord;
  readonly checkpoint: LedgerRecord | null;
}

/**
 * Append `entry`, then a checkpoint signed with the configured key, under the ledger lock. Returns
 * undefined when auditing is off (`audit.enabled: false` or `--no-audit`). A ledger that cannot be
 * written throws LEDGER_WRITE_FAILED (exit 3); an unusable key throws KEY_UNREADABLE (exit 3) after the
 * entry is written, so the record of what the command did is never lost to a key problem.
 */
export async function recordAudit(config: Config, entry: AuditEntry, options: RecordAuditOptions = {}): Promise<RecordAuditResult | undefined> {
  if (options.noAudit === true || !config.values.audit.enabled) return undefined;
  const warn = options.warn ?? (() => undefined);
  const ledger = config.paths.ledgerPath;
  let key: PrivateKey | undefined;
  let keyError: unknown;
  try {
    key = loadSigningKey(config, warn);
  } catch (error) {
    keyError = error;
  }
  const ledgerFile = new AuditLedger(ledger, key === undefined ? {} : {signingKey: key});
  const appended = await ledgerFile.appendEntry(entry, warn).catch((error: unknown) => {
    throw asLedgerError(error, ledger);
  });
  const result = {ledger, ...appended};
  if (keyError !== undefined) throw keyError;
  return result;
}

/** Whatever stopped the append (lock, directory, disk), reported as the ledger failing: exit 3. */
function asLedgerError(error: unknown, ledger: string): DaemonEyeError {
  if (isDaemonEyeError(error) && (error.code === 'LEDGER_WRITE_FAILED' || error.code === 'LEDGER_TAIL_CORRUPT' || error.code === 'STATE_UNSAFE')) return error;
  const message = isDaemonEyeError(error) ? error.message : error instanceof Error ? error.message : String(error);
  return new DaemonEyeError('LEDGER_WRITE_FAILED', `cannot append to the audit ledger ${ledger}: ${message}`, {
    file: ledger,
    hint: isDaemonEyeError(error) && error.hint !== undefined ? error.hint : 'fix the path or permissions, set audit.ledger_path, or run with --no-audit',
    cause: error,
  });
}
