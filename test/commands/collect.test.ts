// End to end: evidence of real processes collected, signed, recorded in the ledger and verified later; a
// deleted binary copied through /proc/PID/exe and checked by hash against the original; tampered
// bundles (a changed, a missing and an added file) refused with each file named.
import {execFileSync} from 'node:child_process';
import {copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync} from 'node:fs';
import {createHash} from 'node:crypto';
import {createServer} from 'node:net';
import type {AddressInfo} from 'node:net';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {LiveProcesses, SLEEP} from '../collect/live-processes.js';
import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';

const dir = tempDir();
const keys = join(dir, 'keys');
const env = isolatedEnv(dir, {DAEMONEYE_CRYPTO__PRIVATE_KEY_PATH: join(keys, 'private.key'), DAEMONEYE_CRYPTO__PUBLIC_KEY_PATH: join(keys, 'public.key')});
const live = new LiveProcesses();
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
let deletedPid = 0;

/** A system library this test process maps (libc), in a package-managed library directory. */
function someSystemLibrary(): string {
  const paths = readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .map((line) => line.slice(line.indexOf('/')))
    .filter((path) => /^\/(usr\/)?lib[^/]*\/.*\/libc\.so(\.\d+)*$/.test(path));
  return paths[0] as string;
}
let secretPid = 0;

beforeAll(async () => {
  expect((await runCli(['keys', 'generate', '--dir', keys], {env})).code).toBe(0);
  const dropped = join(dir, 'dropper');
  copyFileSync(SLEEP, dropped);
  deletedPid = live.spawn(dropped, ['621']).pid!;
  await new Promise((resolve) => setTimeout(resolve, 100));
  unlinkSync(dropped);
  secretPid = live.spawn(SLEEP, ['622'], {
    env: {PATH: '/usr/bin:/bin', API_TOKEN: 'hunter2-token', DATABASE_URL: 'postgres://app:s3cretpw@db/x', HISTFILE: '/dev/null'},
  }).pid!;
});

afterAll(() => {
  live.killAll();
  removeDir(dir);
});

describe('daemoneye collect', () => {
  it("a binary deleted from disk is copied through /proc/PID/exe; its hash is the original file's", async () => {
    const out = join(dir, 'case-deleted');
    const result = await runCli(['collect', '--pid', String(deletedPid), '--output', out], {env});
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as {signed: boolean; manifest_sha256: string; pids: number[]};
    expect(summary).toMatchObject({signed: true, pids: [deletedPid]});
    const copied = readFileSync(join(out, `proc-${deletedPid}`, 'exe'));
    expect(sha256(copied)).toBe(sha256(readFileSync(SLEEP)));
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as {
      files: {path: string; sha256: string; blake3: string}[];
      processes: {exe_link: string; consistent: boolean}[];
      tool_version: string;
      command: string[];
      host: {hostname: string};
    };
    expect(manifest.processes[0]?.exe_link).toBe(`${join(dir, 'dropper')} (deleted)`);
    expect(manifest.processes[0]?.consistent).toBe(true);
    expect(manifest.files.find((f) => f.path === `proc-${deletedPid}/exe`)?.sha256).toBe(sha256(readFileSync(SLEEP)));
    expect(manifest.files.find((f) => f.path === `proc-${deletedPid}/exe`)?.blake3).toBe(
      execFileSync('b3sum', ['--no-names', SLEEP], {encoding: 'utf8'}).trim(),
    );
    expect(manifest.command).toEqual(['daemoneye', 'collect', '--pid', String(deletedPid), '--output', out]);
    expect(readdirSync(join(out, `proc-${deletedPid}`)).sort()).toEqual([
      'cgroup',
      'cmdline.json',
      'environ.json',
      'exe',
      'fds.json',
      'mapped.json',
      'maps',
      'mountinfo',
      'sockets.json',
      'stat',
      'status',
    ]);
    // The deleted executable is the case's `exe`, not copied a second time from its mapping.
    expect(JSON.parse(readFileSync(join(out, `proc-${deletedPid}`, 'mapped.json'), 'utf8'))).toEqual([]);
    expect(statSync(out).mode & 0o777).toBe(0o700);
    // Verified with the key, and the collection is in the audit ledger with the manifest's digest.
    const verified = await runCli(['verify', out], {env});
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({valid: true, signature: 'valid', changed: [], missing: [], added: []});
    const ledger = await runCli(['audit', 'show', '--action', 'evidence_collection', '--format', 'ndjson'], {env});
    expect(ledger.stdout).toContain(summary.manifest_sha256);
    // The manifest signature is an ordinary detached signature: OpenSSL-compatible `verify -s` checks it too.
    const sig = join(dir, 'manifest.sig');
    copyFileSync(join(out, 'manifest.sig'), sig);
    expect((await runCli(['verify', join(out, 'manifest.json'), '--signature', sig], {env})).code).toBe(0);
  });

  it('secrets in the environment are redacted; nothing of them reaches the bundle', async () => {
    const out = join(dir, 'case-env.tar.gz');
    expect((await runCli(['collect', '--pid', String(secretPid), '--output', out], {env})).code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const unpacked = join(dir, 'unpacked-env');
    mkdirSync(unpacked);
    execFileSync('tar', ['xzf', out, '-C', unpacked]);
    const environ = JSON.parse(readFileSync(join(unpacked, 'case-env', `proc-${secretPid}`, 'environ.json'), 'utf8')) as Record<string, string>;
    expect(environ).toMatchObject({API_TOKEN: '[REDACTED]', DATABASE_URL: 'postgres://app:[REDACTED]@db/x', HISTFILE: '/dev/null'});
    expect(execFileSync('sh', ['-c', `grep -r -l -e hunter2 -e s3cretpw ${unpacked} || true`], {encoding: 'utf8'})).toBe('');
  });

  it('--alerts FILE collects the processes the alerts name', async () => {
    const alerts = join(dir, 'alerts.ndjson');
    writeFileSync(alerts, `${JSON.stringify({rule_id: 'x', affected_processes: [deletedPid, secretPid]})}\n`);
    const result = await runCli(['collect', '--alerts', alerts, '--output', join(dir, 'case-alerts')], {env});
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as {pids: number[]}).pids).toEqual([deletedPid, secretPid].sort((a, b) => a - b));
  });

  it('--rule ID runs the rule now and collects what it flags', async () => {
    const result = await runCli(['collect', '--rule', 'deleted-executable-suspicious-dir', '--output', join(dir, 'case-rule')], {env});
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as {pids: number[]}).pids).toContain(deletedPid);
  });

  it('the library an alert is about is in the case (deleted from disk too), and each socket fd names its peer', async () => {
    // A process that maps a library from a scratch directory, deletes it, and connects to a listener here.
    const server = createServer((socket) => socket.on('error', () => undefined));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const libraryDir = join(dir, 'stage');
    mkdirSync(libraryDir);
    const library = join(libraryDir, 'libevil.so');
    copyFileSync(someSystemLibrary(), library);
    const originalSha = sha256(readFileSync(library));
    const script = `import ctypes,os,socket,sys,time
ctypes.CDLL(sys.argv[1]); os.unlink(sys.argv[1])
s=socket.create_connection(("127.0.0.1", int(sys.argv[2])))
print(s.fileno(),flush=True)
time.sleep(3600)`;
    const child = live.spawn('python3', ['-c', script, library, String(port)], {stdio: ['ignore', 'pipe', 'inherit']});
    const fd = Number(await new Promise<string>((resolve) => child.stdout?.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()))));
    const pid = child.pid as number;
    try {
      // The alert names a system library the process maps, too: copied because the alert names it.
      const named = someSystemLibrary();
      const alerts = join(dir, 'library-alert.ndjson');
      const alert = {rule_id: 'temp-dir-library', affected_processes: [pid], alert_data: {processes: [{pid, library_path: named}]}};
      writeFileSync(alerts, `${JSON.stringify(alert)}\n`);
      const out = join(dir, 'case-library');
      const result = await runCli(['collect', '--alerts', alerts, '--output', out], {env});
      expect(result.code, result.stderr).toBe(0);
      const mapped = JSON.parse(readFileSync(join(out, `proc-${pid}`, 'mapped.json'), 'utf8')) as {
        path: string;
        deleted: boolean;
        reason: string;
        copy: string | null;
      }[];
      const evil = mapped.find((entry) => entry.path.startsWith(library));
      expect(evil).toMatchObject({deleted: true, reason: 'deleted', copy: expect.stringMatching(new RegExp(`^proc-${pid}/mapped/`))});
      expect(sha256(readFileSync(join(out, evil?.copy as string)))).toBe(originalSha);
      const system = mapped.find((entry) => entry.path === named);
      expect(system).toMatchObject({deleted: false, reason: 'named by an alert'});
      expect(sha256(readFileSync(join(out, system?.copy as string)))).toBe(sha256(readFileSync(named)));
      // Only what matters is copied: the system libraries nobody named stay out.
      expect(mapped.every((entry) => entry.reason !== 'outside the system library directories' || !entry.path.startsWith('/usr/lib/'))).toBe(true);
      const sockets = JSON.parse(readFileSync(join(out, `proc-${pid}`, 'sockets.json'), 'utf8')) as Record<string, Record<string, unknown>>;
      expect(sockets[String(fd)]).toMatchObject({family: 'AF_INET', remote_address: '127.0.0.1', remote_port: port, state: 'ESTABLISHED'});
      // Every copied file is in the signed manifest and verifies.
      const verified = await runCli(['verify', out], {env});
      expect(verified.code, verified.stdout).toBe(0);
    } finally {
      child.kill('SIGKILL');
      server.close();
    }
  });

  it('refuses to write over an existing output (exit 2, untouched), and caps sizes', async () => {
    const existing = join(dir, 'exists.tar.gz');
    writeFileSync(existing, 'keep me');
    const refused = await runCli(['collect', '--pid', String(secretPid), '--output', existing], {env});
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/already exists; evidence is never written over/);
    expect(readFileSync(existing, 'utf8')).toBe('keep me');
    expect(readdirSync(dir).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    const capped = await runCli(['collect', '--pid', String(secretPid), '--output', join(dir, 'capped'), '--max-file-bytes', '4096'], {env});
    expect(capped.code).toBe(0);
    expect((JSON.parse(capped.stdout) as {skipped: {path: string}[]}).skipped.map((s) => s.path)).toContain(`proc-${secretPid}/exe`);
    expect(existsSync(join(dir, 'capped', `proc-${secretPid}`, 'exe'))).toBe(false);
  });
});

describe('daemoneye verify BUNDLE: a tampered bundle is refused, naming each file', () => {
  it('a case directory: changed, missing and added files', async () => {
    const out = join(dir, 'case-tamper');
    expect((await runCli(['collect', '--pid', String(secretPid), '--output', out], {env})).code).toBe(0);
    const proc = join(out, `proc-${secretPid}`);
    writeFileSync(join(proc, 'status'), 'Name:\tinnocent\n');
    unlinkSync(join(proc, 'maps'));
    writeFileSync(join(proc, 'planted'), 'x');
    const result = await runCli(['verify', out], {env});
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as {valid: boolean; changed: string[]; missing: string[]; added: string[]; signature: string};
    expect(report).toMatchObject({
      valid: false,
      signature: 'valid',
      changed: [`proc-${secretPid}/status`],
      missing: [`proc-${secretPid}/maps`],
      added: [`proc-${secretPid}/planted`],
    });
    expect(result.stderr).toContain(`changed: proc-${secretPid}/status`);
    expect(result.stderr).toContain(`missing: proc-${secretPid}/maps`);
    expect(result.stderr).toContain(`added: proc-${secretPid}/planted`);
  });

  it('a tar.gz repacked with a changed executable, and a manifest edited to match it (signature then fails)', async () => {
    const out = join(dir, 'case-tar.tar.gz');
    expect((await runCli(['collect', '--pid', String(deletedPid), '--output', out], {env})).code).toBe(0);
    expect((await runCli(['verify', out], {env})).code).toBe(0);
    const work = join(dir, 'repack');
    mkdirSync(work);
    execFileSync('tar', ['xzf', out, '-C', work]);
    const exe = join(work, 'case-tar', `proc-${deletedPid}`, 'exe');
    const bytes = readFileSync(exe);
    bytes[100] = (bytes[100] ?? 0) ^ 0xff;
    writeFileSync(exe, bytes);
    const tampered = join(dir, 'tampered.tar.gz');
    execFileSync('tar', ['czf', tampered, '-C', work, 'case-tar']);
    const result = await runCli(['verify', tampered], {env});
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({changed: [`proc-${deletedPid}/exe`], signature: 'valid'});
    // Edit the manifest to the new digest: the hashes match, the signature does not.
    const manifestPath = join(work, 'case-tar', 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {files: {path: string; sha256: string; blake3: string}[]};
    const entry = manifest.files.find((f) => f.path === `proc-${deletedPid}/exe`)!;
    entry.sha256 = sha256(bytes);
    entry.blake3 = execFileSync('b3sum', ['--no-names', exe], {encoding: 'utf8'}).trim();
    writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    rmSync(tampered);
    execFileSync('tar', ['czf', tampered, '-C', work, 'case-tar']);
    const forged = await runCli(['verify', tampered], {env});
    expect(forged.code).toBe(1);
    expect(JSON.parse(forged.stdout)).toMatchObject({signature: 'invalid', changed: []});
  });

  it('an unsigned bundle (no key) is collected with a warning and not accepted as valid', async () => {
    const unsignedEnv = {...env, DAEMONEYE_CRYPTO__PRIVATE_KEY_PATH: join(dir, 'no-such-key')};
    const out = join(dir, 'case-unsigned');
    const collected = await runCli(['collect', '--pid', String(secretPid), '--output', out], {env: unsignedEnv});
    expect(collected.code).toBe(0);
    expect(collected.stderr).toContain('the manifest is not signed');
    const result = await runCli(['verify', out], {env});
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({signature: 'absent', changed: [], missing: [], added: []});
  });

  it('not a bundle: exit 2 with one line naming the file', async () => {
    const junk = join(dir, 'junk.tar.gz');
    writeFileSync(junk, 'not a tarball');
    const result = await runCli(['verify', junk], {env});
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(junk);
    expect(parseNdjson(result.stdout)).toEqual([]);
  });
});
