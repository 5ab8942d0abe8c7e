// Key resolution shared by the audit, sign and verify commands: a flag's file, else the configured one.
import {existsSync} from 'node:fs';

import type {Config} from '../config/builder.js';
import {isExposed, type PrivateKey, type PublicKey, readPrivateKey, readPublicKey} from '../crypto/keys.js';
import {DaemonEyeError} from '../errors.js';

/** The public key named by a flag (must exist), else the configured one when its file exists. */
export function resolvePublicKey(config: Config, flagPath: string | undefined): PublicKey | undefined {
  if (flagPath !== undefined) return readPublicKey(flagPath);
  const configured = config.values.crypto.public_key_path;
  return existsSync(configured) ? readPublicKey(configured) : undefined;
}

/** The private key named by a flag, else the configured one; it must exist. Warns when others can read it. */
export function resolvePrivateKey(config: Config, flagPath: string | undefined, warn: (message: string) => void): PrivateKey {
  const file = flagPath ?? config.values.crypto.private_key_path;
  if (!existsSync(file)) {
    throw new DaemonEyeError('INPUT_NOT_FOUND', `private key ${file} does not exist`, {
      file,
      hint: flagPath === undefined ? 'create one with `daemoneye keys generate`, or give --key' : 'check the --key path',
    });
  }
  const key = readPrivateKey(file, {missing: 'INPUT_NOT_FOUND'});
  if (isExposed(file)) warn(`private key ${file} is readable by group or others; run chmod 600 ${file}`);
  return key;
}
