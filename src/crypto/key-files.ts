// `keys generate`: write a new Ed25519 key pair as PEM files, the private one 0600, never over an
// existing key unless asked (a lost signing key cannot be recovered). Key files are state: a symbolic link or
// anything but a regular file at a key path is refused (STATE_UNSAFE), never followed nor replaced.
import {lstatSync} from 'node:fs';
import {dirname} from 'node:path';

import {DaemonEyeError, fileError, systemErrorCode} from '../errors.js';
import {unsafeState} from '../util/state-file.js';
import {writeFileAtomic} from '../util/atomic-write.js';
import {settleRun} from '../util/interrupt.js';
import {generateKeyPair} from './keys.js';
import {makeDirectory} from '../util/directory.js';

export interface GeneratedKeys {
  readonly private_key_path: string;
  readonly public_key_path: string;
  readonly key_id: string;
  readonly overwritten: boolean;
}

/** Whether a key file exists; a link or non-file at the path is STATE_UNSAFE. */
function keyFileExists(path: string, what: string): boolean {
  let stat;
  try {
    stat = lstatSync(path);
  } catch (error) {
    if (systemErrorCode(error) === 'ENOENT') return false;
    throw fileError(error, path, 'write');
  }
  if (stat.isSymbolicLink()) throw unsafeState(path, 'is a symbolic link', what);
  if (!stat.isFile()) throw unsafeState(path, 'is not a regular file', what);
  return true;
}

export function writeKeyPair(privatePath: string, publicPath: string, options: {force?: boolean} = {}): GeneratedKeys {
  const existing = [
    [privatePath, 'private key'],
    [publicPath, 'public key'],
  ]
    .filter(([path, what]) => keyFileExists(path as string, what as string))
    .map(([path]) => path as string);
  if (existing.length > 0 && options.force !== true) {
    throw new DaemonEyeError('KEY_EXISTS', `${existing.join(' and ')} already exist${existing.length === 1 ? 's' : ''}`, {
      file: existing[0],
      hint: 'give --force to replace the key pair (checkpoints signed with the old key then need the old public key to verify)',
    });
  }
  for (const dir of new Set([dirname(privatePath), dirname(publicPath)])) {
    try {
      makeDirectory(dir, 0o700);
    } catch (error) {
      throw fileError(error, dir, 'create');
    }
  }
  const pair = generateKeyPair();
  writeFileAtomic(privatePath, pair.privatePem, {mode: 0o600});
  writeFileAtomic(publicPath, pair.publicPem, {mode: 0o644});
  // The pair is the run's product, written in one synchronous stretch: a signal then is let pass (src/util/interrupt.ts).
  settleRun();
  return {private_key_path: privatePath, public_key_path: publicPath, key_id: pair.keyId, overwritten: existing.length > 0};
}
