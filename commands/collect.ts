import {Flags} from '@oclif/core';

import {ExitCode} from '../src/errors.js';
import {objectView} from '../src/output/view.js';
import {DaemonEyeCommand} from './_base/base-command.js';
import {configFlags} from './_base/config-flags.js';
import {formatFlag, PID_MAX_LIMIT} from './_base/flags.js';
import {type CommandOutcome, shown} from './_base/outcome.js';

export default class Collect extends DaemonEyeCommand<typeof Collect> {
  static override summary = 'Copy evidence of suspect processes (executable, argv, status, maps, fds, redacted environment) into a signed case.';
  static override description =
    'For each process: its executable read through /proc/PID/exe (works when the file was deleted from disk), argv, status, stat, maps, mountinfo, cgroup, the fd list and the environment; secrets in argv and environments are redacted (docs/redaction.md) unless --no-redact, and the manifest says which. A manifest lists every file with its SHA-256 and BLAKE3, the tool version, host, time and this command; it is signed with the Ed25519 key (crypto.private_key_path or --key) and the collection is recorded in the audit ledger. --output DIR creates a case directory, --output FILE.tar.gz an archive; neither is ever written over. Check it later with `daemoneye verify BUNDLE`.';
  static override examples = [
    '<%= config.bin %> collect --pid 4242 --output case-4242.tar.gz',
    '<%= config.bin %> detect --fail-on high > alerts.ndjson; <%= config.bin %> collect --alerts alerts.ndjson --output /srv/cases/$(hostname)-$(date +%s)',
    '<%= config.bin %> collect --rule deleted-executable --output deleted.tar.gz',
  ];
  static override flags = {
    pid: Flags.integer({summary: 'A process to collect (repeatable).', multiple: true, min: 1, max: PID_MAX_LIMIT}),
    alerts: Flags.string({summary: 'Collect the processes these alerts name (detect --format ndjson or json output).'}),
    rule: Flags.string({summary: 'Run this rule on a live snapshot now and collect the processes it flags.'}),
    output: Flags.string({char: 'o', summary: 'Case directory, or FILE.tar.gz (must not exist).', required: true}),
    key: Flags.string({summary: 'Ed25519 private key to sign the manifest (default: crypto.private_key_path when it exists).'}),
    'max-file-bytes': Flags.integer({summary: 'Largest file copied; larger ones are listed as skipped.', default: 256 * 1024 * 1024, min: 1, max: 2 ** 31 - 1}),
    'max-total-bytes': Flags.integer({summary: 'Largest case; files past it are listed as skipped.', default: 2 * 1024 * 1024 * 1024, min: 1, max: 2 ** 50}),
    ...configFlags('redact'),
    format: formatFlag(['json', 'ndjson', 'table'] as const, 'Output format of the summary (default: json).'),
  };

  protected async execute(): Promise<CommandOutcome> {
    const {flags} = this;
    const {collectEvidenceCase} = await import('../src/app/evidence.js');
    const {result, reason} = await collectEvidenceCase({
      config: this.loadConfig(),
      ...(flags.pid === undefined ? {} : {pids: flags.pid}),
      ...(flags.alerts === undefined ? {} : {alerts: flags.alerts}),
      ...(flags.rule === undefined ? {} : {rule: flags.rule}),
      ...(flags.key === undefined ? {} : {keyPath: flags.key}),
      output: flags.output,
      maxFileBytes: flags['max-file-bytes'],
      maxTotalBytes: flags['max-total-bytes'],
      command: ['daemoneye', 'collect', ...this.argv],
      warn: (m) => this.logger.warn(m),
    });
    const {manifest} = result;
    const view = objectView({
      output: result.output,
      kind: result.kind,
      case_id: manifest.case_id,
      manifest_sha256: result.manifest_sha256,
      signed: result.signed,
      key_id: result.key_id,
      pids: manifest.processes.map((p) => p.pid),
      not_running: manifest.not_running,
      files: manifest.files.length,
      skipped: manifest.skipped,
      bytes: result.bytes,
      redacted: manifest.redaction?.enabled ?? false,
      host: manifest.host,
    });
    const files = manifest.files.length;
    const processes = manifest.processes.length;
    return {
      output: shown(view, this.flags.format, 'json'),
      report: [
        ...manifest.skipped.map((skipped) => ({warn: `not collected: ${skipped.path} (${skipped.reason})`})),
        ...manifest.not_running.map((pid) => ({warn: `no process with pid ${pid}`})),
        {info: `collected ${files} file${files === 1 ? '' : 's'} of ${processes} process${processes === 1 ? '' : 'es'} into ${result.output}`},
      ],
      exitCode: ExitCode.Success,
      audit: {
        action: 'evidence_collection',
        payload: {
          output: result.output,
          case_id: manifest.case_id,
          manifest_sha256: result.manifest_sha256,
          signed: result.signed,
          key_id: result.key_id,
          pids: manifest.processes.map((p) => p.pid),
          reason,
          redacted: manifest.redaction?.enabled ?? false,
          files: manifest.files.length,
        },
      },
    };
  }
}
