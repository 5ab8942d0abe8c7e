// A signal and the output a command writes (docs/architecture.md, "Exit codes"): a run ends either by the signal with
// nothing published (its temp files and new directories removed, an old file kept as it was, no "wrote" line), or,
// when the signal is handled once its output is published, with its own status (0) and its "wrote" line — never both.
// The signal is sent by the process to itself at an exact point of the write (a preload wrapping openSync or
// renameSync of the output's temp file), so it lands there whatever the machine's speed. Before, `export --format
// parquet` printed "wrote" and exited 143, and `export --output`, `collect`, `sign`, `keys generate` and `rules enable` ended 0
// or 143 by chance (a signal read on a later turn of the event loop, or not at all before the exit).
import {type ChildProcess, spawn, spawnSync} from 'node:child_process';
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {completeProcessRow} from '../../src/models/process-fixture.js';
import {writeSnapshotFile} from '../../src/storage/snapshot-file.js';
import {BIN, isolatedEnv, removeDir, tempDir} from '../helpers/cli.js';
import {makeScan} from '../storage/helpers/snapshots.js';

const dir = tempDir('daemoneye-interrupt-write-');
afterAll(() => removeDir(dir));
const snapshot = join(dir, 'input.db');
const out = join(dir, 'out');

/** A preload that sends SIGTERM once, from inside `fs.<call>` on a temp file of an atomic write (`.tmp-…`). */
function preload(call: 'openSync' | 'renameSync' | 'linkSync', when: 'before' | 'after'): string {
  const path = join(dir, `signal-${call}-${when}.cjs`);
  writeFileSync(
    path,
    `const fs = require('node:fs');
const {syncBuiltinESMExports} = require('node:module');
const original = fs.${call};
let sent = false;
const send = (path) => {
  if (!sent && process.listenerCount('SIGTERM') > 0 && typeof path === 'string' && /\\/\\.tmp-[^/]*$/.test(path)) {
    sent = true;
    process.kill(process.pid, 'SIGTERM');
  }
};
fs.${call} = function (path, ...rest) {
  ${when === 'before' ? 'send(path);\n  return original.call(this, path, ...rest);' : 'const result = original.call(this, path, ...rest);\n  send(path);\n  return result;'}
};
syncBuiltinESMExports();
`,
  );
  return path;
}

beforeAll(async () => {
  const time = Date.UTC(2026, 5, 2);
  const scan = {...makeScan(time, 50), tables: ['processes']};
  const rows = Array.from({length: 50}, (_, i) =>
    completeProcessRow({pid: 2 + i, ppid: 1, name: 'bash', command_line: ['/usr/bin/bash', `--n=${i}`]}, {scanId: scan.id, now: time}),
  );
  await writeSnapshotFile(snapshot, scan, rows);
});

/** Run the CLI with `preloadPath`, audit on (its append gives the event loop turns, where a late signal was read). */
function run(args: readonly string[], preloadPath: string) {
  const env = isolatedEnv(join(dir, 'home'), {NODE_OPTIONS: `--require ${preloadPath}`});
  const result = spawnSync(process.execPath, [BIN, ...args], {env, encoding: 'utf8', timeout: 60_000});
  return {signal: result.signal, status: result.status, stderr: result.stderr};
}

/** Every path under `root`, relative, sorted (temp files and directories included). */
function tree(root: string): string[] {
  return existsSync(root) ? (readdirSync(root, {recursive: true}) as string[]).sort() : [];
}

describe('a signal during the write of the output: nothing published, the run ends by the signal', () => {
  const cases: readonly {name: string; args: string[]; output: string; old?: string}[] = [
    {
      name: 'export --output over an old file',
      args: ['export', '--input', snapshot, '--output', join(out, 'rows.ndjson')],
      output: 'rows.ndjson',
      old: 'old rows\n',
    },
    {
      name: 'export --format parquet into a new lake',
      args: ['export', '--input', snapshot, '--format', 'parquet', '--output', join(out, 'lake')],
      output: 'lake',
    },
    {name: 'scan --output over an old file', args: ['scan', '--no-hash', '--output', join(out, 'scan.db')], output: 'scan.db', old: 'old snapshot'},
    {name: 'scan --store', args: ['scan', '--no-hash', '--store', join(out, 'store')], output: 'store'},
  ];
  for (const {name, args, output, old} of cases) {
    it(name, () => {
      rmSync(out, {recursive: true, force: true});
      mkdirSync(out);
      if (old !== undefined) writeFileSync(join(out, output), old);
      const result = run(args, preload('openSync', 'before'));
      expect(result).toEqual({signal: 'SIGTERM', status: null, stderr: ''});
      if (old === undefined) {
        // The store directory is made before the work (it holds the lock); nothing is in it.
        expect(tree(out).filter((path) => !path.startsWith('store'))).toEqual([]);
        expect(tree(join(out, 'store')).filter((path) => !path.endsWith('.lock'))).toEqual([]);
      } else {
        expect(tree(out)).toEqual([output]);
        expect(readFileSync(join(out, output), 'utf8')).toBe(old);
      }
    });
  }
});

describe('a signal handled once the output is published: the run ends 0 and says what it wrote', () => {
  const keys = join(dir, 'keys');
  const config = join(dir, 'config.yaml');
  let sleeper: ChildProcess | undefined;
  afterAll(() => sleeper?.kill('SIGKILL'));
  const cases: readonly {
    name: string;
    args: () => string[];
    at: 'openSync' | 'renameSync' | 'linkSync';
    prepare?: () => void;
    wrote?: RegExp;
    files: () => string[];
    expected: string[];
  }[] = [
    {
      name: 'export --format parquet',
      args: () => ['export', '--input', snapshot, '--format', 'parquet', '--output', join(out, 'lake')],
      at: 'renameSync',
      wrote: /^daemoneye: wrote 2 Parquet file\(s\), 51 rows, under /m,
      files: () => tree(join(out, 'lake')).filter((path) => path.endsWith('.parquet')),
      expected: [
        'table=processes/date=2026-06-02/host_key=test-host/1780358400000000.parquet',
        'table=scans/date=2026-06-02/host_key=test-host/1780358400000000.parquet',
      ],
    },
    {
      name: 'export --output',
      args: () => ['export', '--input', snapshot, '--output', join(out, 'rows.ndjson')],
      at: 'renameSync',
      files: () => (readFileSync(join(out, 'rows.ndjson'), 'utf8').trim().split('\n').length === 50 ? ['rows.ndjson'] : []),
      expected: ['rows.ndjson'],
    },
    {
      name: 'collect --output DIR (the case directory renamed into place)',
      args: () => ['collect', '--pid', String(sleeper?.pid), '--output', join(out, 'case')],
      at: 'renameSync',
      prepare: () => {
        sleeper ??= spawn('sleep', ['1000'], {stdio: 'ignore'});
      },
      wrote: /^daemoneye: collected \d+ files of 1 process into /m,
      files: () => tree(join(out, 'case')).filter((path) => path === 'manifest.json'),
      expected: ['manifest.json'],
    },
    {
      // The rows on stdout follow the file: a signal once the file is in place let the run end 143 with the new
      // file there and its rows cut (found by a fresh user's trial); 143 must mean the old file is untouched.
      name: 'scan --output (its rows printed after the file)',
      args: () => ['scan', '--no-hash', '--output', join(out, 'scan.db')],
      at: 'renameSync',
      files: () => (readFileSync(join(out, 'scan.db')).subarray(0, 15).toString('latin1') === 'SQLite format 3' ? ['scan.db'] : []),
      expected: ['scan.db'],
    },
    {
      name: 'scan --store (the file linked into the store under a new name)',
      args: () => ['scan', '--no-hash', '--store', join(out, 'store')],
      at: 'linkSync',
      files: () => (tree(join(out, 'store')).filter((path) => path.endsWith('.db')).length === 1 ? ['one snapshot'] : []),
      expected: ['one snapshot'],
    },
    {
      name: 'keys generate (written in one stretch)',
      args: () => ['keys', 'generate', '--dir', keys],
      at: 'openSync',
      prepare: () => rmSync(keys, {recursive: true, force: true}),
      wrote: /^daemoneye: wrote .*private\.key \(mode 0600\) and /m,
      files: () => tree(keys),
      expected: ['private.key', 'public.key'],
    },
    {
      name: 'sign (written in one stretch)',
      args: () => ['sign', snapshot, '--key', join(keys, 'private.key'), '--output', join(out, 'input.sig')],
      at: 'openSync',
      prepare: () => {
        if (!existsSync(join(keys, 'private.key')))
          spawnSync(process.execPath, [BIN, 'keys', 'generate', '--dir', keys], {env: isolatedEnv(join(dir, 'home'))});
      },
      files: () => tree(out),
      expected: ['input.sig'],
    },
    {
      name: 'rules enable (written in one stretch)',
      args: () => ['rules', 'enable', 'tunnel-or-port-forward', '--config', config],
      at: 'openSync',
      prepare: () => writeFileSync(config, 'app:\n  log_level: info\n'),
      files: () => (readFileSync(config, 'utf8').includes('tunnel-or-port-forward') ? ['config.yaml'] : []),
      expected: ['config.yaml'],
    },
  ];
  for (const {name, args, at, prepare, wrote, files, expected} of cases) {
    it(name, () => {
      rmSync(out, {recursive: true, force: true});
      mkdirSync(out);
      prepare?.();
      const result = run(args(), preload(at, at === 'openSync' ? 'before' : 'after'));
      expect({signal: result.signal, status: result.status}, result.stderr).toEqual({signal: null, status: 0});
      if (wrote !== undefined) expect(result.stderr).toMatch(wrote);
      expect(files()).toEqual(expected);
    });
  }
});
