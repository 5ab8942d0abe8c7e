import {generateKeyPairSync} from 'node:crypto';
import {mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {checkCollector, checkKeys, checkLastRun, checkRules, checkStore, hasCapability, parseEffectiveCapabilities} from '../../src/telemetry/health-checks.js';
import {lastSuccessfulRunInLedger} from '../../src/telemetry/health-probes.js';
import {removeDir, tempDir} from '../helpers/cli.js';

const dir = tempDir();
afterAll(() => removeDir(dir));

function fakeProc(name: string, capEff: string, mountinfo = '22 1 0:5 / /proc rw,nosuid - proc proc rw\n'): string {
  const root = join(dir, name);
  mkdirSync(join(root, 'self'), {recursive: true});
  writeFileSync(join(root, 'self', 'status'), `Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t${capEff}\nCapBnd:\t000001ffffffffff\n`);
  writeFileSync(join(root, 'self', 'mountinfo'), mountinfo);
  return root;
}

describe('collector check', () => {
  it('reads the effective capability set from /proc/self/status', () => {
    const mask = parseEffectiveCapabilities('CapPrm:\t0\nCapEff:\t0000000000080004\n');
    expect(mask).toBe(0x80004n);
    expect(hasCapability(mask as bigint, 19)).toBe(true);
    expect(hasCapability(mask as bigint, 2)).toBe(true);
    expect(hasCapability(mask as bigint, 1)).toBe(false);
    expect(parseEffectiveCapabilities('Name:\tx\n')).toBeUndefined();
  });

  it('is healthy with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH, degraded naming each one missing', () => {
    expect(checkCollector(fakeProc('both', '0000000000080004')).status).toBe('healthy');
    const noPtrace = checkCollector(fakeProc('no-ptrace', '0000000000000004'));
    expect(noPtrace.status).toBe('degraded');
    expect(noPtrace.reason).toMatch(/^CAP_SYS_PTRACE missing/);
    expect(noPtrace.reason).not.toMatch(/CAP_DAC_READ_SEARCH missing/);
    expect(checkCollector(fakeProc('none', '0000000000000000')).details).toMatchObject({missing_capabilities: ['CAP_SYS_PTRACE', 'CAP_DAC_READ_SEARCH']});
  });

  it('reports a hidepid mount and a missing /proc', () => {
    const hidden = checkCollector(fakeProc('hidepid', '000001ffffffffff', '22 1 0:5 / /proc rw,nosuid - proc proc rw,hidepid=invisible\n'));
    expect(hidden.status).toBe('degraded');
    expect(hidden.reason).toMatch(/hidepid/);
    expect(checkCollector(join(dir, 'no-proc')).reason).toMatch(/systeminformation/);
  });
});

describe('rules check', () => {
  it('is unhealthy on an invalid file, degraded with nothing enabled, healthy otherwise', () => {
    expect(checkRules({loaded: 3, enabled: 2, invalid: [{file: 'a.yaml', message: 'sql_query: required'}], validator: 'rule-manager'})).toMatchObject({
      status: 'unhealthy',
      reason: expect.stringContaining('a.yaml: sql_query: required') as unknown,
    });
    expect(checkRules({loaded: 3, enabled: 0, invalid: [], validator: 'rule-manager'}).status).toBe('degraded');
    expect(checkRules({loaded: 3, enabled: 3, invalid: [], validator: 'rule-manager'})).toMatchObject({
      status: 'healthy',
      reason: '3 of 3 rules enabled, all valid',
    });
  });
});

describe('store check', () => {
  it('is degraded over storage.max_size_mb and healthy under it', () => {
    const store = join(dir, 'store');
    mkdirSync(store);
    writeFileSync(join(store, 'scan-1.db'), Buffer.alloc(2 * 1024 * 1024));
    writeFileSync(join(store, 'notes.txt'), Buffer.alloc(5 * 1024 * 1024));
    expect(checkStore(store, 1)).toMatchObject({status: 'degraded', details: {files: 1, size_mb: 2}});
    expect(checkStore(store, 10).status).toBe('healthy');
    expect(checkStore(store, null).status).toBe('healthy');
  });

  it('is healthy when the store does not exist yet but can be created', () => {
    expect(checkStore(join(dir, 'later', 'store'), 10)).toMatchObject({status: 'healthy', details: {exists: false}});
  });
});

describe('last run', () => {
  const ledger = join(dir, 'ledger');
  writeFileSync(ledger, '');

  it('is stale after twice the interval, healthy within it', async () => {
    const probes = {lastSuccessfulRun: () => Promise.resolve({time: 1_000_000, action: 'detect', actor: 'daemoneye detect'})};
    expect((await checkLastRun(true, ledger, 60_000, 1_000_000 + 120_000, probes)).status).toBe('healthy');
    expect((await checkLastRun(true, ledger, 60_000, 1_000_000 + 120_001, probes)).status).toBe('unhealthy');
    expect((await checkLastRun(false, ledger, 60_000, 0, probes)).status).toBe('degraded');
  });

  it('streams the ledger for the latest successful run, past a failed run and a torn last line', async () => {
    const lines = [
      {
        seq: 0,
        type: 'entry',
        time: 10,
        actor: 'daemoneye scan',
        action: 'process_collection',
        payload: {exit_code: 0},
        prev_hash: '0'.repeat(64),
        entry_hash: 'a'.repeat(64),
        frontier: [],
      },
      {
        seq: 1,
        type: 'entry',
        time: 20,
        actor: 'daemoneye detect',
        action: 'detection',
        payload: {exit_code: 3},
        prev_hash: 'a'.repeat(64),
        entry_hash: 'b'.repeat(64),
        frontier: [],
      },
    ];
    const path = join(dir, 'torn.ledger');
    writeFileSync(path, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n{"seq":2,"ty`);
    expect(await lastSuccessfulRunInLedger(path)).toEqual({time: 10, action: 'process_collection', actor: 'daemoneye scan'});
  });
});

describe('keys check', () => {
  it('refuses a key that is not Ed25519 and accepts a 0600 Ed25519 key', () => {
    const rsa = join(dir, 'rsa.key');
    writeFileSync(rsa, generateKeyPairSync('rsa', {modulusLength: 1024}).privateKey.export({type: 'pkcs8', format: 'pem'}), {mode: 0o600});
    expect(checkKeys(rsa, join(dir, 'none.pub')).reason).toMatch(/rsa key, not Ed25519/);
    const garbage = join(dir, 'garbage.key');
    writeFileSync(garbage, 'not a key', {mode: 0o600});
    expect(checkKeys(garbage, join(dir, 'none.pub')).reason).toMatch(/not a PEM private key/);
    const ed = join(dir, 'ed.key');
    writeFileSync(ed, generateKeyPairSync('ed25519').privateKey.export({type: 'pkcs8', format: 'pem'}), {mode: 0o600});
    expect(checkKeys(ed, join(dir, 'none.pub')).status).toBe('healthy');
    expect(checkKeys(join(dir, 'absent.key'), join(dir, 'none.pub')).status).toBe('degraded');
  });
});
