import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import parsePrometheusTextFormat, {type ParsedFamily} from 'parse-prometheus-text-format';
import {afterAll, describe, expect, it} from 'vitest';

import {isolatedEnv, removeDir, runCli, tempDir} from '../helpers/cli.js';

const home = tempDir();
afterAll(() => removeDir(home));
const env = isolatedEnv(home, {DAEMONEYE_APP__STATE_DIR: join(home, 'state')});

function families(path: string): Map<string, ParsedFamily> {
  return new Map(parsePrometheusTextFormat(readFileSync(path, 'utf8')).map((family) => [family.name, family]));
}

describe('--metrics-file', () => {
  it('writes a Prometheus text file that a real parser reads, with run-level series labelled by command', async () => {
    const path = join(home, 'config-show.prom');
    const before = Date.now() / 1000;
    const result = await runCli(['config', 'show', '--format', 'json', '--metrics-file', path], {env});
    expect(result.code).toBe(0);
    const parsed = families(path);
    expect(parsed.get('daemoneye_command_exit_code')).toMatchObject({type: 'GAUGE', metrics: [{value: '0', labels: {command: 'config show'}}]});
    const lastSuccess = Number(parsed.get('daemoneye_last_success_timestamp_seconds')?.metrics[0]?.value);
    expect(lastSuccess).toBeGreaterThanOrEqual(before - 1);
    expect(Number(parsed.get('daemoneye_command_duration_seconds')?.metrics[0]?.value)).toBeGreaterThanOrEqual(0);
    // Atomic: no temp file left beside it.
    expect(readdirSync(home).filter((name) => name.startsWith('.tmp-'))).toEqual([]);
  });

  it('holds the collection series after a scan', async () => {
    const path = join(home, 'scan.prom');
    const result = await runCli(['scan', '--format', 'ndjson', '--no-hash', '--metrics-file', path], {env});
    expect(result.code, result.stderr).toBe(0);
    const scanned = result.stdout.trim().split('\n').length;
    const parsed = families(path);
    expect(parsed.get('daemoneye_processes_collected_total')).toMatchObject({type: 'COUNTER', metrics: [{value: String(scanned)}]});
    expect(parsed.get('daemoneye_active_processes')).toMatchObject({type: 'GAUGE', metrics: [{value: String(scanned)}]});
    expect(parsed.get('daemoneye_hash_bytes_total')?.metrics[0]?.value).toBe('0');
    expect(parsed.get('daemoneye_hash_cache_hits_total')).toMatchObject({type: 'COUNTER', metrics: [{value: '0'}]});
    const duration = parsed.get('daemoneye_collection_duration_seconds');
    expect(duration?.type).toBe('HISTOGRAM');
    expect(duration?.metrics[0]?.count).toBe('1');
    expect(Number(duration?.metrics[0]?.sum)).toBeGreaterThan(0);
    expect(duration?.metrics[0]?.buckets?.['+Inf']).toBe('1');
    expect(parsed.get('daemoneye_command_exit_code')?.metrics[0]?.labels).toEqual({command: 'scan'});
  });

  it('holds the detection series after a detect run', async () => {
    const snapshot = join(home, 'snapshot.db');
    expect((await runCli(['scan', '--no-hash', '--output', snapshot, '--format', 'ndjson'], {env})).code).toBe(0);
    const rules = join(home, 'rules');
    mkdirSync(rules, {recursive: true});
    const rule = (id: string, severity: string, where: string): string =>
      `id: ${id}\nname: ${id}\ndescription: metrics test\nversion: 1\nseverity: ${severity}\ncategory: test\ntags: []\nauthor: tests\nenabled: true\nsql_query: SELECT pid, name FROM processes WHERE ${where}\ntests:\n  - name: case\n    processes:\n      - {pid: 7, name: x}\n    expect: []\n`;
    writeFileSync(join(rules, 'every-process.yaml'), rule('every-process', 'high', "pid > 0 AND name <> 'x'"));
    writeFileSync(join(rules, 'never.yaml'), rule('never', 'low', 'pid < 0'));
    const path = join(home, 'detect.prom');
    // Only this test's rules: the built-in pack's alerts on the test machine are not what is counted here.
    const result = await runCli(['detect', '--input', snapshot, '--rules', rules, '--format', 'json', '--metrics-file', path], {
      env: {...env, DAEMONEYE_DETECTION__BUILTIN_RULES: 'false'},
    });
    expect(result.code, result.stderr).toBe(0);
    const alerts = (JSON.parse(result.stdout) as {alerts: unknown[]}).alerts.length;
    expect(alerts).toBeGreaterThan(0);
    const parsed = families(path);
    const bySeverity = Object.fromEntries((parsed.get('daemoneye_alerts_generated_total')?.metrics ?? []).map((m) => [m.labels?.severity, m.value]));
    expect(bySeverity).toEqual({critical: '0', high: String(alerts), low: '0', medium: '0', informational: '0'});
    expect(parsed.get('daemoneye_rules_failed_total')).toMatchObject({type: 'COUNTER', metrics: [{value: '0'}]});
    expect(parsed.get('daemoneye_rule_duration_seconds')?.type).toBe('HISTOGRAM');
    const text = readFileSync(path, 'utf8');
    for (const id of ['every-process', 'never']) expect(text).toMatch(new RegExp(`^daemoneye_rule_duration_seconds_count\\{rule="${id}"\\} 1$`, 'm'));
    expect(parsed.get('daemoneye_last_success_timestamp_seconds')?.metrics[0]?.labels).toEqual({command: 'detect'});
  });

  it('counts failed, timed-out, not-run and skipped rules as separate series: a skipped rule is no failure', async () => {
    const snapshot = join(home, 'snapshot-outcomes.db');
    expect((await runCli(['scan', '--no-hash', '--output', snapshot, '--format', 'ndjson'], {env})).code).toBe(0);
    const rules = join(home, 'rules-outcomes');
    mkdirSync(rules, {recursive: true});
    // json_extract over a name that is not JSON fails at run time, in the worker: a failed rule.
    writeFileSync(
      join(rules, 'breaks.yaml'),
      "id: breaks\nname: breaks\ndescription: fails at run time\nversion: 1\nseverity: low\ncategory: test\ntags: []\nauthor: tests\nenabled: true\nsql_query: SELECT pid FROM processes WHERE json_extract('{not json', '$.a') IS NOT NULL\n",
    );
    const path = join(home, 'detect-outcomes.prom');
    // The built-in pack stays on: its baseline rule is skipped without --baseline, on every default run.
    const result = await runCli(['detect', '--input', snapshot, '--rules', rules, '--format', 'json', '--metrics-file', path], {env});
    const summary = (JSON.parse(result.stdout) as {summary: {failed: string[]; skipped: string[]; timed_out: string[]}}).summary;
    expect(summary.failed).toEqual(['breaks']);
    expect(summary.skipped.length).toBeGreaterThan(0);
    const parsed = families(path);
    const value = (name: string): string | undefined => parsed.get(name)?.metrics[0]?.value;
    expect(value('daemoneye_rules_failed_total')).toBe('1');
    expect(value('daemoneye_rules_skipped_total')).toBe(String(summary.skipped.length));
    expect(value('daemoneye_rules_timed_out_total')).toBe(String(summary.timed_out.length));
    expect(value('daemoneye_rules_not_run_total')).toBe('0');
  });

  it('holds the collection series too after a live detect run', async () => {
    const path = join(home, 'detect-live.prom');
    const result = await runCli(['detect', '--format', 'json', '--metrics-file', path], {env: {...env, DAEMONEYE_COLLECTION__HASH: 'false'}});
    expect([0, 1], result.stderr).toContain(result.code);
    const parsed = families(path);
    expect(Number(parsed.get('daemoneye_processes_collected_total')?.metrics[0]?.value)).toBeGreaterThan(0);
    expect(parsed.get('daemoneye_collection_duration_seconds')?.metrics[0]?.count).toBe('1');
    // One series per severity, informational included.
    expect(parsed.get('daemoneye_alerts_generated_total')?.metrics).toHaveLength(5);
  });

  it('holds the health series after a health run', async () => {
    const path = join(home, 'health.prom');
    const result = await runCli(['health', '--format', 'json', '--metrics-file', path], {env});
    expect([0, 1]).toContain(result.code);
    const statuses = families(path).get('daemoneye_health_component_status');
    expect(statuses?.type).toBe('GAUGE');
    expect(statuses?.metrics.map((m) => m.labels?.component).sort()).toEqual(['collector', 'config', 'last_run', 'ledger', 'rules', 'sinks', 'store']);
  });

  it('is written when the command fails, keeping the previous last success time', async () => {
    const path = join(home, 'failing.prom');
    const good = await runCli(['config', 'show', '--format', 'json', '--metrics-file', path], {env});
    expect(good.code).toBe(0);
    const previous = families(path).get('daemoneye_last_success_timestamp_seconds')?.metrics[0]?.value;
    expect(previous).toBeDefined();
    const bad = join(home, 'bad.yaml');
    writeFileSync(bad, 'app: [not, a, mapping\n');
    const failed = await runCli(['config', 'show', '--config', bad, '--format', 'json', '--metrics-file', path], {env});
    expect(failed.code).toBe(2);
    const parsed = families(path);
    expect(parsed.get('daemoneye_command_exit_code')?.metrics[0]?.value).toBe('2');
    expect(parsed.get('daemoneye_last_success_timestamp_seconds')?.metrics[0]?.value).toBe(previous);
  });

  it('is taken from telemetry.metrics_file in the configuration', async () => {
    const path = join(home, 'from-config.prom');
    const result = await runCli(['config', 'show', '--format', 'json'], {env: {...env, DAEMONEYE_TELEMETRY__METRICS_FILE: path}});
    expect(result.code).toBe(0);
    expect(families(path).get('daemoneye_command_exit_code')?.metrics[0]?.labels).toEqual({command: 'config show'});
  });

  it('fails the run with exit 3 and one line naming the file when it cannot be written', async () => {
    const dir = join(home, 'missing-dir');
    const result = await runCli(['config', 'show', '--format', 'json', '--metrics-file', join(dir, 'x.prom')], {env});
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(join(dir, 'x.prom'));
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(dir)).toBe(false);
    mkdirSync(dir);
  });
});
