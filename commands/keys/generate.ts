import {join} from 'node:path';

import {Flags} from '@oclif/core';

import {writeKeyPair} from '../../src/crypto/key-files.js';
import {ExitCode} from '../../src/errors.js';
import {objectView} from '../../src/output/view.js';
import {DaemonEyeCommand} from '../_base/base-command.js';
import {formatFlag} from '../_base/flags.js';
import {type CommandOutcome, shown} from '../_base/outcome.js';

export default class KeysGenerate extends DaemonEyeCommand<typeof KeysGenerate> {
  static override summary = 'Generate an Ed25519 key pair (PEM) for audit checkpoints and file signatures.';
  static override description =
    'Writes private.key (PKCS#8, mode 0600) and public.key (SPKI), by default at crypto.private_key_path and crypto.public_key_path. OpenSSL reads both. Refuses to replace existing keys without --force. Prints the paths and key id, never the key.';
  static override examples = [
    '<%= config.bin %> keys generate',
    '<%= config.bin %> keys generate --dir ./keys',
    'openssl pkey -in ./keys/private.key -noout -text',
  ];
  static override flags = {
    dir: Flags.string({summary: 'Write private.key and public.key into this directory instead of the configured paths.'}),
    force: Flags.boolean({summary: 'Replace existing key files.'}),
    format: formatFlag(['json', 'ndjson', 'table'] as const),
  };

  protected async execute(): Promise<CommandOutcome> {
    const config = this.loadConfig();
    const {dir, force} = this.flags;
    const privatePath = dir === undefined ? config.values.crypto.private_key_path : join(dir, 'private.key');
    const publicPath = dir === undefined ? config.values.crypto.public_key_path : join(dir, 'public.key');
    const result = writeKeyPair(privatePath, publicPath, {force});
    return {
      output: shown(objectView(result), this.flags.format),
      report: [{info: `wrote ${result.private_key_path} (mode 0600) and ${result.public_key_path}; key id ${result.key_id}`}],
      exitCode: ExitCode.Success,
      audit: {action: 'keys_generate', payload: result},
    };
  }
}
