import {Args, Flags} from '@oclif/core';

import {resolvePrivateKey} from '../src/audit/index.js';
import {assertNotSameFile, signFile} from '../src/crypto/file-signature.js';
import {ExitCode} from '../src/errors.js';
import {preflightOutput} from '../src/util/output-file.js';
import {objectView} from '../src/output/view.js';
import {DaemonEyeCommand} from './_base/base-command.js';
import {formatFlag} from './_base/flags.js';
import {type CommandOutcome, shown} from './_base/outcome.js';

export default class Sign extends DaemonEyeCommand<typeof Sign> {
  static override summary = 'Write a detached Ed25519 signature of a file.';
  static override description =
    'The signature is raw 64 bytes (as `openssl pkeyutl -sign -rawin` writes), or base64 with --armor, written atomically to FILE.sig or --output. Check it with `daemoneye verify` or `openssl pkeyutl -verify -pubin -inkey public.key -rawin -in FILE -sigfile FILE.sig`.';
  static override examples = [
    '<%= config.bin %> sign report.json',
    '<%= config.bin %> sign snapshot.db --key ./keys/private.key --output snapshot.db.sig --armor',
  ];
  static override args = {file: Args.string({description: 'The file to sign.', required: true})};
  static override flags = {
    key: Flags.string({summary: 'Private key (PEM PKCS#8; default crypto.private_key_path).'}),
    output: Flags.string({char: 'o', summary: 'Signature file (default FILE.sig).'}),
    armor: Flags.boolean({summary: 'Write the signature as base64 text instead of raw bytes.'}),
    format: formatFlag(['json', 'ndjson', 'table'] as const),
  };

  protected async execute(): Promise<CommandOutcome> {
    const config = this.loadConfig();
    const key = resolvePrivateKey(config, this.flags.key, (message) => this.logger.warn(message));
    const output = this.flags.output ?? `${this.args.file}.sig`;
    assertNotSameFile(this.args.file, output);
    preflightOutput(output, {what: 'signature output'});
    const result = signFile(this.args.file, key, {output, armor: this.flags.armor, note: (message) => this.logger.info(message)});
    return {output: shown(objectView(result), this.flags.format), exitCode: ExitCode.Success, audit: {action: 'sign', payload: result}};
  }
}
