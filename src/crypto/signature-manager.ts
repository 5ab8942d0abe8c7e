// SignatureManager (the reference API's crypto type, docs/api.md): Ed25519 signing and verification with the configured key
// files, for library users; the CLI commands use the same primitives in keys.ts and file-signature.ts.
import {existsSync} from 'node:fs';

import {DaemonEyeError} from '../errors.js';
import {type PrivateKey, type PublicKey, readPrivateKey, readPublicKey, signBytes, verifyBytes} from './keys.js';

/** The reference API's `SignatureConfig`: where the PEM key files are. */
export interface SignatureConfig {
  readonly private_key_path: string;
  readonly public_key_path: string;
}

export class SignatureManager {
  private privateKey: PrivateKey | undefined;
  private publicKey: PublicKey | undefined;

  constructor(readonly config: SignatureConfig) {}

  /** The signing key; a missing file is KEY_UNREADABLE (exit 3), a malformed one KEY_INVALID. Loaded once. */
  private signingKey(): PrivateKey {
    this.privateKey ??= readPrivateKey(this.config.private_key_path);
    return this.privateKey;
  }

  /** The verifying key: the public key file, else the public half of the private key. */
  private verifyingKey(): PublicKey {
    if (this.publicKey === undefined) {
      if (existsSync(this.config.public_key_path)) this.publicKey = readPublicKey(this.config.public_key_path);
      else if (existsSync(this.config.private_key_path)) this.publicKey = this.signingKey();
      else throw new DaemonEyeError('INPUT_NOT_FOUND', `public key ${this.config.public_key_path} does not exist`, {file: this.config.public_key_path});
    }
    return this.publicKey;
  }

  get keyId(): string {
    return this.verifyingKey().keyId;
  }

  sign(data: Uint8Array): Uint8Array {
    return signBytes(this.signingKey(), data);
  }

  verify(data: Uint8Array, signature: Uint8Array): boolean {
    return verifyBytes(this.verifyingKey().publicKey, data, signature);
  }
}
