import {spawn} from 'node:child_process';
import {chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest';

import {isolatedEnv, removeDir, runCli, tempDir} from '../helpers/cli.js';

// Each test runs the CLI several times; on a loaded 2-core machine one run can take seconds.
vi.setConfig({testTimeout: 240_000, hookTimeout: 240_000});
const dir = tempDir();
afterAll(() => removeDir(dir));
let counter = 0;

/** A fresh home with a temp ledger and temp keys, through the environment (never /etc). */
function home(): {env: NodeJS.ProcessEnv; ledger: string; keys: string; base: string} {
  const base = join(dir, `home-${counter++}`);
  mkdirSync(base, {recursive: true});
  const keys = join(base, 'keys');
  const ledger = join(base, 'audit.ledger');
  const env = isolatedEnv(base, {
    DAEMONEYE_AUDIT__LEDGER_PATH: ledger,
    DAEMONEYE_CRYPTO__PRIVATE_KEY_PATH: join(keys, 'private.key'),
    DAEMONEYE_CRYPTO__PUBLIC_KEY_PATH: join(keys, 'public.key'),
  });
  return {env, ledger, keys, base};
}

const json = <T = Record<string, unknown>>(text: string): T => JSON.parse(text) as T;

describe('audit commands end to end', () => {
  let h: ReturnType<typeof home>;
  beforeAll(async () => {
    h = home();
    expect((await runCli(['keys', 'generate'], {env: h.env})).code).toBe(0);
    writeFileSync(join(h.base, 'a.txt'), 'a');
    expect((await runCli(['sign', join(h.base, 'a.txt')], {env: h.env})).code).toBe(0);
  });

  it('audit verify: intact, JSON report on stdout, summary on stderr', async () => {
    const result = await runCli(['audit', 'verify', '--strict', '--format', 'json'], {env: h.env});
    expect(result.code).toBe(0);
    const report = json<{valid: boolean; records: number; latest_checkpoint: {signature_status: string}}>(result.stdout);
    expect(report).toMatchObject({valid: true, records: 4, latest_checkpoint: {signature_status: 'valid'}});
    expect(result.stderr).toMatch(/intact — 4 records \(2 entries, 2 checkpoints\)/);
    expect(result.stderr).toMatch(/latest signed checkpoint: seq 3, 3 records, .* signature valid/);
  });

  it('audit show filters by action and time and prints JSON records without the frontier', async () => {
    const result = await runCli(['audit', 'show', '--action', 'sign', '--since', '1h', '--format', 'json'], {env: h.env});
    expect(result.code).toBe(0);
    const records = json<{action: string; actor: string; frontier?: unknown}[]>(result.stdout);
    expect(records).toHaveLength(1);
    expect(records[0]?.actor).toMatch(/^daemoneye sign \(user .*, uid \d+\)$/);
    expect(records[0]?.frontier).toBeUndefined();
    expect((await runCli(['audit', 'show', '--until', '2000-01-01', '--format', 'json'], {env: h.env})).stdout.trim()).toBe('[]');
    const bad = await runCli(['audit', 'show', '--since', 'yesterday-ish'], {env: h.env});
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--since: cannot read "yesterday-ish" as a time/);
  });

  it('audit checkpoint, then prove and verify-proof every record offline', async () => {
    const checkpoint = await runCli(['audit', 'checkpoint'], {env: h.env});
    expect(checkpoint.code).toBe(0);
    expect(json(checkpoint.stdout)).toMatchObject({tree_size: 3, signature: expect.any(String), key_id: expect.any(String)});
    for (const seq of [0, 1, 2]) {
      const proof = await runCli(['audit', 'prove', String(seq)], {env: h.env});
      expect(proof.code).toBe(0);
      const file = join(h.base, `proof-${seq}.json`);
      writeFileSync(file, proof.stdout);
      const check = await runCli(['audit', 'verify-proof', file, '--public-key', join(h.keys, 'public.key')], {env: h.env});
      expect(check.code, check.stderr).toBe(0);
      expect(json(check.stdout)).toMatchObject({valid: true, leaf_index: seq, tree_size: 3, signature: 'valid'});
    }
    // A tampered proof fails (1); a proof that is not JSON cannot be used (2); a record past the ledger is a usage error (2).
    const proof = json<{record: {payload: unknown}}>(readFileSync(join(h.base, 'proof-0.json'), 'utf8'));
    proof.record.payload = {edited: true};
    writeFileSync(join(h.base, 'bad-proof.json'), JSON.stringify(proof));
    const tampered = await runCli(['audit', 'verify-proof', join(h.base, 'bad-proof.json')], {env: h.env});
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toMatch(/does not hash to its entry_hash/);
    writeFileSync(join(h.base, 'junk.json'), '{nope');
    expect((await runCli(['audit', 'verify-proof', join(h.base, 'junk.json')], {env: h.env})).code).toBe(2);
    expect((await runCli(['audit', 'verify-proof', join(h.base, 'missing.json')], {env: h.env})).code).toBe(2);
    expect((await runCli(['audit', 'prove', '99'], {env: h.env})).code).toBe(2);
    expect((await runCli(['audit', 'prove', 'abc'], {env: h.env})).code).toBe(2);
  });

  it('audit verify --checkpoint: a ledger cut back below a shipped checkpoint fails (1)', async () => {
    const shipped = join(h.base, 'shipped.json');
    writeFileSync(shipped, (await runCli(['audit', 'checkpoint'], {env: h.env})).stdout);
    const copy = join(h.base, 'copy.ledger');
    writeFileSync(copy, readFileSync(h.ledger, 'utf8').split('\n').slice(0, 2).join('\n') + '\n');
    const result = await runCli(['audit', 'verify', '--ledger', copy, '--checkpoint', shipped, '--format', 'json'], {env: h.env});
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/first problem: seq 2: the ledger has 2 records but .*shipped.json covers 3/);
    const extends_ = await runCli(['audit', 'verify', '--checkpoint', shipped, '--format', 'json'], {env: h.env});
    expect(extends_.code).toBe(0);
    expect(json<{shipped: {status: string}[]}>(extends_.stdout).shipped[0]?.status).toBe('extends');
  });

  it('audit verify: tampered ledger exits 1 naming seq and line; missing ledger or checkpoint file exits 2', async () => {
    const copy = join(h.base, 'tampered.ledger');
    writeFileSync(copy, readFileSync(h.ledger, 'utf8').replace('"action":"sign"', '"action":"sigh"'));
    const result = await runCli(['audit', 'verify', '--ledger', copy, '--format', 'table'], {env: h.env});
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/NOT VALID/);
    expect(result.stderr).toMatch(/first problem: line 3, seq 2: entry_hash does not match the record content/);
    expect((await runCli(['audit', 'verify', '--ledger', join(h.base, 'none.ledger')], {env: h.env})).code).toBe(2);
    expect((await runCli(['audit', 'verify', '--checkpoint', join(h.base, 'none.json')], {env: h.env})).code).toBe(2);
    writeFileSync(join(h.base, 'notcp.json'), '{"tree_size": -1}');
    const notCheckpoint = await runCli(['audit', 'verify', '--checkpoint', join(h.base, 'notcp.json')], {env: h.env});
    expect(notCheckpoint.code).toBe(2);
    expect(notCheckpoint.stderr).toMatch(/is not a checkpoint: tree_size/);
  });

  it('audit verify --strict fails on an unsigned ledger and says so', async () => {
    const u = home();
    writeFileSync(join(u.base, 'b.txt'), 'b');
    expect((await runCli(['keys', 'generate', '--dir', join(u.base, 'elsewhere')], {env: u.env})).code).toBe(0);
    const plain = await runCli(['audit', 'verify', '--format', 'json'], {env: u.env});
    expect(plain.code).toBe(0);
    expect(plain.stderr).toMatch(/latest signed checkpoint: none \(unsigned ledger\)/);
    expect(plain.stderr).toMatch(/no signed checkpoint: the ledger is unsigned/);
    expect((await runCli(['audit', 'verify', '--strict'], {env: u.env})).code).toBe(1);
    const head = await runCli(['audit', 'checkpoint'], {env: u.env});
    expect(head.code).toBe(0);
    expect(json(head.stdout)).toMatchObject({tree_size: 1, signature: null, key_id: null});
    expect(head.stderr).toMatch(/no signed checkpoint in the ledger/);
  });
});

describe('audit: --no-audit, failures and concurrency', () => {
  it('--no-audit and audit.enabled=false leave the ledger alone', async () => {
    const h = home();
    expect((await runCli(['keys', 'generate', '--dir', join(h.base, 'k1'), '--no-audit'], {env: h.env})).code).toBe(0);
    expect(existsSync(h.ledger)).toBe(false);
    expect((await runCli(['keys', 'generate', '--dir', join(h.base, 'k2')], {env: {...h.env, DAEMONEYE_AUDIT__ENABLED: 'false'}})).code).toBe(0);
    expect(existsSync(h.ledger)).toBe(false);
  });

  it('a ledger that cannot be written is exit 3 with a clear message (unprivileged user)', async () => {
    const h = home();
    chmodSync(dir, 0o755);
    chmodSync(h.base, 0o777);
    const locked = join(dir, `root-only-${counter++}`);
    mkdirSync(locked, {mode: 0o700});
    const env = {...h.env, DAEMONEYE_AUDIT__LEDGER_PATH: join(locked, 'audit.ledger')};
    const result = await runCli(['keys', 'generate', '--dir', join(h.base, 'k')], {env, asUser: 65534});
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/audit ledger .*permission denied/);
    // The keys themselves were written before the audit step.
    expect(existsSync(join(h.base, 'k', 'private.key'))).toBe(true);
  });

  it('a key file that exists but is not a key: exit 3, the entry is still recorded', async () => {
    const h = home();
    mkdirSync(h.keys, {recursive: true});
    writeFileSync(join(h.keys, 'private.key'), 'not a key', {mode: 0o600});
    const result = await runCli(['keys', 'generate', '--dir', join(h.base, 'other')], {env: h.env});
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/cannot sign the audit checkpoint: .*private.key is not a PEM PKCS#8 private key/);
    expect(readFileSync(h.ledger, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('8 concurrent commands leave one valid chain with all their entries', async () => {
    const h = home();
    expect((await runCli(['keys', 'generate'], {env: h.env})).code).toBe(0);
    const files = Array.from({length: 8}, (_, i) => join(h.base, `f${i}.txt`));
    for (const file of files) writeFileSync(file, file);
    const results = await Promise.all(files.map((file) => runCli(['sign', file], {env: h.env, timeoutMs: 120_000})));
    expect(results.map((r) => r.code)).toEqual(Array(8).fill(0));
    const verify = await runCli(['audit', 'verify', '--strict', '--format', 'json'], {env: h.env});
    expect(verify.code, verify.stderr).toBe(0);
    expect(json(verify.stdout)).toMatchObject({valid: true, records: 18, entries: 9, checkpoints: 9});
    const shown = json<{payload: {file: string}}[]>((await runCli(['audit', 'show', '--action', 'sign', '--format', 'json'], {env: h.env})).stdout);
    expect(shown.map((r) => r.payload.file).sort()).toEqual([...files].sort());
  }, 180_000);

  it('a SIGKILLed appender holding the lock does not block the next run', async () => {
    const h = home();
    // The holder takes the lock as proper-lockfile does (an atomic mkdir of <ledger>.lock) and is killed
    // with SIGKILL, so no exit handler can remove it: exactly what a killed appender leaves behind.
    const holder = spawn(
      process.execPath,
      ['-e', `require('fs').mkdirSync(${JSON.stringify(`${h.ledger}.lock`)}); console.log('locked'); setInterval(() => {}, 1000);`],
      {stdio: ['ignore', 'pipe', 'inherit']},
    );
    await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    expect(existsSync(`${h.ledger}.lock`)).toBe(true);
    const result = await runCli(['keys', 'generate', '--dir', join(h.base, 'k')], {env: h.env});
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(`${h.ledger}.lock`)).toBe(false);
    expect((await runCli(['audit', 'verify', '--format', 'json'], {env: h.env})).code).toBe(0);
  }, 240_000);
});
