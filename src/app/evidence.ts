// Which processes `collect` copies: given pids, the pids an alerts file names (detect's NDJSON or JSON
// output), or the pids a rule flags on a live snapshot now.
import {readFileSync} from 'node:fs';

import type {DaemonEyeConfig} from '../config/schema.js';
import {DaemonEyeError, fileError} from '../errors.js';

/**
 * Pids named by an alerts file: `detect --format ndjson` (one alert per line), `detect --format json`
 * (`{"alerts": [...]}`) or a JSON array of alerts; each alert's `affected_processes`.
 */
export function pidsFromAlertsFile(path: string): number[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw fileError(error, path, 'read');
  }
  const bad = (why: string): DaemonEyeError =>
    new DaemonEyeError('INPUT_CORRUPT', `${path}: ${why}`, {file: path, hint: 'give the output of `daemoneye detect --format ndjson` or `--format json`'});
  let alerts: unknown[];
  try {
    alerts = alertsOf(JSON.parse(text) as unknown);
  } catch {
    // Not one JSON document: NDJSON, one alert per line.
    try {
      alerts = text
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as unknown);
    } catch (error) {
      throw bad(`not JSON or NDJSON (${(error as Error).message})`);
    }
  }
  const pids = new Set<number>();
  for (const alert of alerts) {
    const affected = (alert as {affected_processes?: unknown}).affected_processes;
    if (!Array.isArray(affected)) throw bad('an alert has no affected_processes');
    for (const pid of affected) if (Number.isInteger(pid) && (pid as number) > 0) pids.add(pid as number);
  }
  return [...pids].sort((a, b) => a - b);
}

/** Pids the rule flags on a live snapshot taken now (the rule runs even if disabled). */
export async function pidsFromRule(config: DaemonEyeConfig, ruleId: string): Promise<number[]> {
  const {detect} = await import('../detection/detect.js');
  const {detectionSnapshots} = await import('../detection/snapshot-source.js');
  const report = await detect({config, ruleIds: [ruleId], snapshots: detectionSnapshots({config})});
  const result = report.results.find((r) => r.rule_id === ruleId);
  if (result !== undefined && result.status !== 'ok') {
    throw new DaemonEyeError('RULE_FAILED', `rule ${ruleId} did not run: ${result.error ?? result.status}`, {hint: 'fix the rule, or give --pid'});
  }
  return [...new Set(report.alerts.flatMap((a) => a.affected_processes))].sort((a, b) => a - b);
}

function alertsOf(document: unknown): unknown[] {
  if (Array.isArray(document)) return document;
  const alerts = (document as {alerts?: unknown} | null)?.alerts;
  return Array.isArray(alerts) ? alerts : [document];
}
