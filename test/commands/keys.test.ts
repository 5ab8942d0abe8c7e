import {execFileSync} from 'node:child_process';
import {readFileSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it, vi} from 'vitest';

import {isolatedEnv, removeDir, runCli, tempDir} from '../helpers/cli.js';

// Each test runs the CLI several times; on a loaded 2-core machine one run can take seconds.
vi.setConfig({testTimeout: 240_000, hookTimeout: 240_000});
const dir = tempDir();
afterAll(() => removeDir(dir));

describe('keys generate', () => {
  it('writes PEM keys at the configured paths (0600 private), never prints the key, refuses to overwrite without --force', async () => {
    const keys = join(dir, 'etc');
    const env = isolatedEnv(dir, {
      DAEMONEYE_CRYPTO__PRIVATE_KEY_PATH: join(keys, 'private.key'),
      DAEMONEYE_CRYPTO__PUBLIC_KEY_PATH: join(keys, 'public.key'),
      DAEMONEYE_AUDIT__LEDGER_PATH: join(dir, 'audit.ledger'),
    });
    const first = await runCli(['keys', 'generate', '--format', 'json'], {env});
    expect(first.code, first.stderr).toBe(0);
    const result = JSON.parse(first.stdout) as {private_key_path: string; public_key_path: string; key_id: string};
    expect(result.private_key_path).toBe(join(keys, 'private.key'));
    expect(statSync(result.private_key_path).mode & 0o777).toBe(0o600);
    const secretBody = readFileSync(result.private_key_path, 'utf8').split('\n')[1] as string;
    expect(first.stdout + first.stderr).not.toContain(secretBody);
    expect(readFileSync(join(dir, 'audit.ledger'), 'utf8')).not.toContain(secretBody);
    expect(execFileSync('openssl', ['pkey', '-in', result.private_key_path, '-pubout'], {encoding: 'utf8'})).toBe(readFileSync(result.public_key_path, 'utf8'));

    const again = await runCli(['keys', 'generate'], {env});
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exist .*--force/);
    expect(readFileSync(result.private_key_path, 'utf8')).toContain(secretBody);

    const forced = await runCli(['keys', 'generate', '--force', '--format', 'json'], {env});
    expect(forced.code).toBe(0);
    expect((JSON.parse(forced.stdout) as {overwritten: boolean}).overwritten).toBe(true);
    expect(readFileSync(result.private_key_path, 'utf8')).not.toContain(secretBody);
  });

  it('--dir writes private.key and public.key there; an unwritable --dir is exit 3', async () => {
    const env = isolatedEnv(dir, {DAEMONEYE_AUDIT__LEDGER_PATH: join(dir, 'dir.ledger')});
    const result = await runCli(['keys', 'generate', '--dir', join(dir, 'mine'), '--format', 'json'], {env});
    expect(result.code).toBe(0);
    expect(statSync(join(dir, 'mine', 'private.key')).mode & 0o777).toBe(0o600);
    writeFileSync(join(dir, 'a-file'), 'x');
    const blocked = await runCli(['keys', 'generate', '--dir', join(dir, 'a-file', 'keys')], {env});
    expect(blocked.code).toBe(3);
    expect(blocked.stderr).toMatch(/a-file/);
  });
});
