// The one way commands and the ledger find their files (the ledger, key files): a flag's file, else the
// configured one. A private key that others can read is a warning (the key still works: refusing it would
// stop the audit trail); an exposed key is reported by `health` as unhealthy.
import {existsSync} from 'node:fs';

import type {Config} from '../config/builder.js';
import {isExposed, type PrivateKey, type PublicKey, readPrivateKey, readPublicKey} from '../crypto/keys.js';
import {DaemonEyeError, isDaemonEyeError} from '../errors.js';

/** The public key named by a flag (must exist), else the configured one when its file exists. */
export function resolvePublicKey(config: Config, flagPath: string | undefined): PublicKey | undefined {
  if (flagPath !== undefined) return readPublicKey(flagPath);
  const configured = config.values.crypto.public_key_path;
  return existsSync(configured) ? readPublicKey(configured) : undefined;
}

/**
 * Read a private key file, warning when group or others can read it. `missing: 'optional'` returns undefined
 * when the file does not exist; otherwise a missing file is INPUT_NOT_FOUND (exit 2) with `missingHint`.
 */
function loadPrivateKey(
  file: string,
  options: {missing: 'optional' | 'required'; missingHint?: string; warn: (message: string) => void},
): PrivateKey | undefined {
  if (!existsSync(file)) {
    if (options.missing === 'optional') return undefined;
    throw new DaemonEyeError('INPUT_NOT_FOUND', `private key ${file} does not exist`, {file, hint: options.missingHint ?? 'check the path'});
  }
  const key = readPrivateKey(file, {missing: options.missing === 'required' ? 'INPUT_NOT_FOUND' : 'KEY_UNREADABLE'});
  if (isExposed(file)) options.warn(`private key ${file} is readable by group or others; run chmod 600 ${file}`);
  return key;
}

/** The private key named by a flag, else the configured one; it must exist (`sign`). */
export function resolvePrivateKey(config: Config, flagPath: string | undefined, warn: (message: string) => void): PrivateKey {
  const file = flagPath ?? config.values.crypto.private_key_path;
  const missingHint = flagPath === undefined ? 'create one with `daemoneye keys generate`, or give --key' : 'check the --key path';
  return loadPrivateKey(file, {missing: 'required', missingHint, warn}) as PrivateKey;
}

/**
 * The ledger's signing key (crypto.private_key_path) if its file exists: without one the ledger is kept
 * unsigned. A key file that exists but cannot be used is KEY_UNREADABLE (exit 3).
 */
export function loadSigningKey(config: Config, warn: (message: string) => void = () => undefined): PrivateKey | undefined {
  const file = config.values.crypto.private_key_path;
  try {
    return loadPrivateKey(file, {missing: 'optional', warn});
  } catch (error) {
    if (isDaemonEyeError(error) && error.code === 'KEY_UNREADABLE') throw error;
    const message = isDaemonEyeError(error) ? error.message : String(error);
    throw new DaemonEyeError('KEY_UNREADABLE', `cannot sign the audit checkpoint: ${message}`, {
      file,
      hint: 'fix or replace the key (`daemoneye keys generate --force`), or move it away to run unsigned',
      cause: error,
    });
  }
}

/** `--ledger FILE`, else audit.ledger_path, else <state_dir>/audit.ledger. */
export function ledgerPathFor(config: Config, flag: string | undefined): string {
  return flag ?? config.paths.ledgerPath;
}
