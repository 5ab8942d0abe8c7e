import {chmodSync, mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../../helpers/cli.js';

const home = tempDir();
afterAll(() => removeDir(home));
const env = isolatedEnv(home);

function file(name: string, text: string): string {
  const path = join(home, name);
  writeFileSync(path, text);
  return path;
}

describe('daemoneye config show', () => {
  it('prints every key with its source, the user file and environment layered in', async () => {
    mkdirSync(join(home, '.config', 'daemoneye'), {recursive: true});
    writeFileSync(join(home, '.config', 'daemoneye', 'config.yaml'), 'app:\n  scan_interval_ms: 60000\n');
    const result = await runCli(['config', 'show', '--sources', '--format', 'json'], {env: {...env, DAEMONEYE_DETECTION__RULE_TIMEOUT_MS: '2000'}});
    expect(result.code).toBe(0);
    const shown = JSON.parse(result.stdout) as {config: {app: {scan_interval_ms: number}}; sources: Record<string, string>};
    expect(shown.config.app.scan_interval_ms).toBe(60000);
    expect(shown.sources['app.scan_interval_ms']).toBe(join(home, '.config', 'daemoneye', 'config.yaml'));
    expect(shown.sources['detection.rule_timeout_ms']).toBe('env DAEMONEYE_DETECTION__RULE_TIMEOUT_MS');
    expect(shown.sources['app.log_level']).toBe('default');
  });

  it('shows the directories and files in use where the configuration leaves a path null', async () => {
    const state = join(home, 'systemd-state');
    const result = await runCli(['config', 'show', '--format', 'json'], {env: {...env, STATE_DIRECTORY: state}});
    const shown = JSON.parse(result.stdout) as {app: {state_dir: string}; storage: {path: string}; alerting: {state_dir: string}; audit: {ledger_path: string}};
    expect(shown.app.state_dir).toBe(state);
    expect(shown.storage.path).toBe(join(state, 'store'));
    expect(shown.alerting.state_dir).toBe(join(state, 'alerts'));
    expect(shown.audit.ledger_path).toBe(join(state, 'audit.ledger'));
    // A configured path is shown as configured, and what is derived from the state directory follows it.
    const configured = await runCli(['config', 'show', '--format', 'ndjson'], {env: {...env, DAEMONEYE_APP__STATE_DIR: '/srv/de'}});
    const entries = new Map(parseNdjson<{key: string; value: unknown}>(configured.stdout).map((e) => [e.key, e.value]));
    expect(entries.get('app.state_dir')).toBe('/srv/de');
    expect(entries.get('audit.ledger_path')).toBe('/srv/de/audit.ledger');
  });

  it('never prints secrets', async () => {
    const config = file(
      'secret.yaml',
      'alerting:\n  sinks:\n    - name: siem\n      type: webhook\n      url: https://bob:pa55w0rd@siem.invalid/hook\n      headers:\n        Authorization: Splunk ${HEC_TOKEN}\n      hmac_secret: topsecretvalue\n',
    );
    for (const format of ['json', 'ndjson', 'table']) {
      const result = await runCli(['config', 'show', '--config', config, '--format', format, '--verbose'], {env: {...env, HEC_TOKEN: 'tok-1234567890'}});
      expect(result.code).toBe(0);
      expect(result.stdout + result.stderr).not.toMatch(/tok-1234567890|topsecretvalue|pa55w0rd/);
      expect(result.stdout).toContain('[REDACTED]');
    }
  });

  it('NDJSON is the default when piped', async () => {
    const result = await runCli(['config', 'show'], {env});
    const lines = parseNdjson<{key: string}>(result.stdout);
    expect(lines.find((l) => l.key === 'app.log_level')).toEqual({key: 'app.log_level', value: 'info'});
  });
});

describe('bad configuration through the CLI (exit 2)', () => {
  const cases: [string, string, RegExp][] = [
    ['malformed YAML', 'app:\n  log_level: [\n', /invalid YAML/],
    ['unknown key', 'app:\n  log_levle: debug\n', /app.log_levle: unknown key \(did you mean "log_level"\?\)/],
    ['wrong type', 'detection:\n  rule_timeout_ms: fast\n', /detection.rule_timeout_ms: expected number, got string "fast"/],
    ['missing ${VAR}', 'app:\n  state_dir: ${DAEMONEYE_TEST_UNSET_VAR}\n', /environment variable DAEMONEYE_TEST_UNSET_VAR is not set/],
  ];
  for (const [name, text, message] of cases) {
    it(`${name}: one line naming the file, exit 2`, async () => {
      const path = file(`${name.replace(/\W+/g, '-')}.yaml`, text);
      const result = await runCli(['config', 'show', '--config', path], {env});
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(lines[0]).toContain(path);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    });
  }

  it('an unreadable file (unprivileged user) names the file, exit 2', async () => {
    const dir = tempDir('daemoneye-perm-');
    chmodSync(dir, 0o755);
    const path = join(dir, 'locked.yaml');
    writeFileSync(path, 'app: {}\n');
    chmodSync(path, 0o000);
    const result = await runCli(['config', 'show', '--config', path], {env: isolatedEnv(dir, {HOME: dir}), asUser: 65534});
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`cannot read configuration file ${path}: permission denied`);
    removeDir(dir);
  });

  it('errors are one JSON object on stderr under --log-format json', async () => {
    const path = file('json-err.yaml', 'app:\n  nope: 1\n');
    const result = await runCli(['config', 'show', '--config', path, '--log-format', 'json'], {env});
    expect(result.code).toBe(2);
    const parsed = JSON.parse(result.stderr) as {error: {kind: string; code: string; message: string; file: string}};
    expect(parsed.error).toMatchObject({kind: 'configuration', code: 'CONFIG_INVALID', file: path});
  });

  it('an unknown flag is a usage error, exit 2', async () => {
    const result = await runCli(['config', 'show', '--bogus'], {env});
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Nonexistent flag: --bogus/);
  });

  it('--verbose adds the stack trace', async () => {
    const path = file('verbose.yaml', 'app:\n  nope: 1\n');
    const result = await runCli(['config', 'show', '--config', path, '--verbose'], {env});
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/\s+at /);
  });
});

describe('daemoneye config validate', () => {
  it('exit 0 for a valid file', async () => {
    const result = await runCli(['config', 'validate', file('good.yaml', 'app:\n  log_level: debug\n')], {env});
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({valid: true});
  });

  it('exit 1 with every problem listed for invalid content, including malformed YAML', async () => {
    const bad = file('two-errors.yaml', 'app:\n  log_level: loud\n  extra: 1\n');
    const broken = file('broken.yaml', 'app: [\n');
    const result = await runCli(['config', 'validate', bad, broken, '--format', 'json'], {env});
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as {valid: boolean; files: {file: string; valid: boolean; errors: {path: string}[]}[]};
    expect(report.valid).toBe(false);
    expect(report.files[0]?.errors.map((e) => e.path).sort()).toEqual(['app.extra', 'app.log_level']);
    expect(report.files[1]?.valid).toBe(false);
    expect(result.stderr).toContain(`${bad}:2:3: app.log_level`);
    expect(result.stderr).toContain('0 valid, 2 invalid');
  });

  it('without FILE, the layered configuration: every problem with its key path, source and location (the key path was empty)', async () => {
    const bad = file('layered-bad.yaml', "app:\n  log_level: loud\ntelemetry:\n  metrics_file: ''\n");
    const result = await runCli(['config', 'validate', '--config', bad, '--format', 'json'], {env});
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as {files: {errors: {path: string; source: string; location: string}[]}[]};
    expect(report.files[0]?.errors).toEqual([
      expect.objectContaining({path: 'app.log_level', source: bad, location: '2:3'}),
      expect.objectContaining({path: 'telemetry.metrics_file', source: bad, location: '4:3'}),
    ]);
  });

  it('exit 2 when a file cannot be opened', async () => {
    const result = await runCli(['config', 'validate', join(home, 'does-not-exist.yaml')], {env});
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('does-not-exist.yaml');
  });
});
