// A seeded mutation test of every file a flag names but snapshots (those: test/storage/snapshot-mutation.test.ts):
// ledgers, checkpoints, configuration files, native and Sigma rule files, key files and evidence bundles are
// truncated, bit-flipped, edited line by line and planted with hostile lines. Each mutant is read by the
// library call its command makes and is either refused with a DaemonEyeError of its kind's exit code whose
// one line names the file, or read; a read one is judged valid or invalid (the check says no: exit 1), and
// where the answer is known (a ledger cut at a record's end is a shorter valid ledger, every other change
// is caught) the test says which it must be. A small sample runs through the CLI: one line on stderr, the
// exit code, no stack trace, no hang.
import {spawn, type ChildProcess} from 'node:child_process';
import {copyFileSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest';

import {readCheckpointFile, signCheckpoint} from '../../src/audit/checkpoint-signature.js';
import {buildRecord, serialiseRecord} from '../../src/audit/ledger-record.js';
import {readAuditRecords} from '../../src/audit/show.js';
import {verifyLedger} from '../../src/audit/verify.js';
import {validateConfigFile} from '../../src/config/validate-file.js';
import {generateKeyPair, readPrivateKey, readPublicKey} from '../../src/crypto/keys.js';
import {validateNativeRuleText} from '../../src/detection/rule-file.js';
import {validateSigmaRuleText} from '../../src/detection/sigma/format.js';
import {SqlValidator} from '../../src/detection/sql-validator.js';
import {DaemonEyeError} from '../../src/errors.js';
import {collectEvidence} from '../../src/evidence/collect-evidence.js';
import {verifyEvidenceBundle} from '../../src/evidence/verify-bundle.js';
import {isolatedEnv, removeDir, ROOT, runCli, tempDir} from '../helpers/cli.js';
import {type Mutant, mutants} from '../helpers/mutants.js';

vi.setConfig({testTimeout: 180_000});

const dir = tempDir('daemoneye-file-mutation-');
const env = isolatedEnv(dir);
let sleeper: ChildProcess | undefined;
afterAll(() => {
  sleeper?.kill('SIGKILL');
  removeDir(dir);
});

/** What reading a mutant gave: read and judged, or refused. */
type Verdict = 'valid' | 'invalid';

interface Kind {
  readonly name: string;
  /** The unmutated file. */
  readonly file: string;
  /** Its file name's ending (a rule file must end in .yaml/.yml, a bundle in .tar.gz). */
  readonly suffix: string;
  /** Read a file as the command does: its verdict, or a thrown refusal. */
  readonly read: (path: string) => Promise<Verdict>;
  /** The exit codes a refusal of this kind may have. */
  readonly refusal: readonly number[];
  /** Hostile lines for a text file. */
  readonly planted?: readonly string[];
  /** The verdict a mutant must get, when the test knows it. */
  readonly expect?: (mutant: Mutant, original: Buffer) => Verdict | 'refused' | undefined;
  readonly count: number;
}

const validator = new SqlValidator();
const paths = {
  ledger: join(dir, 'audit.ledger'),
  checkpoint: join(dir, 'checkpoint.json'),
  config: join(dir, 'config.yaml'),
  rule: join(dir, 'rule.yaml'),
  sigma: join(dir, 'sigma.yml'),
  privateKey: join(dir, 'private.key'),
  publicKey: join(dir, 'public.key'),
  bundle: join(dir, 'case.tar.gz'),
};

beforeAll(async () => {
  const keys = generateKeyPair();
  writeFileSync(paths.privateKey, keys.privatePem, {mode: 0o600});
  writeFileSync(paths.publicKey, keys.publicPem);
  const lines: string[] = [];
  let previous: Parameters<typeof buildRecord>[0];
  for (let i = 0; i < 6; i++) {
    const {record, frontier} = buildRecord(previous, {
      type: 'entry',
      time: Date.UTC(2026, 5, 1) + i,
      actor: 'root',
      action: 'scan',
      payload: {exit_code: 0, i},
    });
    lines.push(serialiseRecord(record));
    previous = {seq: record.seq, entry_hash: record.entry_hash, frontier};
  }
  writeFileSync(paths.ledger, lines.join(''), {mode: 0o600});
  const verified = await verifyLedger(paths.ledger);
  writeFileSync(
    paths.checkpoint,
    `${JSON.stringify(signCheckpoint(readPrivateKey(paths.privateKey), {tree_size: 6, root: verified.root, time: Date.UTC(2026, 5, 2)}), null, 2)}\n`,
  );
  writeFileSync(
    paths.config,
    [
      '# a host configuration',
      'app:',
      '  log_level: info',
      'detection:',
      '  rule_timeout_ms: 2000',
      '  max_concurrent_rules: 2',
      'storage:',
      '  max_snapshot_mb: 256',
      '  retention_days: 7',
      'alerting:',
      '  dedupe_window_s: 300',
      '',
    ].join('\n'),
  );
  copyFileSync(join(ROOT, 'rules', 'execution', 'download-and-execute.yaml'), paths.rule);
  copyFileSync(
    join(ROOT, 'test', 'fixtures', 'sigma', 'rules-threat-hunting', 'linux', 'process_creation', 'proc_creation_lnx_susp_process_termination_via_kill.yml'),
    paths.sigma,
  );
  sleeper = spawn('sleep', ['600'], {stdio: 'ignore'});
  await collectEvidence({
    pids: [sleeper.pid as number],
    output: paths.bundle,
    maxFileBytes: 4096,
    maxTotalBytes: 1024 * 1024,
    key: readPrivateKey(paths.privateKey),
    command: ['daemoneye', 'collect'],
    reason: '--pid',
    redactor: null,
  } as Parameters<typeof collectEvidence>[0]);
}, 120_000);

const ruleVerdict = (valid: boolean): Verdict => (valid ? 'valid' : 'invalid');
/** A cut at the end of a record line, or anywhere in a whole file, keeps a ledger valid: a prefix of records. */
const ledgerPrefix = (mutant: Mutant, original: Buffer): Verdict | undefined => {
  if (!mutant.name.startsWith('truncated')) return mutant.bytes.equals(original) ? 'valid' : 'invalid';
  return mutant.bytes.length === 0 || mutant.bytes[mutant.bytes.length - 1] === 0x0a ? 'valid' : 'invalid';
};

/** A cut that loses only trailing whitespace reads as the whole file; any other cut of a JSON or PEM file is refused. */
const cutRefused = (mutant: Mutant, original: Buffer): Verdict | 'refused' | undefined => {
  if (!mutant.name.startsWith('truncated')) return undefined;
  return mutant.bytes.toString('utf8').trim() === original.toString('utf8').trim() ? 'valid' : 'refused';
};

const KINDS: readonly Kind[] = [
  {
    name: 'audit ledger (audit verify)',
    file: paths.ledger,
    suffix: '.ledger',
    read: async (path) => ruleVerdict((await verifyLedger(path)).valid),
    refusal: [2],
    planted: ['{"seq":6,"type":"entry"}', '{}', '[[[[[[[[[[]]]]]]]]]]', 'x'.repeat(300)],
    expect: (mutant, original) =>
      mutant.name.includes('planted') || mutant.name.includes('removed') || mutant.name.includes('repeated') ? undefined : ledgerPrefix(mutant, original),
    count: 36,
  },
  {
    name: 'audit ledger (audit show)',
    file: paths.ledger,
    suffix: '.ledger',
    read: async (path) => {
      let bad = 0;
      for await (const record of readAuditRecords(path, {}, () => bad++)) expect(typeof record.seq).toBe('number');
      return bad === 0 ? 'valid' : 'invalid';
    },
    refusal: [2],
    planted: ['{"seq":6,"type":"entry"}', '{}', '[[[[[[[[[[]]]]]]]]]]'],
    count: 18,
  },
  {
    name: 'checkpoint (audit verify --checkpoint)',
    file: paths.checkpoint,
    suffix: '.json',
    // Read, then proved against the ledger it was shipped from, signature and all.
    read: async (path) =>
      ruleVerdict(
        (await verifyLedger(paths.ledger, {publicKey: readPublicKey(paths.publicKey), shipped: [{file: path, checkpoint: readCheckpointFile(path)}]})).valid,
      ),
    refusal: [2],
    expect: cutRefused,
    planted: ['  "planted": 1,', '  "tree_size": 1e309,', '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[['],
    count: 30,
  },
  {
    name: 'configuration (config validate, --config)',
    file: paths.config,
    suffix: '.yaml',
    read: async (path) => ruleVerdict(validateConfigFile(path, {}).valid),
    refusal: [2],
    planted: ['planted: &a [*a, *a]', '  rule_timeout_ms: 99999999999999', 'storage: {max_snapshot_mb: -1}', '\t- x', '<<: *missing'],
    count: 36,
  },
  {
    name: 'native rule file (rules validate)',
    file: paths.rule,
    suffix: '.yaml',
    read: async (path) => ruleVerdict(validateNativeRuleText(path, readFileSync(path, 'utf8'), validator).valid),
    refusal: [2],
    planted: ['sql: "SELECT 1; ATTACH \'x\' AS y"', 'planted: &a [*a]', 'timeout_ms: 1e12', '  - ['],
    count: 36,
  },
  {
    name: 'Sigma rule file (rules validate)',
    file: paths.sigma,
    suffix: '.yml',
    read: async (path) => ruleVerdict(validateSigmaRuleText(path, readFileSync(path, 'utf8'), validator).valid),
    refusal: [2],
    planted: ['    CommandLine|re: "(a+)+$"', '    Image|re: "(?<=x)y"', 'condition: selection and not', 'planted: &a [*a]'],
    count: 36,
  },
  {
    name: 'private key (sign --key)',
    file: paths.privateKey,
    suffix: '.key',
    read: async (path) => {
      readPrivateKey(path);
      return 'valid';
    },
    refusal: [2],
    expect: cutRefused,
    count: 24,
  },
  {
    name: 'public key (verify --public-key)',
    file: paths.publicKey,
    suffix: '.key',
    read: async (path) => {
      readPublicKey(path);
      return 'valid';
    },
    refusal: [2],
    expect: cutRefused,
    count: 24,
  },
  {
    name: 'evidence bundle (verify BUNDLE)',
    file: paths.bundle,
    suffix: '.tar.gz',
    read: async (path) => ruleVerdict((await verifyEvidenceBundle(path, readPublicKey(paths.publicKey))).valid),
    refusal: [2],
    // A compressed file: a changed byte is either refused as damaged or caught by the manifest's hashes.
    expect: (mutant, original) => (mutant.bytes.equals(original) ? 'valid' : mutant.name.startsWith('truncated') ? 'refused' : undefined),
    count: 24,
  },
];

describe('seeded mutants of every file a flag names (seed 22)', () => {
  for (const [index, kind] of KINDS.entries()) {
    it(`${kind.name}: each is refused in one line naming it, or read and judged`, async () => {
      const original = readFileSync(kind.file);
      const counts = {valid: 0, invalid: 0, refused: 0};
      const made = mutants(original, 22 + index, kind.count, kind.planted === undefined ? {} : {text: {planted: kind.planted}});
      for (const [i, mutant] of made.entries()) {
        const path = join(dir, `mutant-${index}-${i}${kind.suffix}`);
        writeFileSync(path, mutant.bytes, {mode: 0o600});
        const outcome = await kind.read(path).then(
          (verdict) => verdict,
          (error: unknown) => error,
        );
        const what = `${kind.name}, ${mutant.name}: ${outcome instanceof Error ? outcome.stack : String(outcome)}`;
        if (outcome instanceof Error) {
          expect(outcome, what).toBeInstanceOf(DaemonEyeError);
          const error = outcome as DaemonEyeError;
          expect(kind.refusal, what).toContain(error.exitCode);
          expect(error.toOneLine(), what).toContain(path);
          expect(error.toOneLine(), what).not.toContain('\n');
          counts.refused++;
        } else {
          counts[outcome as Verdict]++;
        }
        const expected = kind.expect?.(mutant, original);
        if (expected !== undefined) expect(outcome instanceof Error ? 'refused' : outcome, what).toBe(expected);
      }
      expect(counts.valid + counts.invalid + counts.refused).toBe(kind.count);
      // Every kind sees damage it catches: a mutation test whose mutants all pass tests nothing.
      expect(counts.invalid + counts.refused, JSON.stringify(counts)).toBeGreaterThan(kind.count / 3);
    });
  }

  it('through the CLI: a damaged file of each kind gives one line naming it, its exit code, no stack trace', async () => {
    const damaged = (source: string, name: string, cut: number): string => {
      const path = join(dir, name);
      const bytes = readFileSync(source);
      writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length * cut)), {mode: 0o600});
      return path;
    };
    const rulesDir = join(dir, 'rules-damaged');
    mkdirSync(rulesDir);
    const ledger = damaged(paths.ledger, 'cut.ledger', 0.5);
    const cases: [string[], number, string][] = [
      [['audit', 'verify', '--ledger', ledger], 1, ledger],
      [['audit', 'show', '--ledger', ledger], 0, ledger],
      [['audit', 'verify', '--ledger', paths.ledger, '--checkpoint', damaged(paths.checkpoint, 'cut.json', 0.5)], 2, 'cut.json'],
      [['config', 'validate', damaged(paths.config, 'cut.yaml', 0.37)], 1, 'cut.yaml'],
      [['rules', 'validate', damaged(paths.rule, join('rules-damaged', 'cut-rule.yaml'), 0.3)], 1, 'cut-rule.yaml'],
      [['sign', paths.config, '--key', damaged(paths.privateKey, 'cut.key', 0.5)], 2, 'cut.key'],
      [['verify', paths.bundle, '--public-key', damaged(paths.publicKey, 'cut-public.key', 0.5)], 2, 'cut-public.key'],
      [['verify', damaged(paths.bundle, 'cut.tar.gz', 0.5), '--public-key', paths.publicKey], 2, 'cut.tar.gz'],
    ];
    // Side by side: each run is its own process, and the sample costs the suite one run's time, not eight.
    const results = await Promise.all(cases.map(([args]) => runCli([...args, '--no-audit'], {env, timeoutMs: 60_000})));
    for (const [index, [args, code, named]] of cases.entries()) {
      const result = results[index] as Awaited<ReturnType<typeof runCli>>;
      const what = `${args.join(' ')}: exit ${result.code}\n${result.stderr}`;
      expect(result.code, what).toBe(code);
      expect(result.stderr, what).not.toMatch(/\n\s+at |TypeError|RangeError|SyntaxError/);
      if (code !== 0) expect(result.stderr, what).toContain(named);
      if (code === 2) expect(result.stderr.trim().split('\n'), what).toHaveLength(1);
    }
  });
});
