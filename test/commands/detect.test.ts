import {writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {snapshotFromRows} from '../../src/detection/fixture-snapshot.js';
import type {Alert} from '../../src/models/alert.js';
import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {COLLECTED_LIVE, library, makeScan, multiScanFile, socket} from '../storage/helpers/snapshots.js';
import {FIXTURE_RULES, SLOW_RULE, writeFixtureSnapshot, writeRule} from './detection-fixtures.js';

const dir = tempDir();
const snapshot = join(dir, 'snapshot.db');
const env = isolatedEnv(join(dir, 'home'), {DAEMONEYE_DETECTION__BUILTIN_RULES: 'false'});

beforeAll(async () => writeFixtureSnapshot(snapshot));
afterAll(() => removeDir(dir));

describe('daemoneye detect', () => {
  it('prints one NDJSON alert per dedupe key and a summary on stderr', async () => {
    const result = await runCli(['detect', '--input', snapshot, '--rules', FIXTURE_RULES], {env});
    expect(result.code).toBe(0);
    const alerts = parseNdjson<Alert>(result.stdout);
    expect(alerts.map((a) => [a.severity, a.rule_id, a.affected_processes, a.dedupe_key, a.scan_id])).toEqual([
      ['critical', 'test-shell-from-web-server', [11], 'test-shell-from-web-server:bash', 4242],
      ['high', 'test-exec-from-tmp', [5], 'test-exec-from-tmp:evil', 4242],
      ['medium', 'test-deleted-executable', [12], 'test-deleted-executable:/usr/bin/gone', 4242],
    ]);
    expect(result.stderr).toMatch(/3 rules run on .*snapshot\.db \(3 ok\).*3 alerts: 1 critical, 1 high, 1 medium, 0 low/);
  });

  it('on a terminal the severities are coloured, unless NO_COLOR is set; piped output never is', async () => {
    const {spawnSync} = await import('node:child_process');
    const onTerminal = (extra: NodeJS.ProcessEnv): string => {
      // script(1) gives the CLI a real pseudo-terminal.
      const command = `${process.execPath} bin/run.js detect --input ${snapshot} --rules ${FIXTURE_RULES} --format table`;
      const result = spawnSync('script', ['-qec', command, '/dev/null'], {
        cwd: join(import.meta.dirname, '..', '..'),
        env: {...env, ...extra},
        encoding: 'utf8',
      });
      expect(result.status).toBe(0);
      return result.stdout;
    };
    const coloured = onTerminal({TERM: 'xterm'});
    expect(coloured).toContain('\u001b[1m\u001b[31mcritical\u001b[39m\u001b[22m');
    expect(coloured).toContain('\u001b[33mmedium\u001b[39m');
    expect(onTerminal({TERM: 'xterm', NO_COLOR: '1'})).not.toContain('\u001b[');
    const piped = await runCli(['detect', '--input', snapshot, '--rules', FIXTURE_RULES, '--format', 'table'], {env: {...env, TERM: 'xterm'}});
    expect(piped.stdout).not.toContain('\u001b');
    expect(piped.stdout).toMatch(/^critical\s+test-shell-from-web-server/m);
  });

  it('--fail-on exits 1 on a finding at or above it, 0 below it; --rule picks rules; json and text formats', async () => {
    const high = await runCli(['detect', '--input', snapshot, '--rules', FIXTURE_RULES, '--fail-on', 'high', '--format', 'json'], {env});
    expect(high.code).toBe(1);
    const doc = JSON.parse(high.stdout) as {alerts: Alert[]; summary: {findings: number; fail_on: string}};
    expect(doc.alerts).toHaveLength(3);
    // The 35 processes of the saved scan are what the rules ran over (not only a live snapshot's).
    expect(doc.summary).toMatchObject({findings: 2, fail_on: 'high', rules_run: 3, scan_ids: [4242], processes_scanned: 35, processes_inaccessible: 0});
    expect((doc.summary as unknown as {rules: {status: string; row_count: number}[]}).rules.map((r) => [r.status, r.row_count])).toEqual([
      ['ok', 1],
      ['ok', 1],
      ['ok', 1],
    ]);
    const only = await runCli(
      ['detect', '--input', snapshot, '--rules', FIXTURE_RULES, '--rule', 'test-deleted-executable', '--fail-on', 'high', '--format', 'text'],
      {env},
    );
    expect(only.code).toBe(0);
    // A line per alert, then what it found (the rule's own row) and, for a saved input, the query to read it again.
    const [line, evidence, next, ...rest] = only.stdout.split('\n');
    expect(line).toMatch(/^\S+ MEDIUM test-deleted-executable: .*\[pid 12\] scan 4242$/);
    expect(evidence).toBe('  evidence: gone[12] exe /usr/bin/gone');
    expect(next).toBe(`  next: daemoneye query 'SELECT * FROM processes WHERE scan_id = 4242 AND pid IN (12)' --input ${snapshot}`);
    expect(rest).toEqual(['']);
    const unknown = await runCli(['detect', '--input', snapshot, '--rules', FIXTURE_RULES, '--rule', 'nope'], {env});
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no rule with id nope/);
  });

  it("a saved scan with partly unreadable processes says so, about the input rather than this run's privileges", async () => {
    const partial = join(dir, 'partial.db');
    writeFileSync(
      partial,
      await snapshotFromRows(
        [
          {pid: 1, name: 'systemd', ppid: 0, uid: 0},
          {pid: 2, accessible: false},
        ],
        {scanId: 77},
      ),
    );
    const result = await runCli(['detect', '--input', partial, '--rules', FIXTURE_RULES, '--format', 'json'], {env});
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).summary).toMatchObject({processes_scanned: 2, processes_inaccessible: 1});
    expect(result.stderr).toContain('1 of 2 processes in the input were partly unreadable when they were collected');
    expect(result.stderr).not.toMatch(/not root|even as root/);
  });

  it('a rule past its timeout is killed and reported (exit 3) while the other rules still alert; --fail-on finding gives 1', async () => {
    const slowDir = join(dir, 'slow');
    writeRule(slowDir, 'slow.yaml', SLOW_RULE);
    const slowEnv = {...env, DAEMONEYE_DETECTION__RULE_TIMEOUT_MS: '2000'};
    const result = await runCli(['detect', '--input', snapshot, '--rules', FIXTURE_RULES, '--rules', slowDir], {env: slowEnv});
    expect(result.code).toBe(3);
    expect(parseNdjson<Alert>(result.stdout).map((a) => a.rule_id)).toEqual(['test-shell-from-web-server', 'test-exec-from-tmp', 'test-deleted-executable']);
    expect(result.stderr).toMatch(/rule slow-cartesian timed out: killed after 2000 ms/);
    const failOn = await runCli(['detect', '--input', snapshot, '--rules', FIXTURE_RULES, '--rules', slowDir, '--fail-on', 'critical'], {env: slowEnv});
    expect(failOn.code).toBe(1);
  });

  it('the run deadline (--timeout) stops a rule still running and says so (exit 3)', async () => {
    const slowDir = join(dir, 'slow-deadline');
    writeRule(slowDir, 'slow.yaml', SLOW_RULE);
    const result = await runCli(['detect', '--input', snapshot, '--rules', slowDir, '--timeout', '1500', '--format', 'json'], {env});
    expect(result.code).toBe(3);
    const report = JSON.parse(result.stdout) as {alerts: unknown[]; summary: {rules: {rule_id: string; status: string; error: string}[]}};
    expect(report.alerts).toEqual([]);
    // Stopped while running (timeout) or, on a loaded machine where its worker was not up before the
    // deadline, never started (not_run): either way reported by name with the deadline as the reason.
    const [rule] = report.summary.rules;
    expect(rule).toMatchObject({rule_id: 'slow-cartesian', status: expect.stringMatching(/^(timeout|not_run)$/)});
    expect(rule?.error).toMatch(rule?.status === 'timeout' ? /^stopped by the run deadline after \d+ ms/ : /^the run deadline passed first$/);
    expect(result.stderr).toMatch(/slow-cartesian/);
  });

  it('an invalid rule file stops the run before it starts (exit 2, naming the file)', async () => {
    const badDir = join(dir, 'bad');
    const bad = writeRule(badDir, 'bad.yaml', 'id: bad\nname: Bad\nseverity: high\nsql_query: SELECT pid FROM processes; DROP TABLE processes\n');
    const result = await runCli(['detect', '--input', snapshot, '--rules', FIXTURE_RULES, '--rules', badDir], {env});
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`${bad}:4:12: sql_query: exactly one statement is allowed`);
  });

  it('refuses unusable input and --store with --input (exit 2)', async () => {
    const corrupt = writeRule(dir, 'corrupt.db', 'not a database');
    const bad = await runCli(['detect', '--input', corrupt, '--rules', FIXTURE_RULES], {env});
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/corrupt\.db/);
    const missing = await runCli(['detect', '--input', join(dir, 'nope.db'), '--rules', FIXTURE_RULES], {env});
    expect(missing.code).toBe(2);
    const store = await runCli(['detect', '--input', snapshot, '--store', join(dir, 'store')], {env});
    expect(store.code).toBe(2);
    expect(store.stderr).toMatch(/--store .* cannot be combined with --input/);
  });
});

describe('daemoneye detect on a live snapshot', () => {
  it('finds a process started from a temp dir, saves the scan with its alerts to --store, and reads it back', async () => {
    const {spawn} = await import('node:child_process');
    const {copyFileSync} = await import('node:fs');
    const binDir = tempDir('daemoneye-live-');
    const copy = join(binDir, 'sleepy-fixture');
    copyFileSync('/bin/sleep', copy);
    const child = spawn(copy, ['60'], {stdio: 'ignore'});
    try {
      const store = join(dir, 'store');
      const result = await runCli(['detect', '--rules', FIXTURE_RULES, '--rule', 'test-exec-from-tmp', '--store', store, '--format', 'json'], {env});
      expect(result.code).toBe(0);
      const doc = JSON.parse(result.stdout) as {alerts: Alert[]; summary: {source: string; scan_ids: number[]}};
      const mine = doc.alerts.find((a) => a.affected_processes.includes(child.pid ?? -1));
      expect(mine).toMatchObject({rule_id: 'test-exec-from-tmp', dedupe_key: 'test-exec-from-tmp:sleepy-fixture', scan_id: doc.summary.scan_ids[0]});
      expect(doc.summary.source).toBe('live');
      expect(result.stderr).toMatch(/saved scan \d+ with \d+ alerts to .*store\/scan-.*\.db/);
      const again = await runCli(['detect', '--input', store, '--since', '1h', '--rules', FIXTURE_RULES, '--rule', 'test-exec-from-tmp'], {env});
      expect(again.code).toBe(0);
      expect(parseNdjson<Alert>(again.stdout).some((a) => a.affected_processes.includes(child.pid ?? -1))).toBe(true);
      const stored = await runCli(['query', 'SELECT rule_id, dedupe_key FROM alerts', '--input', store, '--format', 'json'], {env});
      expect(JSON.parse(stored.stdout)).toContainEqual(
        expect.objectContaining({rule_id: 'test-exec-from-tmp', dedupe_key: 'test-exec-from-tmp:sleepy-fixture'}),
      );
    } finally {
      child.kill('SIGKILL');
      removeDir(binDir);
    }
  });
});

describe('a snapshot file holding several scans', () => {
  // Two scans in one file, each with one listener of its own: the older scan's port 4444, the newer's 8080.
  const older = {...makeScan(Date.UTC(2026, 11, 1), 2, 1), tables: COLLECTED_LIVE};
  const newer = {...makeScan(Date.UTC(2026, 11, 1, 0, 1), 2, 2), tables: COLLECTED_LIVE};
  const twoScans = join(dir, 'two-scans.db');
  const rules = join(dir, 'socket-rules');
  beforeAll(async () => {
    await multiScanFile(twoScans, [
      {scan: older, tables: {process_open_sockets: [socket(100, 4444)], listening_ports: [], process_libraries: [library(100, '/tmp/old.so', true)]}},
      {scan: newer, tables: {process_open_sockets: [socket(101, 8080)], listening_ports: [], process_libraries: [library(101, '/usr/lib/new.so', false)]}},
    ]);
    const rule = (id: string, sql: string): string =>
      writeRule(rules, `${id}.yaml`, `id: ${id}\nname: ${id}\nseverity: low\ncategory: test\nsql_query: ${sql}\n`);
    rule('any-listener', 'SELECT pid FROM process_open_sockets');
    rule('listener-in-baseline', 'SELECT pid FROM processes WHERE pid IN (SELECT pid FROM baseline_process_open_sockets)');
  });

  it('--input gives rules the latest scan only: no other scan`s sockets beside it', async () => {
    const result = await runCli(['detect', '--input', twoScans, '--rules', rules, '--rule', 'any-listener', '--format', 'ndjson'], {env});
    expect(result.code, result.stderr).toBe(0);
    expect(parseNdjson<Alert>(result.stdout).map((a) => [a.affected_processes, a.scan_id])).toEqual([[[101], newer.id]]);
  });

  it('--baseline gives rules the baseline`s latest scan only, in every baseline_ table', async () => {
    const result = await runCli(
      ['detect', '--input', twoScans, '--baseline', twoScans, '--rules', rules, '--rule', 'listener-in-baseline', '--format', 'ndjson'],
      {env},
    );
    expect(result.code, result.stderr).toBe(0);
    expect(parseNdjson<Alert>(result.stdout).flatMap((a) => a.affected_processes)).toEqual([101]);
  });
});
