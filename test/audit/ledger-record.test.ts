// The ledger is exact: a record line is accepted by `audit verify --strict` only in the canonical form the
// writer produces. Extra members and repeated members are bytes the hash does not cover; they used to pass
// strict verification (even against a shipped checkpoint) and `audit show` printed them as part of the record.
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it, vi} from 'vitest';

import {buildRecord, frontierFromHex, type LedgerRecord, lineFormProblem, repeatedMembers, serialiseRecord} from '../../src/audit/ledger-record.js';
import {verifyLedger} from '../../src/audit/verify.js';
import {isolatedEnv, removeDir, runCli, tempDir} from '../helpers/cli.js';

vi.setConfig({testTimeout: 240_000, hookTimeout: 240_000});
const dir = tempDir();
afterAll(() => removeDir(dir));
let counter = 0;

const lines = (file: string): string[] => readFileSync(file, 'utf8').split('\n').slice(0, -1);
const writeLines = (file: string, text: readonly string[]): void => writeFileSync(file, text.map((l) => `${l}\n`).join(''));

/** A signed ledger of two `sign` runs (entry + checkpoint each: seq 0..3) and a checkpoint shipped after them. */
async function signedLedger(): Promise<{env: NodeJS.ProcessEnv; ledger: string; base: string; shipped: string}> {
  const base = join(dir, `home-${counter++}`);
  mkdirSync(base, {recursive: true});
  const ledger = join(base, 'audit.ledger');
  const env = isolatedEnv(base, {
    DAEMONEYE_AUDIT__LEDGER_PATH: ledger,
    DAEMONEYE_CRYPTO__PRIVATE_KEY_PATH: join(base, 'keys', 'private.key'),
    DAEMONEYE_CRYPTO__PUBLIC_KEY_PATH: join(base, 'keys', 'public.key'),
  });
  expect((await runCli(['keys', 'generate'], {env})).code).toBe(0);
  writeFileSync(join(base, 'a.txt'), 'a');
  expect((await runCli(['sign', join(base, 'a.txt')], {env})).code).toBe(0);
  const shipped = join(base, 'shipped.json');
  const checkpoint = await runCli(['audit', 'checkpoint'], {env});
  expect(checkpoint.code).toBe(0);
  writeFileSync(shipped, checkpoint.stdout);
  return {env, ledger, base, shipped};
}

describe('lineFormProblem', () => {
  const record = buildRecord(undefined, {type: 'entry', time: 1, actor: 'a', action: 'sign', payload: {file: 'x', n: 1}}).record;
  const line = serialiseRecord(record).trimEnd();
  const check = (text: string): string | undefined => lineFormProblem(text, JSON.parse(text) as LedgerRecord);

  it('the line the writer writes is canonical', () => {
    expect(check(line)).toBeUndefined();
  });

  it('an extra member, a repeated member at any depth, whitespace, number and string spellings are not', () => {
    expect(check(line.replace(/}$/, ',"note":"approved"}'))).toMatch(/extra member "note" not covered by entry_hash/);
    expect(check(line.replace('{"seq":0', '{"action":"forged","seq":0'))).toMatch(/member "action" given twice/);
    expect(check(line.replace('"payload":{"file":"x"', '"payload":{"file":"forged","file":"x"'))).toMatch(/member "payload.file" given twice/);
    expect(check(line.replace('"seq":0,', '"seq": 0,'))).toMatch(/not byte for byte/);
    expect(check(line.replace('"n":1', '"n":1.0'))).toMatch(/not byte for byte/);
    expect(check(line.replace('"file":"x"', '"file":"\\u0078"'))).toMatch(/not byte for byte/);
    expect(check(line.replace('{"seq":0,"type":"entry"', '{"type":"entry","seq":0'))).toMatch(/not byte for byte/);
  });

  it('a checkpoint payload holds only the checkpoint members', () => {
    const cp = buildRecord(undefined, {
      type: 'checkpoint',
      time: 1,
      actor: 'a',
      action: 'checkpoint',
      payload: {tree_size: 0, root: 'a'.repeat(64), time: 1, key_id: 'k', signature: 'AA==', note: 'x'},
    }).record;
    expect(lineFormProblem(serialiseRecord(cp).trimEnd(), cp)).toMatch(/checkpoint payload member "note" not in the checkpoint format/);
  });

  it('repeatedMembers names repeated members by path, not strings that look like keys', () => {
    expect(repeatedMembers('{"a":{"b":1,"b":2},"c":[{"d":1,"d":2}],"e":"\\"a\\":"}')).toEqual(['a.b', 'c[].d']);
    expect(repeatedMembers('{"a":1,"b":{"a":2}}')).toEqual([]);
  });
});

describe('audit verify --strict accepts only the canonical form', () => {
  it('an extra unhashed member: a warning without --strict, a failure with it (and with a shipped checkpoint)', async () => {
    const {env, ledger, shipped} = await signedLedger();
    const text = lines(ledger);
    text[2] = (text[2] as string).replace(/}$/, ',"approved_by":"the security team"}');
    writeLines(ledger, text);
    const plain = await verifyLedger(ledger);
    expect(plain).toMatchObject({valid: true, noncanonical: {count: 1, first: {seq: 2, line: 3}}});
    expect(plain.warnings.join('\n')).toMatch(/1 record\(s\) not in canonical form, first seq 2 \(line 3\): extra member "approved_by"/);
    const strict = await runCli(['audit', 'verify', '--strict', '--checkpoint', shipped], {env});
    expect(strict.code, strict.stderr).toBe(1);
    expect(strict.stderr).toMatch(/first problem: line 3, seq 2: not in canonical form: extra member "approved_by" not covered by entry_hash/);
    expect(JSON.parse(strict.stdout)).toMatchObject({valid: false, shipped: [{status: 'extends'}]});
  });

  it('a repeated member (the first copy is what other JSON readers may take) fails --strict', async () => {
    const {env, ledger} = await signedLedger();
    const text = lines(ledger);
    text[2] = (text[2] as string).replace('"action":"sign"', '"action":"keys_generate","action":"sign"');
    writeLines(ledger, text);
    const strict = await runCli(['audit', 'verify', '--strict'], {env});
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/seq 2: not in canonical form: member "action" given twice/);
  });

  it('an extra member in the latest checkpoint payload, its hash and frontier recomputed: the signature still verifies, --strict does not', async () => {
    const {env, ledger} = await signedLedger();
    const records = lines(ledger).map((l) => JSON.parse(l) as LedgerRecord);
    const previous = records[2] as LedgerRecord;
    const last = records[3] as LedgerRecord;
    const forged = buildRecord(
      {seq: previous.seq, entry_hash: previous.entry_hash, frontier: frontierFromHex(previous.frontier)},
      {...last, payload: {...(last.payload as object), approved: 'all clear'}},
    );
    writeLines(ledger, [...lines(ledger).slice(0, 3), serialiseRecord(forged.record).trimEnd()]);
    expect((await runCli(['audit', 'verify'], {env})).code).toBe(0);
    const strict = await runCli(['audit', 'verify', '--strict'], {env});
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/seq 3: not in canonical form: checkpoint payload member "approved" not in the checkpoint format/);
  });

  it('audit show and audit prove never show unhashed members as part of the record', async () => {
    const {env, ledger} = await signedLedger();
    const text = lines(ledger);
    text[2] = (text[2] as string).replace(/}$/, ',"approved_by":"the security team"}');
    writeLines(ledger, text);
    const shown = await runCli(['audit', 'show'], {env});
    expect(shown.code).toBe(0);
    const records = shown.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toHaveLength(4);
    expect(Object.keys(records[2] as object)).toEqual(['seq', 'type', 'time', 'actor', 'action', 'payload', 'prev_hash', 'entry_hash']);
    expect(shown.stdout).not.toContain('security team');
    expect(shown.stderr).toMatch(/line 3 \(seq 2\) is not in canonical form: extra member "approved_by" not covered by entry_hash; shown without it/);
    const proof = await runCli(['audit', 'prove', '2'], {env});
    expect(proof.code).toBe(0);
    expect(proof.stdout).not.toContain('security team');
  });
});
