import {execFileSync} from 'node:child_process';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest';

import {isolatedEnv, removeDir, runCli, tempDir} from '../helpers/cli.js';

// Each test runs the CLI several times; on a loaded 2-core machine one run can take seconds.
vi.setConfig({testTimeout: 240_000, hookTimeout: 240_000});
const dir = tempDir();
afterAll(() => removeDir(dir));
const env = isolatedEnv(dir, {DAEMONEYE_AUDIT__LEDGER_PATH: join(dir, 'audit.ledger'), DAEMONEYE_CRYPTO__PUBLIC_KEY_PATH: join(dir, 'pub.pem')});
const file = join(dir, 'data.txt');
const key = join(dir, 'key.pem');
const pub = join(dir, 'pub.pem');

beforeAll(() => {
  writeFileSync(file, 'data to check\n');
  execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', key]);
  execFileSync('openssl', ['pkey', '-in', key, '-pubout', '-out', pub]);
  execFileSync('openssl', ['pkeyutl', '-sign', '-inkey', key, '-rawin', '-in', file, '-out', `${file}.sig`]);
});

describe('verify', () => {
  it('accepts an OpenSSL signature (exit 0), raw or base64', async () => {
    const result = await runCli(['verify', file, '--signature', `${file}.sig`, '--format', 'json'], {env});
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({valid: true});
    writeFileSync(join(dir, 'b64.sig'), execFileSync('base64', ['-w0', `${file}.sig`]));
    expect((await runCli(['verify', file, '-s', join(dir, 'b64.sig'), '--public-key', pub], {env})).code).toBe(0);
  });

  it('rejects a changed file, a wrong key and a malformed signature (exit 1)', async () => {
    writeFileSync(join(dir, 'changed.txt'), 'data to check!\n');
    const changed = await runCli(['verify', join(dir, 'changed.txt'), '--signature', `${file}.sig`], {env});
    expect(changed.code).toBe(1);
    expect(changed.stderr).toMatch(/signature INVALID/);
    const otherKey = join(dir, 'other.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', otherKey]);
    expect((await runCli(['verify', file, '-s', `${file}.sig`, '--public-key', otherKey], {env})).code).toBe(1);
    writeFileSync(join(dir, 'short.sig'), 'abc');
    const short = await runCli(['verify', file, '-s', join(dir, 'short.sig'), '--format', 'json'], {env});
    expect(short.code).toBe(1);
    expect(JSON.parse(short.stdout)).toMatchObject({valid: false, reason: expect.stringMatching(/not a 64-byte Ed25519 signature/)});
  });

  it('unreadable inputs are exit 2: missing file, missing signature, missing or invalid public key', async () => {
    expect((await runCli(['verify', join(dir, 'missing'), '-s', `${file}.sig`], {env})).code).toBe(2);
    expect((await runCli(['verify', file, '-s', join(dir, 'missing.sig')], {env})).code).toBe(2);
    expect((await runCli(['verify', file, '-s', `${file}.sig`, '--public-key', join(dir, 'missing.pem')], {env})).code).toBe(2);
    writeFileSync(join(dir, 'bad.pem'), 'nope');
    expect((await runCli(['verify', file, '-s', `${file}.sig`, '--public-key', join(dir, 'bad.pem')], {env})).code).toBe(2);
    expect((await runCli(['verify', file], {env})).code).toBe(2);
  });
});
