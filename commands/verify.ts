import {Args, Flags} from '@oclif/core';

import {resolvePublicKey} from '../src/audit/index.js';
import {verifyFileSignature} from '../src/crypto/file-signature.js';
import {DaemonEyeError, ExitCode} from '../src/errors.js';
import {objectView} from '../src/output/view.js';
import {DaemonEyeCommand} from './_base/base-command.js';
import {formatFlag} from './_base/flags.js';

export default class Verify extends DaemonEyeCommand<typeof Verify> {
  static override summary = 'Check a detached Ed25519 signature of a file.';
  static override description =
    "Accepts raw 64-byte or base64 signatures, ours or OpenSSL's (`openssl pkeyutl -sign -rawin`). Exit 0 when valid, 1 when not, 2 when a file cannot be read.";
  static override examples = [
    '<%= config.bin %> verify report.json --signature report.json.sig',
    '<%= config.bin %> verify snapshot.db -s snapshot.db.sig --public-key ./keys/public.key',
  ];
  static override args = {file: Args.string({description: 'The signed file.', required: true})};
  static override flags = {
    signature: Flags.string({char: 's', summary: 'The signature file.', required: true}),
    'public-key': Flags.string({summary: 'Public key (PEM SPKI; default crypto.public_key_path).'}),
    format: formatFlag(['json', 'ndjson', 'table'] as const),
  };

  async run(): Promise<void> {
    const config = this.loadConfig();
    const key = resolvePublicKey(config, this.flags['public-key']);
    if (key === undefined) {
      const file = config.values.crypto.public_key_path;
      throw new DaemonEyeError('INPUT_NOT_FOUND', `public key ${file} does not exist`, {file, hint: 'give --public-key'});
    }
    const result = verifyFileSignature(this.args.file, this.flags.signature, key);
    await this.present(this.flags.format, objectView(result));
    if (result.valid) this.logger.info(`${result.file}: signature valid (key ${result.key_id})`);
    else this.logger.error(`${result.file}: signature INVALID: ${result.reason ?? ''}`);
    if (!result.valid) this.setExitCode(ExitCode.CheckFailed);
  }
}
