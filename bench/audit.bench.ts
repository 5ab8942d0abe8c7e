// Audit ledger: append latency at 100 and at 100,000 records (target: the same, since an append reads
// only the last line) and `audit verify` of 100,000 records (target: under 5 s, memory bounded).
import {closeSync, copyFileSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

import {writeKeyPair} from '../src/crypto/key-files.js';
import {readPrivateKey} from '../src/crypto/keys.js';
import {signCheckpoint} from '../src/audit/checkpoint-signature.js';
import {appendToLedger} from '../src/audit/ledger.js';
import {buildRecord, rootHex, serialiseRecord} from '../src/audit/ledger-record.js';
import {BIN, median, report, timeCommand, type Timing} from './lib.js';

/** A ledger of `runs` command runs, each an entry plus a signed checkpoint, as the CLI writes them. */
function makeLedger(path: string, runs: number, keyFile: string): void {
  const key = readPrivateKey(keyFile);
  const fd = openSync(path, 'w', 0o600);
  let previous: Parameters<typeof buildRecord>[0];
  let buffer: string[] = [];
  const time = 1_700_000_000_000;
  for (let run = 0; run < runs; run++) {
    const entry = buildRecord(previous, {
      type: 'entry',
      time: time + run,
      actor: 'daemoneye scan (user root, uid 0)',
      action: 'scan',
      payload: {scan_id: run, process_count: 150},
    });
    const checkpoint = signCheckpoint(key, {tree_size: entry.record.seq + 1, root: rootHex(entry.frontier), time: time + run});
    const cp = buildRecord(
      {seq: entry.record.seq, entry_hash: entry.record.entry_hash, frontier: entry.frontier},
      {type: 'checkpoint', time: time + run, actor: 'daemoneye scan (user root, uid 0)', action: 'checkpoint', payload: checkpoint},
    );
    previous = {seq: cp.record.seq, entry_hash: cp.record.entry_hash, frontier: cp.frontier};
    buffer.push(serialiseRecord(entry.record), serialiseRecord(cp.record));
    if (buffer.length >= 2000) {
      writeSync(fd, buffer.join(''));
      buffer = [];
    }
  }
  writeSync(fd, buffer.join(''));
  closeSync(fd);
}

/** In-process append latency (lock, tail read, one write + fsync): median of `count` appends. */
async function appendLatency(label: string, path: string, count: number): Promise<Timing> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    await appendToLedger(path, (_context, append) => append({type: 'entry', actor: 'bench', action: 'bench', payload: {i}}));
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return {label, medianMs: median(samples), minMs: Math.min(...samples), runs: count};
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'daemoneye-bench-audit-'));
  try {
    const keys = writeKeyPair(join(dir, 'keys', 'private.key'), join(dir, 'keys', 'public.key'));
    const small = join(dir, 'small.ledger');
    const big = join(dir, 'big.ledger');
    makeLedger(small, 50, keys.private_key_path);
    const started = Date.now();
    makeLedger(big, 50_000, keys.private_key_path);
    process.stdout.write(`\n(built a 100,000-record ledger in ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);

    const smallCopy = join(dir, 'small-append.ledger');
    const bigCopy = join(dir, 'big-append.ledger');
    copyFileSync(small, smallCopy);
    copyFileSync(big, bigCopy);
    const inSmall = await appendLatency('append in-process at 100 records', smallCopy, 200);
    const inBig = await appendLatency('append in-process at 100,000 records', bigCopy, 200);
    report('audit ledger: append latency (in-process)', [inSmall, inBig], inSmall);

    const env = (ledger: string): NodeJS.ProcessEnv => ({
      ...process.env,
      HOME: dir,
      XDG_STATE_HOME: join(dir, 'state'),
      XDG_CONFIG_HOME: join(dir, 'config'),
      DAEMONEYE_AUDIT__LEDGER_PATH: ledger,
      DAEMONEYE_CRYPTO__PRIVATE_KEY_PATH: keys.private_key_path,
      DAEMONEYE_CRYPTO__PUBLIC_KEY_PATH: keys.public_key_path,
    });
    const signed = join(dir, 'file.txt');
    writeFileSync(signed, 'bench');
    const signArgs = [BIN, 'sign', signed, '--output', join(dir, 'file.sig')];
    const noAudit = timeCommand('sign --no-audit (baseline)', process.execPath, [...signArgs, '--no-audit'], {env: env(smallCopy), runs: 7});
    const cliSmall = timeCommand('sign + entry + checkpoint at 100 records', process.execPath, signArgs, {env: env(smallCopy), runs: 7});
    const cliBig = timeCommand('sign + entry + checkpoint at 100,000 records', process.execPath, signArgs, {env: env(bigCopy), runs: 7});
    report('audit ledger: append latency (CLI, whole command)', [noAudit, cliSmall, cliBig], cliSmall);

    const verifySmall = timeCommand('audit verify, 100 records', process.execPath, [BIN, 'audit', 'verify', '--ledger', small, '--format', 'json'], {
      env: env(small),
      runs: 3,
    });
    const verifyBig = timeCommand('audit verify, 100,000 records', process.execPath, [BIN, 'audit', 'verify', '--ledger', big, '--format', 'json'], {
      env: env(big),
      runs: 3,
    });
    report('audit verify (target: 100,000 records under 5 s, bounded memory)', [verifySmall, verifyBig], verifySmall);
  } finally {
    rmSync(dir, {recursive: true, force: true});
  }
}
