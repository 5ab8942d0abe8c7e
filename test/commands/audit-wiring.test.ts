// Every command that collects, detects, writes or changes something leaves an entry in the ledger,
// refused SQL included, and a signed checkpoint when a key exists (issue: audit wiring).
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';

const home = tempDir();
afterAll(() => removeDir(home));
const ledger = join(home, 'audit.ledger');
const env = isolatedEnv(home, {
  DAEMONEYE_APP__STATE_DIR: join(home, 'state'),
  DAEMONEYE_AUDIT__LEDGER_PATH: ledger,
  DAEMONEYE_CRYPTO__PRIVATE_KEY_PATH: join(home, 'keys', 'private.key'),
  DAEMONEYE_CRYPTO__PUBLIC_KEY_PATH: join(home, 'keys', 'public.key'),
});

interface LedgerRecord {
  type: string;
  action: string;
  actor: string;
  payload: Record<string, unknown>;
}

async function records(): Promise<LedgerRecord[]> {
  const shown = await runCli(['audit', 'show', '--format', 'json', '--ledger', ledger], {env});
  expect(shown.code).toBe(0);
  return JSON.parse(shown.stdout) as LedgerRecord[];
}

describe('audit wiring', () => {
  const snapshot = join(home, 'snap.db');

  beforeAll(async () => {
    expect((await runCli(['keys', 'generate', '--dir', join(home, 'keys')], {env})).code).toBe(0);
  });

  it('scan, export, query, refused SQL, rules disable and detect each append an entry; the ledger verifies strictly', async () => {
    expect((await runCli(['scan', '--no-hash', '--output', snapshot], {env})).code).toBe(0);
    expect((await runCli(['export', '--input', snapshot, '--format', 'ndjson'], {env})).code).toBe(0);
    expect((await runCli(['query', 'SELECT count(*) AS n FROM processes', '--input', snapshot, '--format', 'json'], {env})).code).toBe(0);
    const refused = await runCli(['query', "SELECT load_extension('/tmp/evil.so')", '--input', snapshot], {env});
    expect(refused.code).toBe(2);
    const config = join(home, 'config.yaml');
    writeFileSync(config, '# mine\n');
    expect((await runCli(['rules', 'disable', 'process-name-mismatch', '--config', config], {env})).code).toBe(0);
    const detect = await runCli(['detect', '--input', snapshot, '--format', 'json'], {env});
    expect([0, 3]).toContain(detect.code);

    const all = await records();
    const entries = all.filter((r) => r.type === 'entry');
    expect(entries.map((r) => r.action)).toEqual(['keys_generate', 'process_collection', 'export', 'query', 'sql_refused', 'rule_disable', 'detection']);
    const scan = entries[1] as LedgerRecord;
    expect(scan.actor).toMatch(/^daemoneye scan \(user /);
    expect(scan.payload).toMatchObject({output: snapshot, exit_code: 0});
    expect(scan.payload.process_count).toBeGreaterThan(0);
    expect(JSON.stringify((entries[4] as LedgerRecord).payload)).toMatch(/load_extension/);
    expect((entries[6] as LedgerRecord).payload).toHaveProperty('alerts_by_severity');
    // A key exists, so every command ended with a signed checkpoint: nothing is left unsigned.
    expect(all.filter((r) => r.type === 'checkpoint').length).toBe(entries.length);
    const verify = await runCli(['audit', 'verify', '--strict', '--ledger', ledger, '--public-key', join(home, 'keys', 'public.key'), '--format', 'json'], {
      env,
    });
    expect(verify.code).toBe(0);
  });

  it('--no-audit records nothing', async () => {
    const before = (await records()).length;
    expect((await runCli(['scan', '--no-hash', '--pid', '1', '--no-audit'], {env})).code).toBe(0);
    expect((await records()).length).toBe(before);
  });

  it('a ledger that cannot be written is exit 3 with one line naming it', async () => {
    const result = await runCli(['scan', '--no-hash', '--pid', '1'], {env: {...env, DAEMONEYE_AUDIT__LEDGER_PATH: join(home, 'snap.db', 'ledger')}});
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(join(home, 'snap.db', 'ledger'));
    expect(parseNdjson(result.stdout)).toHaveLength(1);
  });
});
