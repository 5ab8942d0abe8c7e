import {Args, Flags} from '@oclif/core';

import {resolvePublicKey} from '../src/audit/index.js';
import {verifyFileSignature} from '../src/crypto/file-signature.js';
import type {PublicKey} from '../src/crypto/keys.js';
import {DaemonEyeError, ExitCode} from '../src/errors.js';
import {objectView} from '../src/output/view.js';
import {DaemonEyeCommand} from './_base/base-command.js';
import {formatFlag} from './_base/flags.js';
import {type CommandOutcome, type ReportLine, shown} from './_base/outcome.js';

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

  protected async execute(): Promise<CommandOutcome> {
    const config = this.loadConfig();
    if (this.flags.signature === undefined) return this.verifyBundle(resolvePublicKey(config, this.flags['public-key']));
    const key = resolvePublicKey(config, this.flags['public-key']);
    if (key === undefined) {
      const file = config.values.crypto.public_key_path;
      throw new DaemonEyeError('INPUT_NOT_FOUND', `public key ${file} does not exist`, {file, hint: 'give --public-key'});
    }
    const result = verifyFileSignature(this.args.file, this.flags.signature, key);
    return this.outcome(
      result,
      [],
      result.valid ? `${result.file}: signature valid (key ${result.key_id})` : `${result.file}: signature INVALID: ${result.reason ?? ''}`,
    );
  }

  private async verifyBundle(key: PublicKey | undefined): Promise<CommandOutcome> {
    const {DEFAULT_BUNDLE_LIMITS, verifyEvidenceBundle} = await import('../src/evidence/verify-bundle.js');
    const result = await verifyEvidenceBundle(this.args.file, key, {
      maxBytes: this.flags['max-bytes'] ?? DEFAULT_BUNDLE_LIMITS.maxBytes,
      maxEntries: this.flags['max-entries'],
    });
    return this.outcome(
      result,
      result.problems.map((problem) => ({error: `${result.bundle}: ${problem}`})),
      `${result.bundle}: ${result.valid ? `bundle valid, ${result.files_checked} files match the signed manifest (key ${result.key_id ?? '?'})` : 'bundle INVALID'}`,
    );
  }

  /** The result printed, then its problems and the verdict line on stderr; exit 1 when not valid. */
  private outcome(result: {valid: boolean} & object, problems: readonly ReportLine[], line: string): CommandOutcome {
    return {
      output: shown(objectView(result), this.flags.format),
      report: [...problems, result.valid ? {info: line} : {error: line}],
      exitCode: result.valid ? ExitCode.Success : ExitCode.CheckFailed,
      audit: null,
    };
  }
}
