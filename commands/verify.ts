import {Args, Flags} from '@oclif/core';

import {resolvePublicKey} from '../src/audit/index.js';
import {verifyFileSignature} from '../src/crypto/file-signature.js';
import type {PublicKey} from '../src/crypto/keys.js';
import {DaemonEyeError, ExitCode} from '../src/errors.js';
import {objectView} from '../src/output/view.js';
import {DaemonEyeCommand} from './_base/base-command.js';
import {formatFlag} from './_base/flags.js';

export default class Verify extends DaemonEyeCommand<typeof Verify> {
  static override summary = 'Check a detached Ed25519 signature of a file, or an evidence bundle written by `collect`.';
  static override description =
    "With --signature: accepts raw 64-byte or base64 signatures, ours or OpenSSL's (`openssl pkeyutl -sign -rawin`). Without it, FILE is an evidence bundle (a case directory or its .tar.gz): its manifest signature is checked and every file against the manifest's SHA-256 and BLAKE3, naming each changed, missing or added file. Exit 0 when valid, 1 when not, 2 when a file cannot be read.";
  static override examples = [
    '<%= config.bin %> verify report.json --signature report.json.sig',
    '<%= config.bin %> verify snapshot.db -s snapshot.db.sig --public-key ./keys/public.key',
    '<%= config.bin %> verify case-4242.tar.gz --public-key ./keys/public.key',
  ];
  static override args = {file: Args.string({description: 'The signed file, or an evidence bundle (directory or .tar.gz).', required: true})};
  static override flags = {
    signature: Flags.string({char: 's', summary: 'The signature file (absent: FILE is an evidence bundle).'}),
    'public-key': Flags.string({summary: 'Public key (PEM SPKI; default crypto.public_key_path).'}),
    'max-bytes': Flags.integer({
      summary: 'A bundle archive expanding past this many bytes is refused (a decompression bomb); default: 2 GiB and 64 MiB.',
      min: 1,
      max: 2 ** 50,
    }),
    'max-entries': Flags.integer({summary: 'A bundle archive with more entries than this is refused.', default: 100_000, min: 1, max: 10_000_000}),
    format: formatFlag(['json', 'ndjson', 'table'] as const),
  };

  async run(): Promise<void> {
    const config = this.loadConfig();
    if (this.flags.signature === undefined) {
      await this.verifyBundle(resolvePublicKey(config, this.flags['public-key']));
      return;
    }
    const key = resolvePublicKey(config, this.flags['public-key']);
    if (key === undefined) {
      const file = config.values.crypto.public_key_path;
      throw new DaemonEyeError('INPUT_NOT_FOUND', `public key ${file} does not exist`, {file, hint: 'give --public-key'});
    }
    const result = verifyFileSignature(this.args.file, this.flags.signature, key);
    await this.report(
      result,
      result.valid ? `${result.file}: signature valid (key ${result.key_id})` : `${result.file}: signature INVALID: ${result.reason ?? ''}`,
    );
  }

  private async verifyBundle(key: PublicKey | undefined): Promise<void> {
    const {DEFAULT_BUNDLE_LIMITS, verifyEvidenceBundle} = await import('../src/evidence/verify-bundle.js');
    const result = await verifyEvidenceBundle(this.args.file, key, {
      maxBytes: this.flags['max-bytes'] ?? DEFAULT_BUNDLE_LIMITS.maxBytes,
      maxEntries: this.flags['max-entries'],
    });
    for (const problem of result.problems) this.logger.error(`${result.bundle}: ${problem}`);
    await this.report(
      result,
      `${result.bundle}: ${result.valid ? `bundle valid, ${result.files_checked} files match the signed manifest (key ${result.key_id ?? '?'})` : 'bundle INVALID'}`,
    );
  }

  private async report(result: {valid: boolean} & object, line: string): Promise<void> {
    await this.present(this.flags.format, objectView(result));
    if (result.valid) this.logger.info(line);
    else this.logger.error(line);
    if (!result.valid) this.setExitCode(ExitCode.CheckFailed);
  }
}
