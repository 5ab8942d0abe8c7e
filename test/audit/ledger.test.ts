import {appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {recordAudit} from '../../src/audit/record-audit.js';
import {loadConfig} from '../../src/config/builder.js';
import {writeKeyPair} from '../../src/crypto/key-files.js';
import {readPrivateKey, readPublicKey} from '../../src/crypto/keys.js';
import {latestCheckpoint} from '../../src/audit/checkpoint.js';
import {signCheckpoint} from '../../src/audit/checkpoint-signature.js';
import {appendToLedger, AuditLedger, readLedgerTail} from '../../src/audit/ledger.js';
import {buildRecord, frontierFromHex, type LedgerRecord, recordHashInput, rootHex, serialiseRecord} from '../../src/audit/ledger-record.js';
import {verifyLedger} from '../../src/audit/verify.js';
import {toHex} from '../../src/crypto/hash.js';
import {recordHash} from '../../src/audit/ledger-record.js';
import {ROOT, removeDir, tempDir} from '../helpers/cli.js';

const dir = tempDir();
afterAll(() => removeDir(dir));
let counter = 0;

function setup(options: {signed?: boolean} = {}) {
  const base = join(dir, `case-${counter++}`);
  const keyDir = join(base, 'keys');
  mkdirSync(base, {recursive: true});
  if (options.signed !== false) writeKeyPair(join(keyDir, 'private.key'), join(keyDir, 'public.key'));
  const config = loadConfig({
    env: {},
    systemConfigPath: null,
    userConfigPath: null,
    cliArgs: {
      'audit.ledger_path': join(base, 'audit.ledger'),
      'crypto.private_key_path': join(keyDir, 'private.key'),
      'crypto.public_key_path': join(keyDir, 'public.key'),
    },
  });
  const ledger = join(base, 'audit.ledger');
  const publicKey = options.signed === false ? undefined : readPublicKey(join(keyDir, 'public.key'));
  return {base, config, ledger, publicKey, keyDir};
}

/** A `scan` run's payload (its collector is named "scan", which the tamper tests edit). */
const runPayload = (scanId: number, processCount: number) => ({
  scan_id: scanId,
  process_count: processCount,
  collector: 'scan',
  pids: null,
  output: null,
  store_file: null,
  exit_code: 0,
});

async function runs(config: ReturnType<typeof setup>['config'], count: number): Promise<void> {
  for (let i = 0; i < count; i++) await recordAudit(config, {actor: 'daemoneye test', action: 'process_collection', payload: runPayload(1000 + i, 100 + i)});
}

const lines = (file: string): string[] => readFileSync(file, 'utf8').split('\n').slice(0, -1);
const writeLines = (file: string, text: string[]): void => writeFileSync(file, text.map((l) => `${l}\n`).join(''));
const recordAt = (file: string, seq: number): LedgerRecord => JSON.parse(lines(file)[seq] as string) as LedgerRecord;

/** Re-chain records from `from` on after an edit, as a forger without the key would (hashes, links, frontier). */
function rechain(records: LedgerRecord[], from: number): string[] {
  const out: LedgerRecord[] = records.slice(0, from);
  for (let index = from; index < records.length; index++) {
    const previous = out[index - 1];
    const r = records[index] as LedgerRecord;
    const built = buildRecord(
      previous === undefined ? undefined : {seq: previous.seq, entry_hash: previous.entry_hash, frontier: frontierFromHex(previous.frontier)},
      r,
    );
    out.push(built.record);
  }
  return out.map((r) => serialiseRecord(r).trimEnd());
}

describe('audit ledger: intact ledgers', () => {
  for (const count of [0, 1, 2, 3, 4, 5, 1000]) {
    it(`${count} unsigned entries verify, with the Merkle root of the frontier`, async () => {
      const {config, ledger} = setup({signed: false});
      writeFileSync(ledger, '');
      await runs(config, count);
      const report = await verifyLedger(ledger);
      expect(report).toMatchObject({valid: true, records: count, entries: count, checkpoints: 0, first_problem: null});
      if (count > 0) expect(report.root).toBe(rootHex(frontierFromHex(recordAt(ledger, count - 1).frontier)));
      expect((await verifyLedger(ledger, {strict: true})).valid).toBe(count === 0);
    });
  }

  for (const count of [1, 2, 3, 4, 5]) {
    it(`${count} signed runs (entry + checkpoint each) verify strictly`, async () => {
      const {config, ledger, publicKey} = setup();
      await runs(config, count);
      const report = await verifyLedger(ledger, {publicKey, strict: true});
      expect(report).toMatchObject({valid: true, records: 2 * count, checkpoints: count, unsigned_tail: null});
      expect(report.latest_checkpoint).toMatchObject({seq: 2 * count - 1, tree_size: 2 * count - 1, signature_status: 'valid'});
    });
  }

  it('a missing ledger is an input error (exit 2), not a failed verification', async () => {
    await expect(verifyLedger(join(dir, 'nope.ledger'))).rejects.toMatchObject({code: 'INPUT_NOT_FOUND', exitCode: 2});
  });

  it('the worked example of docs/audit.md hashes to the documented value', () => {
    const fields = {
      seq: 0,
      type: 'entry' as const,
      time: 1700000000000,
      actor: 'daemoneye scan (user root, uid 0)',
      action: 'scan',
      payload: {scan_id: 1700000000000123, process_count: 150},
      prev_hash: '0'.repeat(64),
    };
    const docs = readFileSync(join(ROOT, 'docs', 'audit.md'), 'utf8');
    expect(docs).toContain(recordHashInput(fields));
    expect(toHex(recordHash(fields))).toBe('39909482d47a8aa857b11af73ab05bbe8a061a220fa97081ac717a01701ea689');
    expect(docs).toContain('39909482d47a8aa857b11af73ab05bbe8a061a220fa97081ac717a01701ea689');
    expect(docs).toContain(buildRecord(undefined, fields).record.frontier[0] as string);
  });
});

describe('audit ledger: appends', () => {
  it('an append reads only the last line: damage earlier in the file does not stop it', async () => {
    const {config, ledger} = setup({signed: false});
    await runs(config, 3);
    const text = lines(ledger);
    text[0] = (text[0] as string).replace('"scan"', '"scam"');
    writeLines(ledger, text);
    await runs(config, 1);
    expect(recordAt(ledger, 3).seq).toBe(3);
    expect((await verifyLedger(ledger)).first_problem).toMatchObject({seq: 0, line: 1});
  });

  it('refuses to build on a damaged last record', async () => {
    const {config, ledger} = setup({signed: false});
    await runs(config, 2);
    const text = lines(ledger);
    text[1] = (text[1] as string).replace('"scan"', '"scam"');
    writeLines(ledger, text);
    await expect(runs(config, 1)).rejects.toMatchObject({code: 'LEDGER_TAIL_CORRUPT', exitCode: 3});
    expect(lines(ledger)).toHaveLength(2);
  });

  it('a torn last line is reported by verify, then moved aside by the next append with nothing lost', async () => {
    const {config, ledger, base, publicKey} = setup();
    await runs(config, 2);
    const torn = '{"seq":4,"type":"entry","time":17';
    appendFileSync(ledger, torn);
    const report = await verifyLedger(ledger, {publicKey});
    expect(report.valid).toBe(false);
    expect(report.torn_tail).toEqual({line: 5, bytes: torn.length});
    expect(report.first_problem).toMatchObject({seq: 4, line: 5, problem: expect.stringMatching(/torn last record/)});
    await runs(config, 1);
    const quarantined = readdirSync(base).filter((name) => name.startsWith('audit.ledger.torn-'));
    expect(quarantined).toHaveLength(1);
    expect(readFileSync(join(base, quarantined[0] as string), 'utf8')).toBe(torn);
    expect(recordAt(ledger, 4)).toMatchObject({action: 'ledger_torn_record_quarantined', payload: {bytes: torn.length}});
    expect(await verifyLedger(ledger, {publicKey, strict: true})).toMatchObject({valid: true, records: 7});
  });

  it('records an unsigned tail that a later signed run adopted', async () => {
    const {config, ledger, publicKey} = setup();
    await runs(config, 1);
    const unsigned = loadConfig({
      env: {},
      systemConfigPath: null,
      userConfigPath: null,
      cliArgs: {'audit.ledger_path': ledger, 'crypto.private_key_path': join(dir, 'none')},
    });
    await runs(unsigned, 1);
    expect((await verifyLedger(ledger, {publicKey, strict: true})).unsigned_tail).toEqual({from_seq: 2, count: 1});
    await runs(config, 1);
    const report = await verifyLedger(ledger, {publicKey, strict: true});
    expect(report.valid).toBe(true);
    expect(report.warnings.join('\n')).toMatch(/checkpoint 4 signed over records that had been appended without a checkpoint/);
  });

  it('a key file that exists but is not a key: the entry is still written, then KEY_UNREADABLE (exit 3)', async () => {
    const {config, ledger, keyDir} = setup();
    writeFileSync(join(keyDir, 'private.key'), 'garbage');
    await expect(runs(config, 1)).rejects.toMatchObject({code: 'KEY_UNREADABLE', exitCode: 3});
    expect(lines(ledger)).toHaveLength(1);
  });

  it('--no-audit and audit.enabled=false write nothing', async () => {
    const {config, ledger} = setup({signed: false});
    expect(await recordAudit(config, {actor: 'a', action: 'sign', payload: null}, {noAudit: true})).toBeUndefined();
    const off = loadConfig({env: {}, systemConfigPath: null, userConfigPath: null, cliArgs: {'audit.ledger_path': ledger, 'audit.enabled': false}});
    expect(await recordAudit(off, {actor: 'a', action: 'sign', payload: null})).toBeUndefined();
    expect(existsSync(ledger)).toBe(false);
  });

  it('tail reading works across its 64 KiB read window', async () => {
    const {config, ledger} = setup({signed: false});
    await recordAudit(config, {actor: 'a', action: 'sql_refused', payload: {sql: 'x'.repeat(200_000), sql_bytes: 200_000, reasons: [], exit_code: 2}});
    await recordAudit(config, {actor: 'a', action: 'sql_refused', payload: {sql: 'y'.repeat(100_000), sql_bytes: 100_000, reasons: [], exit_code: 2}});
    expect(readLedgerTail(ledger).last?.seq).toBe(1);
    expect((await verifyLedger(ledger)).valid).toBe(true);
  });
});

describe('audit ledger: tamper matrix (5 signed runs = records 0..9, line = seq + 1)', () => {
  async function signedLedger() {
    const context = setup();
    await runs(context.config, 5);
    return context;
  }
  const expectFirstProblem = async (ledger: string, publicKey: ReturnType<typeof setup>['publicKey'], seq: number, line: number, problem: RegExp) => {
    const report = await verifyLedger(ledger, {publicKey});
    expect(report.valid).toBe(false);
    expect(report.first_problem).toMatchObject({seq, line, problem: expect.stringMatching(problem)});
  };

  it('one byte of a payload', async () => {
    const {ledger, publicKey} = await signedLedger();
    const text = lines(ledger);
    text[4] = (text[4] as string).replace('"process_count":102', '"process_count":103');
    writeLines(ledger, text);
    await expectFirstProblem(ledger, publicKey, 4, 5, /entry_hash does not match/);
  });

  it('one byte of a hash (entry_hash of seq 6, prev_hash of seq 8)', async () => {
    const {ledger, publicKey} = await signedLedger();
    const original = lines(ledger);
    const flip = (line: string, field: string): string =>
      line.replace(new RegExp(`"${field}":"(.)`), (_m, c: string) => `"${field}":"${c === 'a' ? 'b' : 'a'}`);
    writeLines(
      ledger,
      original.map((l, i) => (i === 6 ? flip(l, 'entry_hash') : l)),
    );
    await expectFirstProblem(ledger, publicKey, 6, 7, /entry_hash does not match/);
    writeLines(
      ledger,
      original.map((l, i) => (i === 8 ? flip(l, 'prev_hash') : l)),
    );
    await expectFirstProblem(ledger, publicKey, 8, 9, /entry_hash does not match/);
  });

  it('one byte of a timestamp', async () => {
    const {ledger, publicKey} = await signedLedger();
    const text = lines(ledger);
    const record = recordAt(ledger, 2);
    text[2] = (text[2] as string).replace(`"time":${record.time}`, `"time":${record.time + 1}`);
    writeLines(ledger, text);
    await expectFirstProblem(ledger, publicKey, 2, 3, /entry_hash does not match/);
  });

  it('an entry deleted in the middle', async () => {
    const {ledger, publicKey} = await signedLedger();
    writeLines(
      ledger,
      lines(ledger).filter((_, i) => i !== 4),
    );
    await expectFirstProblem(ledger, publicKey, 5, 5, /seq 5 where 4 was expected: record\(s\) 4 missing/);
  });

  it('two entries swapped', async () => {
    const {ledger, publicKey} = await signedLedger();
    const text = lines(ledger);
    [text[4], text[6]] = [text[6] as string, text[4] as string];
    writeLines(ledger, text);
    await expectFirstProblem(ledger, publicKey, 6, 5, /seq 6 where 4 was expected/);
  });

  it('an entry duplicated', async () => {
    const {ledger, publicKey} = await signedLedger();
    const text = lines(ledger);
    text.splice(5, 0, text[4] as string);
    writeLines(ledger, text);
    await expectFirstProblem(ledger, publicKey, 4, 6, /seq 4 where 5 was expected: a record is duplicated or out of order/);
  });

  it('a forged entry appended with a recomputed chain: caught by --strict and by a checkpoint the forger signs', async () => {
    const {ledger, publicKey, base} = await signedLedger();
    const last = recordAt(ledger, 9);
    const forged = buildRecord(
      {seq: 9, entry_hash: last.entry_hash, frontier: frontierFromHex(last.frontier)},
      {type: 'entry', time: last.time + 1, actor: 'daemoneye scan', action: 'scan', payload: {forged: true}},
    );
    appendFileSync(ledger, serialiseRecord(forged.record));
    expect(await verifyLedger(ledger, {publicKey})).toMatchObject({valid: true, unsigned_tail: {from_seq: 10, count: 1}});
    expect(await verifyLedger(ledger, {publicKey, strict: true})).toMatchObject({valid: false, unsigned_tail: {from_seq: 10, count: 1}});
    // The forger signs a checkpoint with a key of their own: the signature check names it.
    writeKeyPair(join(base, 'evil', 'private.key'), join(base, 'evil', 'public.key'));
    const evil = readPrivateKey(join(base, 'evil', 'private.key'));
    const checkpoint = signCheckpoint(evil, {tree_size: 11, root: rootHex(forged.frontier), time: last.time + 2});
    const cp = buildRecord(
      {seq: 10, entry_hash: forged.record.entry_hash, frontier: forged.frontier},
      {type: 'checkpoint', time: last.time + 2, actor: 'x', action: 'checkpoint', payload: checkpoint},
    );
    appendFileSync(ledger, serialiseRecord(cp.record));
    const report = await verifyLedger(ledger, {publicKey});
    expect(report.valid).toBe(false);
    expect(report.first_problem).toMatchObject({seq: 11, line: 12, problem: expect.stringMatching(/signed by key .* not by the given public key/)});
  });

  it('a forged entry inserted mid-history with the whole chain recomputed: the next signed checkpoint no longer verifies', async () => {
    const {ledger, publicKey} = await signedLedger();
    const records = lines(ledger).map((l) => JSON.parse(l) as LedgerRecord);
    const forged: LedgerRecord = {...(records[4] as LedgerRecord), payload: {forged: true}};
    const spliced = [...records.slice(0, 5), forged, ...records.slice(5)].map((r, seq) => ({...r, seq}));
    // Keep every checkpoint consistent with the new tree too, as a careful forger would.
    const rebuilt: LedgerRecord[] = [];
    for (const r of spliced) {
      const previous = rebuilt[rebuilt.length - 1];
      const prior = previous === undefined ? undefined : {seq: previous.seq, entry_hash: previous.entry_hash, frontier: frontierFromHex(previous.frontier)};
      const payload = r.type === 'checkpoint' ? {...(r.payload as object), tree_size: r.seq, root: rootHex(prior?.frontier ?? [])} : r.payload;
      rebuilt.push(buildRecord(prior, {...r, payload}).record);
    }
    writeLines(
      ledger,
      rebuilt.map((r) => serialiseRecord(r).trimEnd()),
    );
    const report = await verifyLedger(ledger, {publicKey});
    expect(report.valid).toBe(false);
    expect(report.first_problem).toMatchObject({seq: 10, problem: expect.stringMatching(/checkpoint 10 has an invalid signature/)});
  });

  it('the tail truncated below a shipped checkpoint', async () => {
    const {ledger, publicKey} = await signedLedger();
    const shipped = (await latestCheckpoint(ledger)).checkpoint;
    expect(shipped.tree_size).toBe(9);
    writeLines(ledger, lines(ledger).slice(0, 6));
    // On its own the cut ledger looks fine (it ends at a signed checkpoint): that is why checkpoints are shipped.
    expect((await verifyLedger(ledger, {publicKey, strict: true})).valid).toBe(true);
    const report = await verifyLedger(ledger, {publicKey, shipped: [{file: 'shipped.json', checkpoint: shipped}]});
    expect(report.valid).toBe(false);
    expect(report.shipped[0]).toMatchObject({status: 'truncated', signature: 'valid'});
    expect(report.first_problem).toMatchObject({
      seq: 6,
      problem: expect.stringMatching(/has 6 records but shipped.json covers 9: records from seq 6 were cut off/),
    });
  });

  it('history rewritten and re-signed with a different key', async () => {
    const {ledger, publicKey, base} = await signedLedger();
    const shipped = (await latestCheckpoint(ledger)).checkpoint;
    writeKeyPair(join(base, 'other', 'private.key'), join(base, 'other', 'public.key'));
    const otherConfig = loadConfig({
      env: {},
      systemConfigPath: null,
      userConfigPath: null,
      cliArgs: {'audit.ledger_path': ledger, 'crypto.private_key_path': join(base, 'other', 'private.key')},
    });
    writeFileSync(ledger, '');
    await runs(otherConfig, 5);
    const report = await verifyLedger(ledger, {publicKey});
    expect(report.valid).toBe(false);
    expect(report.first_problem).toMatchObject({seq: 9, line: 10, problem: expect.stringMatching(/signed by key .*not by the given public key/)});
    const withShipped = await verifyLedger(ledger, {
      publicKey: readPublicKey(join(base, 'other', 'public.key')),
      shipped: [{file: 'cp.json', checkpoint: shipped}],
    });
    expect(withShipped.valid).toBe(false);
    expect(withShipped.shipped[0]).toMatchObject({status: 'bad_signature'});
    const rootOnly = await verifyLedger(ledger, {shipped: [{file: 'cp.json', checkpoint: shipped}]});
    expect(rootOnly.shipped[0]).toMatchObject({status: 'root_mismatch'});
    expect(rootOnly.first_problem?.problem).toMatch(/the first 9 records do not match cp.json/);
  });

  it('a checkpoint whose root or tree size does not match the records before it, chain recomputed', async () => {
    const {ledger, publicKey} = await signedLedger();
    const records = lines(ledger).map((l) => JSON.parse(l) as LedgerRecord);
    const wrongRoot = records.map((r) => (r.seq === 9 ? {...r, payload: {...(r.payload as object), root: 'e'.repeat(64)}} : r));
    writeLines(ledger, rechain(wrongRoot, 9));
    await expectFirstProblem(ledger, publicKey, 9, 10, /checkpoint 9 does not match the ledger: its root is not the root of the 9 records before it/);
    const wrongSize = records.map((r) => (r.seq === 5 ? {...r, payload: {...(r.payload as object), tree_size: 4}} : r));
    writeLines(ledger, rechain(wrongSize, 5));
    await expectFirstProblem(ledger, publicKey, 5, 6, /it claims 4 records before it/);
  });

  it('rechain helper sanity: an untouched rechain still verifies', async () => {
    const {ledger, publicKey} = await signedLedger();
    const records = lines(ledger).map((l) => JSON.parse(l) as LedgerRecord);
    writeLines(ledger, rechain(records, 0));
    expect((await verifyLedger(ledger, {publicKey, strict: true})).valid).toBe(true);
  });
});

describe('AuditLedger (the reference API type)', () => {
  it('appendEntry writes the entry and a signed checkpoint; verifyChain checks them', async () => {
    const {ledger, keyDir} = setup();
    const audit = new AuditLedger(ledger, {signingKey: readPrivateKey(join(keyDir, 'private.key')), publicKey: readPublicKey(join(keyDir, 'public.key'))});
    const first = await audit.appendEntry({actor: 'procmond', action: 'process_collection', payload: runPayload(12345, 150)});
    expect(first.entry).toMatchObject({seq: 0, action: 'process_collection'});
    expect(first.checkpoint?.payload).toMatchObject({tree_size: 1, key_id: expect.any(String)});
    const result = await audit.verifyChain({strict: true});
    expect(result).toMatchObject({valid: true, records: 2, latest_checkpoint: {signature_status: 'valid'}});
  });
});

describe('appendToLedger', () => {
  it('returns what build returns and chains records of one call', async () => {
    const {ledger} = setup({signed: false});
    const seqs = await appendToLedger(ledger, (_context, append) => [
      append({type: 'entry', actor: 'a', action: 'x', payload: 1}).seq,
      append({type: 'entry', actor: 'a', action: 'y', payload: 2}).seq,
    ]);
    expect(seqs).toEqual([0, 1]);
    expect((await verifyLedger(ledger)).valid).toBe(true);
  });
});
