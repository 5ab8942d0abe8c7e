// `daemoneye collect` as one library call: which processes to copy (given pids, the pids an alerts file
// names, or the pids a rule flags on a live snapshot now), the signing key, and the evidence case written
// by src/evidence/collect-evidence.ts. (src/collect/ is the /proc snapshot behind `scan`, not this.)

import {loadSigningKey, resolvePrivateKey} from '../audit/keys.js';
import type {Config} from '../config/builder.js';
import type {DaemonEyeConfig} from '../config/schema.js';
import {DaemonEyeError, fileError} from '../errors.js';
import {collectEvidence, type CollectEvidenceResult} from '../evidence/collect-evidence.js';
import {parseJson} from '../util/json.js';
import {FILE_LIMITS, readRegularTextFile} from '../util/read-file.js';
import type {Alert} from '../models/alert.js';
import {alertResultRows} from '../models/alert-evidence.js';
import {Redactor} from '../redaction/redact.js';

export interface EvidenceCaseOptions {
  readonly config: Config;
  /** Exactly one of pids (`--pid`), alerts (`--alerts FILE`) and rule (`--rule ID`) names the processes. */
  readonly pids?: readonly number[];
  readonly alerts?: string;
  readonly rule?: string;
  /** A case directory, or FILE.tar.gz; must not exist. */
  readonly output: string;
  /** `--key FILE`; absent: crypto.private_key_path when it exists, else the case is unsigned (warned). */
  readonly keyPath?: string;
  readonly maxFileBytes: number;
  readonly maxTotalBytes: number;
  /** The command line, recorded in the manifest. */
  readonly command: readonly string[];
  readonly warn: (message: string) => void;
}

export interface EvidenceCase {
  readonly result: CollectEvidenceResult;
  /** Why these pids: `--pid`, `--alerts FILE` or `--rule ID` (in the manifest and the ledger). */
  readonly reason: string;
}

/** Resolve the targets and the key, then write the case. Not exactly one target source: USAGE (exit 2). */
export async function collectEvidenceCase(options: EvidenceCaseOptions): Promise<EvidenceCase> {
  const {config, warn} = options;
  const sources = [options.pids, options.alerts, options.rule].filter((s) => s !== undefined).length;
  if (sources !== 1) throw new DaemonEyeError('USAGE', 'give exactly one of --pid, --alerts or --rule', {hint: 'see daemoneye collect --help'});
  const targets: AlertTargets =
    options.pids !== undefined
      ? {pids: [...options.pids], namedFiles: new Map()}
      : options.alerts === undefined
        ? await targetsFromRule(config.values, options.rule as string, warn)
        : targetsFromAlertsFile(options.alerts);
  const reason = options.pids !== undefined ? '--pid' : options.alerts !== undefined ? `--alerts ${options.alerts}` : `--rule ${options.rule as string}`;
  const key = options.keyPath === undefined ? loadSigningKey(config, warn) : resolvePrivateKey(config, options.keyPath, warn);
  if (key === undefined)
    warn(`no signing key at ${config.values.crypto.private_key_path}: the manifest is not signed (create one with \`daemoneye keys generate\`)`);
  const redaction = config.values.collection.redaction;
  if (!redaction.enabled)
    warn(
      'redaction is off (--no-redact or collection.redaction.enabled: false): argv and environments are copied as the processes had them, secrets included (the manifest says so)',
    );
  const result = await collectEvidence({
    redactor: redaction.enabled ? new Redactor({words: redaction.flags, shortFlags: redaction.short_flags}) : null,
    pids: targets.pids,
    namedFiles: targets.namedFiles,
    output: options.output,
    maxFileBytes: options.maxFileBytes,
    maxTotalBytes: options.maxTotalBytes,
    command: options.command,
    reason,
    decorations: options.config.values.collection.decorations,
    ...(key === undefined ? {} : {key}),
  });
  return {result, reason};
}

/** The processes alerts name, and per pid the absolute paths in the alerts' result rows (a library, an executable). */
export interface AlertTargets {
  readonly pids: number[];
  readonly namedFiles: ReadonlyMap<number, ReadonlySet<string>>;
}

/**
 * Pids and named files of alerts: each alert's `affected_processes`, and every absolute path among the values
 * of its result rows (`alert_data.processes`), for the row's `pid` (or every affected pid when the row has
 * none). Throws (with `bad`) on an alert without `affected_processes`.
 */
export function alertTargets(alerts: readonly unknown[], bad: (why: string) => Error): AlertTargets {
  const pids = new Set<number>();
  const namedFiles = new Map<number, Set<string>>();
  const name = (pid: number, path: string): void => {
    const files = namedFiles.get(pid) ?? new Set<string>();
    namedFiles.set(pid, files.add(path));
  };
  for (const alert of alerts) {
    const affected = (alert as {affected_processes?: unknown}).affected_processes;
    if (!Array.isArray(affected)) throw bad('an alert has no affected_processes');
    const own = affected.filter((pid): pid is number => Number.isInteger(pid) && (pid as number) > 0);
    for (const pid of own) pids.add(pid);
    for (const row of alertResultRows(alert as Pick<Alert, 'alert_data'>)) {
      const paths = Object.values(row).filter((value): value is string => typeof value === 'string' && value.startsWith('/'));
      const rowPid = Number.isInteger(row.pid) ? [row.pid as number] : own;
      for (const pid of rowPid) for (const path of paths) name(pid, path);
    }
  }
  return {pids: [...pids].sort((a, b) => a - b), namedFiles};
}

/**
 * Targets named by an alerts file: `detect --format ndjson` (one alert per line), `detect --format json`
 * (`{"alerts": [...]}`) or a JSON array of alerts (see alertTargets). Unreadable or not alerts: an error
 * naming the file (exit 2).
 */
export function targetsFromAlertsFile(path: string): AlertTargets {
  let text: string;
  try {
    text = readRegularTextFile(path, FILE_LIMITS.alerts);
  } catch (error) {
    throw fileError(error, path, 'read');
  }
  const bad = (why: string): DaemonEyeError =>
    new DaemonEyeError('INPUT_CORRUPT', `${path}: ${why}`, {file: path, hint: 'give the output of `daemoneye detect --format ndjson` or `--format json`'});
  let alerts: unknown[];
  try {
    alerts = alertsOf(parseJson(text));
  } catch {
    // Not one JSON document: NDJSON, one alert per line.
    try {
      alerts = text
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => parseJson(line));
    } catch (error) {
      throw bad(`not JSON or NDJSON (${(error as Error).message})`);
    }
  }
  return alertTargets(alerts, bad);
}

/** Targets of the rule's alerts on a live snapshot taken now (the rule runs even if disabled). */
export async function targetsFromRule(config: DaemonEyeConfig, ruleId: string, warn: (message: string) => void): Promise<AlertTargets> {
  const {runRulesOverSnapshots} = await import('../detection/rules-over-snapshots.js');
  const {detectionSnapshots} = await import('../detection/snapshot-source.js');
  const report = await runRulesOverSnapshots({config, ruleIds: [ruleId], snapshots: detectionSnapshots({config, onWarning: warn}), onWarning: warn});
  const result = report.results.find((r) => r.rule_id === ruleId);
  if (result !== undefined && result.status !== 'ok') {
    throw new DaemonEyeError('RULE_FAILED', `rule ${ruleId} did not run: ${result.error ?? result.status}`, {hint: 'fix the rule, or give --pid'});
  }
  return alertTargets(report.alerts, (why) => new DaemonEyeError('RULE_FAILED', `rule ${ruleId}: ${why}`));
}

function alertsOf(document: unknown): unknown[] {
  if (Array.isArray(document)) return document;
  const alerts = (document as {alerts?: unknown} | null)?.alerts;
  return Array.isArray(alerts) ? alerts : [document];
}
