// State DaemonEye owns is never reached through a symbolic link (docs/operations/guarantees.md): a link
// planted at the ledger, the file sink's file, a spool, the dedupe state, the hash cache, a key path or a
// lock is refused with one line naming the file and the fix, and its target is left untouched. Before, the
// ledger was written into a link's target (moved aside, truncated, rewritten), alerts were appended to it,
// and `keys generate --force` replaced the link.
import {chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest';

import {snapshotFromRows} from '../../src/detection/fixture-snapshot.js';
import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';

vi.setConfig({testTimeout: 120_000, hookTimeout: 120_000});
const home = tempDir();
const snapshot = join(home, 'snapshot.db');
const rules = join(home, 'rules');
let counter = 0;

beforeAll(async () => {
  writeFileSync(snapshot, await snapshotFromRows([{pid: 100, name: 'miner', executable_path: '/tmp/miner'}]));
  mkdirSync(rules);
  writeFileSync(
    join(rules, 'tmp-exec.yaml'),
    "id: state-exec-from-tmp\nname: tmp exec\ndescription: x\nversion: 1\nseverity: high\nsql_query: |\n  SELECT pid, name FROM processes WHERE executable_path LIKE '/tmp/%'\n",
  );
});
afterAll(() => removeDir(home));

/** A fresh state directory and a victim file outside it that links will point to. */
function fresh(): {state: string; victim: string; env: NodeJS.ProcessEnv} {
  const base = join(home, `case-${counter++}`);
  const state = join(base, 'state');
  mkdirSync(state, {recursive: true, mode: 0o700});
  const victim = join(base, 'victim.txt');
  writeFileSync(victim, 'precious\n', {mode: 0o644});
  return {state, victim, env: isolatedEnv(base, {DAEMONEYE_APP__STATE_DIR: state})};
}

const untouched = (victim: string): void => {
  expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  expect(lstatSync(victim).mode & 0o777).toBe(0o644);
};

describe('state files are never reached through a link', () => {
  it('audit.ledger a link: the command is refused its audit (exit 3, one line naming the file and the fix); the target is untouched', async () => {
    const {state, victim, env} = fresh();
    symlinkSync(victim, join(state, 'audit.ledger'));
    const audited = await runCli(['keys', 'generate', '--dir', join(state, '..', 'keys')], {env});
    expect(audited.code).toBe(3);
    expect(
      audited.stderr
        .trim()
        .split('\n')
        .filter((line) => / error: /.test(line)),
    ).toHaveLength(1);
    expect(audited.stderr).toContain(`audit ledger ${join(state, 'audit.ledger')} is a symbolic link: not used`);
    expect(audited.stderr).toContain('DaemonEye never follows a link for its own state');
    untouched(victim);
  });

  it('the file sink path a link: the sink fails, the alert is spooled, the target gets nothing', async () => {
    const {state, victim, env} = fresh();
    const link = join(state, '..', 'alerts.ndjson');
    symlinkSync(victim, link);
    const config = join(state, '..', 'config.yaml');
    writeFileSync(config, `detection:\n  builtin_rules: false\nalerting:\n  sinks:\n    - {name: archive, type: file, path: ${link}}\n`);
    const result = await runCli(['detect', '--config', config, '--input', snapshot, '--rules', rules, '--no-audit'], {env});
    expect(result.code, result.stderr).toBe(3);
    expect(parseNdjson(result.stdout)).toHaveLength(1);
    expect(result.stderr).toContain(`file sink ${link} is a symbolic link: not used`);
    expect(JSON.parse(readFileSync(join(state, 'alerts', 'spool', 'archive.json'), 'utf8'))).toMatchObject({
      entries: [{alert: {rule_id: 'state-exec-from-tmp'}}],
    });
    untouched(victim);
  });

  it('a hard link to another file at the file sink path is refused too (appending would write into that file)', async () => {
    const {state, victim, env} = fresh();
    const path = join(state, '..', 'alerts.ndjson');
    const {linkSync} = await import('node:fs');
    linkSync(victim, path);
    const config = join(state, '..', 'config.yaml');
    writeFileSync(config, `detection:\n  builtin_rules: false\nalerting:\n  sinks:\n    - {name: archive, type: file, path: ${path}}\n`);
    const result = await runCli(['detect', '--config', config, '--input', snapshot, '--rules', rules, '--no-audit'], {env});
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('has 2 hard links');
    untouched(victim);
  });

  it('hash cache a link: the scan hashes everything and says so; the link is replaced by the new cache, never followed', async () => {
    const {state, victim, env} = fresh();
    symlinkSync(victim, join(state, 'hash-cache.json'));
    const result = await runCli(['scan', '--pid', String(process.pid), '--format', 'json', '--no-audit'], {env});
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`hash cache ${join(state, 'hash-cache.json')} is a symbolic link: not used`);
    untouched(victim);
  });

  it('keys generate: a link at a key path is refused (exit 3), with --force too; the target is untouched', async () => {
    const {state, victim, env} = fresh();
    const keys = join(state, '..', 'keys');
    mkdirSync(keys);
    symlinkSync(victim, join(keys, 'private.key'));
    for (const force of [[], ['--force']]) {
      const result = await runCli(['keys', 'generate', '--dir', keys, '--no-audit', ...force], {env});
      expect(result.code).toBe(3);
      expect(result.stderr).toContain(`private key ${join(keys, 'private.key')} is a symbolic link: not used`);
      expect(lstatSync(join(keys, 'private.key')).isSymbolicLink()).toBe(true);
    }
    untouched(victim);
  });

  it('a lock that is a link: refused with the fix (exit 3)', async () => {
    const {state, victim, env} = fresh();
    symlinkSync(join(state, '..'), join(state, 'audit.ledger.lock'));
    const result = await runCli(['keys', 'generate', '--dir', join(state, '..', 'k')], {env});
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`lock ${join(state, 'audit.ledger.lock')} is a symbolic link: not used`);
    untouched(victim);
  });

  it('a state directory others can write is refused with the chmod that fixes it', async () => {
    const {state, env} = fresh();
    chmodSync(state, 0o777);
    const result = await runCli(['keys', 'generate', '--dir', join(state, '..', 'k2')], {env});
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`is writable by every user: not used (chmod go-w`);
    chmodSync(state, 0o700);
    expect((await runCli(['keys', 'generate', '--dir', join(state, '..', 'k3')], {env})).code).toBe(0);
  });

  it.skipIf(process.getuid?.() !== 0)(
    'a state directory under one another user owns (who could swap it) is refused; detect still prints and delivers, says so, exit 3',
    async () => {
      const {state, env} = fresh();
      const alerts = join(state, 'alerts');
      mkdirSync(join(alerts, 'spool'), {recursive: true, mode: 0o700});
      chownSync(alerts, 65534, 65534);
      chmodSync(alerts, 0o755);
      const archive = join(state, '..', 'archive.ndjson');
      const config = join(state, '..', 'sinks.yaml');
      writeFileSync(config, `detection:\n  builtin_rules: false\nalerting:\n  sinks:\n    - {name: archive, type: file, path: ${archive}}\n`);
      const result = await runCli(['detect', '--config', config, '--input', snapshot, '--rules', rules, '--format', 'ndjson', '--no-audit'], {env});
      expect(result.code, result.stderr).toBe(3);
      expect(parseNdjson(result.stdout)).toMatchObject([{rule_id: 'state-exec-from-tmp'}]);
      expect(parseNdjson(readFileSync(archive, 'utf8'))).toMatchObject([{rule_id: 'state-exec-from-tmp'}]);
      expect(result.stderr).toMatch(new RegExp(`state was not written: .*${alerts}.* is owned by uid 65534`));
    },
  );
});
