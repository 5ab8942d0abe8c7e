import {execFileSync} from 'node:child_process';
import {chmodSync, existsSync, readFileSync, readdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest';

import {isolatedEnv, removeDir, runCli, tempDir} from '../helpers/cli.js';

// Each test runs the CLI several times; on a loaded 2-core machine one run can take seconds.
vi.setConfig({testTimeout: 240_000, hookTimeout: 240_000});
const dir = tempDir();
afterAll(() => removeDir(dir));
const env = isolatedEnv(dir, {
  DAEMONEYE_CRYPTO__PRIVATE_KEY_PATH: join(dir, 'keys', 'private.key'),
  DAEMONEYE_CRYPTO__PUBLIC_KEY_PATH: join(dir, 'keys', 'public.key'),
  DAEMONEYE_AUDIT__LEDGER_PATH: join(dir, 'audit.ledger'),
});
const file = join(dir, 'report.json');

beforeAll(async () => {
  writeFileSync(file, '{"alerts": []}\n');
  expect((await runCli(['keys', 'generate'], {env})).code).toBe(0);
});

describe('sign', () => {
  it('writes a raw 64-byte detached signature that OpenSSL verifies, and audits it', async () => {
    const result = await runCli(['sign', file, '--format', 'json'], {env});
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(`${file}.sig`)).toHaveLength(64);
    expect(
      execFileSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', join(dir, 'keys', 'public.key'), '-rawin', '-in', file, '-sigfile', `${file}.sig`], {
        encoding: 'utf8',
      }),
    ).toMatch(/Signature Verified Successfully/);
    const ledger = readFileSync(join(dir, 'audit.ledger'), 'utf8');
    expect(ledger).toContain('"action":"sign"');
    expect(readdirSync(dir).filter((name) => name.startsWith('.tmp-'))).toEqual([]);
  });

  it('--armor writes base64 to --output; --key signs with an OpenSSL-made key', async () => {
    const opensslKey = join(dir, 'ossl.key');
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', opensslKey]);
    chmodSync(opensslKey, 0o600);
    const result = await runCli(['sign', file, '--key', opensslKey, '--armor', '--output', join(dir, 'out.asc')], {env});
    expect(result.code, result.stderr).toBe(0);
    const armored = readFileSync(join(dir, 'out.asc'), 'utf8');
    expect(armored).toMatch(/^[A-Za-z0-9+/]{86}==\n$/);
    const raw = join(dir, 'out.raw');
    writeFileSync(raw, Buffer.from(armored, 'base64'));
    const pub = join(dir, 'ossl.pub');
    execFileSync('openssl', ['pkey', '-in', opensslKey, '-pubout', '-out', pub]);
    expect(execFileSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', pub, '-rawin', '-in', file, '-sigfile', raw], {encoding: 'utf8'})).toMatch(
      /Verified/,
    );
  });

  it('warns about a key readable by others, without printing it', async () => {
    const key = join(dir, 'loose.key');
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', key]);
    chmodSync(key, 0o644);
    const result = await runCli(['sign', file, '--key', key, '--output', join(dir, 'loose.sig')], {env});
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/loose.key is readable by group or others; run chmod 600/);
    expect(result.stderr + result.stdout).not.toContain((readFileSync(key, 'utf8').split('\n')[1] as string).slice(0, 20));
  });

  it('bad input: missing file or key (2), a key that is not a key (2), output over the input (2); nothing half-written', async () => {
    const missing = await runCli(['sign', join(dir, 'nope.txt')], {env});
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope.txt: no such file/);
    expect(existsSync(join(dir, 'nope.txt.sig'))).toBe(false);
    expect((await runCli(['sign', file, '--key', join(dir, 'none.key')], {env})).code).toBe(2);
    writeFileSync(join(dir, 'junk.key'), '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', {mode: 0o600});
    const junk = await runCli(['sign', file, '--key', join(dir, 'junk.key'), '--output', join(dir, 'junk.sig')], {env});
    expect(junk.code).toBe(2);
    expect(junk.stderr).toMatch(/junk.key is not a PEM PKCS#8 private key/);
    expect(existsSync(join(dir, 'junk.sig'))).toBe(false);
    expect((await runCli(['sign', file, '--output', file], {env})).code).toBe(2);
    expect(readFileSync(file, 'utf8')).toBe('{"alerts": []}\n');
  });
});
