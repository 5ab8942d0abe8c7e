// The single executable as a responder uses it: built once for this file (scripts/build-binary.ts, then
// scripts/release.ts), the one file copied into an empty directory and run under an empty environment whose
// PATH holds no `node`, against processes this test spawns and a snapshot file both builds read. Outputs must
// equal the npm install's (bin/run.js) on the same snapshot; the binary must write nothing on its own (its
// directory and HOME stay as they were); every command of the manifest runs from it; the README's responder
// recipe runs as written (build machine: key, signed release; host: OpenSSL, sha256sum, detect).
import {execFileSync, spawn, spawnSync, type ChildProcess} from 'node:child_process';
import {copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs';
import {dirname, join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {TOOL_VERSION} from '../../src/version.js';
import {isolatedEnv, parseNdjson, removeDir, ROOT, runCli, tempDir, type CliResult} from '../helpers/cli.js';

const BUILD_TIMEOUT_MS = 600_000;
/** One test's runs of both builds; generous: the machines running the suite may be loaded. */
const RUNS_TIMEOUT_MS = 300_000;
const dir = tempDir('daemoneye-sea-');
const runDir = join(dir, 'run');
const home = join(dir, 'home');
const out = join(dir, 'out');
const pathDir = join(dir, 'path');
const binary = join(runDir, 'daemoneye-linux-x64');
const children: ChildProcess[] = [];
let suspect: ChildProcess;

/** A PATH like /usr/bin:/bin without node, npm, npx or corepack: proof that the binary needs no Node.js. */
function pathWithoutNode(): string {
  mkdirSync(pathDir);
  for (const name of readdirSync('/usr/bin')) {
    if (/^(node|nodejs|npm|npx|corepack)$/.test(name)) continue;
    symlinkSync(join('/usr/bin', name), join(pathDir, name));
  }
  return pathDir;
}

/** The empty environment of the responder: PATH without node, HOME and the state directory in a fresh dir. */
function responderEnv(): NodeJS.ProcessEnv {
  return {
    PATH: pathDir,
    HOME: home,
    STATE_DIRECTORY: join(home, 'state'),
    XDG_STATE_HOME: join(home, '.local', 'state'),
    XDG_CONFIG_HOME: join(home, '.config'),
  };
}

function runBinary(args: readonly string[], env: NodeJS.ProcessEnv = responderEnv()): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, {cwd: runDir, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000});
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({code: code ?? -1, stdout, stderr}));
  });
}

const npmEnv = (): NodeJS.ProcessEnv => isolatedEnv(join(dir, 'npm-home'), {DAEMONEYE_AUDIT__ENABLED: 'false', DAEMONEYE_COLLECTION__HASH_CACHE: 'false'});
const runNpm = (args: readonly string[]): Promise<CliResult> => runCli(args, {env: npmEnv(), cwd: runDir, timeoutMs: 120_000});

/** Files under `path`, relative, sorted (a missing path: none). */
function tree(path: string): string[] {
  if (!existsSync(path)) return [];
  return readdirSync(path, {recursive: true, encoding: 'utf8'}).sort();
}

/** Alerts without what differs from run to run (ids, times). */
function stableAlerts(stdout: string): unknown[] {
  return parseNdjson(stdout)
    .map(({id: _id, alert_time: _time, rule_execution_time_ms: _ms, ...rest}) => rest)
    .sort((a, b) => String(a.dedupe_key).localeCompare(String(b.dedupe_key)));
}

beforeAll(async () => {
  mkdirSync(runDir);
  mkdirSync(home);
  mkdirSync(out);
  pathWithoutNode();
  const tsx = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  execFileSync(process.execPath, [tsx, join(ROOT, 'scripts', 'build-binary.ts'), '--out', join(dir, 'build')], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  copyFileSync(join(dir, 'build', 'daemoneye-linux-x64'), binary);
  // A suspect: a program run from a directory under /tmp (temp-dir-execution).
  const hidden = join(dir, 'drop', '.cache');
  mkdirSync(hidden, {recursive: true});
  copyFileSync('/usr/bin/sleep', join(hidden, 'beacon'));
  execFileSync('chmod', ['755', join(hidden, 'beacon')]);
  suspect = spawn(join(hidden, 'beacon'), ['600'], {stdio: 'ignore'});
  children.push(suspect);
}, BUILD_TIMEOUT_MS);

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  removeDir(dir);
});

describe('the single executable, alone in an empty directory with no node on PATH', () => {
  it(
    'finds no node on its PATH and reports the package version',
    async () => {
      expect(() => execFileSync('/bin/sh', ['-c', 'command -v node'], {env: responderEnv()})).toThrow();
      const result = await runBinary(['--version']);
      expect(result).toMatchObject({code: 0, stderr: ''});
      expect(result.stdout).toMatch(new RegExp(`^daemoneye/${TOOL_VERSION.replaceAll('.', '\\.')} linux-x64 node-v20\\.`));
    },
    RUNS_TIMEOUT_MS,
  );

  it(
    'scans the spawned suspect live and queries it (live detect: the README recipe below)',
    async () => {
      const pid = String(suspect.pid);
      const scan = await runBinary(['scan', '--pid', pid, '--format', 'ndjson']);
      expect(scan.code).toBe(0);
      expect(parseNdjson(scan.stdout)).toEqual([expect.objectContaining({pid: suspect.pid, name: 'beacon'})]);
      const query = await runBinary(['query', `select pid, name from processes where pid = ${pid}`, '--format', 'ndjson']);
      expect(query.code, query.stderr).toBe(0);
      expect(parseNdjson(query.stdout)).toEqual([expect.objectContaining({pid: suspect.pid, name: 'beacon'})]);
    },
    RUNS_TIMEOUT_MS,
  );

  it(
    'gives the npm install’s outputs on the same snapshot file (detect, query, export, diff, tables, rules); both take every built-in rule from the build-time index',
    async () => {
      const snapshot = join(out, 'snapshot.db');
      expect((await runBinary(['scan', '--output', snapshot, '--format', 'ndjson'])).code).toBe(0);
      const same = async (args: string[], normalise: (stdout: string) => unknown = (s) => s): Promise<void> => {
        const [fromBinary, fromNpm] = await Promise.all([runBinary(args), runNpm(args)]);
        expect(fromBinary.code, `${args.join(' ')}: ${fromBinary.stderr}`).toBe(fromNpm.code);
        expect(normalise(fromBinary.stdout), args.join(' ')).toEqual(normalise(fromNpm.stdout));
      };
      // detect, with its debug log: both builds take every built-in rule from the build-time index, re-validating none.
      const detect = ['detect', '--input', snapshot, '--format', 'ndjson', '--log-level', 'debug', '--log-format', 'json'];
      const [detectBinary, detectNpm] = await Promise.all([runBinary(detect), runNpm(detect)]);
      expect([detectBinary.code, detectNpm.code], detectBinary.stderr).toEqual([0, 0]);
      expect(stableAlerts(detectBinary.stdout)).toEqual(stableAlerts(detectNpm.stdout));
      for (const {stderr} of [detectBinary, detectNpm]) {
        const loaded = stderr
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as {message: string; rules?: number; from_build_index?: number})
          .find((entry) => entry.message === 'rules loaded');
        expect(loaded?.rules).toBeGreaterThan(20);
        expect(loaded?.from_build_index).toBe(loaded?.rules);
      }
      await same(['query', '--input', snapshot, 'select pid, ppid, name, executable_path, cmdline from processes order by pid', '--format', 'ndjson']);
      await same(['export', '--input', snapshot, '--table', 'processes', '--format', 'csv']);
      await same(['diff', snapshot, snapshot, '--format', 'json']);
      await same(['tables', '--format', 'json']);
      await same(['rules', 'list', '--format', 'ndjson'], (s) => parseNdjson(s).map((r) => [r.id, r.enabled, r.severity]));
      await same(['rules', 'validate', '--format', 'ndjson'], (s) => parseNdjson(s).map((r) => [r.id, r.valid]));
      await same(['rules', 'test', 'temp-dir-execution', 'reverse-shell-command-line', '--format', 'ndjson'], (s) =>
        parseNdjson(s).map((r) => [r.rule_id, r.case, r.passed]),
      );
    },
    RUNS_TIMEOUT_MS,
  );

  it(
    'runs every command of the manifest (its help, from the lazily loaded command) as the npm install does',
    async () => {
      const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>};
      const ids = [...Object.keys(manifest.commands), 'help', 'autocomplete'];
      for (let i = 0; i < ids.length; i += 4) {
        await Promise.all(
          ids.slice(i, i + 4).map(async (id) => {
            const args = [...id.split(':'), '--help'];
            const [fromBinary, fromNpm] = await Promise.all([runBinary(args), runNpm(args)]);
            expect(fromBinary.code, id).toBe(0);
            expect(fromBinary.stdout, id).toBe(fromNpm.stdout);
          }),
        );
      }
      const script = await runBinary(['autocomplete', 'script', 'bash']);
      expect(script.code).toBe(0);
      expect(script.stdout).toContain('daemoneye');
    },
    RUNS_TIMEOUT_MS,
  );

  it(
    'signs, verifies, collects evidence and keeps a ledger only when asked, writing only where told',
    async () => {
      const keys = join(out, 'keys');
      expect((await runBinary(['keys', 'generate', '--dir', keys, '--format', 'json'])).code).toBe(0);
      const file = join(out, 'snapshot.db');
      expect((await runBinary(['sign', file, '--key', join(keys, 'private.key'), '--format', 'json'])).code).toBe(0);
      const verify = await runBinary(['verify', file, '-s', `${file}.sig`, '--public-key', join(keys, 'public.key'), '--format', 'json']);
      expect(verify.code, verify.stderr).toBe(0);
      expect(JSON.parse(verify.stdout)).toMatchObject({valid: true});
      const bundle = join(out, 'case.tar.gz');
      const collect = await runBinary(['collect', '--pid', String(suspect.pid), '-o', bundle, '--key', join(keys, 'private.key')]);
      expect(collect.code, collect.stderr).toBe(0);
      const bundleCheck = await runBinary(['verify', bundle, '--public-key', join(keys, 'public.key'), '--format', 'json']);
      expect(bundleCheck.code, bundleCheck.stderr).toBe(0);
      // The ledger is off by default in the binary; asked for, it is written, and verifies.
      const ledger = join(out, 'audit.ledger');
      const withLedger = {...responderEnv(), DAEMONEYE_AUDIT__ENABLED: 'true', DAEMONEYE_AUDIT__LEDGER_PATH: ledger};
      expect((await runBinary(['scan', '--pid', '1', '--format', 'ndjson'], withLedger)).code).toBe(0);
      const audit = await runBinary(['audit', 'verify', '--format', 'json'], withLedger);
      expect(audit.code, audit.stderr).toBe(0);
      expect(existsSync(ledger)).toBe(true);
    },
    RUNS_TIMEOUT_MS,
  );

  it(
    'refuses bad input in one line with the npm install’s exit code',
    async () => {
      for (const args of [['detect', '--input', join(out, 'missing.db')], ['scna'], ['query', 'delete from processes']]) {
        const [fromBinary, fromNpm] = await Promise.all([runBinary(args), runNpm(args)]);
        expect(fromBinary.code, args.join(' ')).toBe(fromNpm.code);
        expect(fromBinary.code).toBe(2);
        expect(fromBinary.stderr.trim().split('\n')).toHaveLength(1);
        expect(fromBinary.stderr).toBe(fromNpm.stderr);
      }
    },
    RUNS_TIMEOUT_MS,
  );

  it(
    'wrote nothing on its own: its directory holds only itself, HOME and the state directory nothing',
    () => {
      expect(tree(runDir)).toEqual(['daemoneye-linux-x64']);
      expect(tree(home)).toEqual([]);
    },
    RUNS_TIMEOUT_MS,
  );
});

/** The sh blocks of a page's section headed `heading`. */
function shellBlocks(page: string, heading: string): string[] {
  const text = readFileSync(join(ROOT, page), 'utf8');
  const section = text.slice(text.indexOf(heading) + heading.length);
  const end = section.indexOf('\n## ');
  return [...section.slice(0, end === -1 ? undefined : end).matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1] as string);
}

/** The README's responder recipe: its two sh blocks, the build machine's and the host's (docs/single-executable.md repeats them). */
function readmeRecipe(): {build: string; host: string} {
  const blocks = shellBlocks('README.md', '## Single executable for incident responders');
  expect(blocks).toHaveLength(2);
  expect(shellBlocks('docs/single-executable.md', '## Responder recipe')).toEqual(blocks);
  return {build: blocks[0] as string, host: blocks[1] as string};
}

describe('the README’s responder recipe, run as written', () => {
  it(
    'builds and signs the release on a build machine; on a host without node the tarball verifies and the binary detects the suspect',
    async () => {
      const recipe = readmeRecipe();
      // The build machine: a checkout (this one, by symlinks) with node and npm. `npm ci` and `npm run build` were
      // done by the suite's setup, and `npm run release` is `npm run build && tsx scripts/release.ts`: the npm
      // stand-in runs that script on the binary built above instead of building a second one.
      const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {scripts: Record<string, string>};
      expect(pkg.scripts.release).toBe('npm run build && tsx scripts/release.ts');
      const checkout = join(dir, 'checkout');
      const tools = join(dir, 'build-tools');
      mkdirSync(checkout);
      mkdirSync(tools);
      for (const entry of ['bin', 'dist', 'node_modules', 'package.json', 'rules', 'scripts']) symlinkSync(join(ROOT, entry), join(checkout, entry));
      const tsx = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
      writeFileSync(
        join(tools, 'npm'),
        `#!/bin/sh
case "$*" in
  ci|'run build') exit 0 ;;
  'run release -- '*) shift 3; exec "${process.execPath}" "${tsx}" "${join(ROOT, 'scripts', 'release.ts')}" "$@" --out "$PWD/release" --binary "${binary}" ;;
  *) echo "npm stand-in: not part of the recipe: $*" >&2; exit 97 ;;
esac
`,
        {mode: 0o755},
      );
      const buildEnv = isolatedEnv(join(dir, 'build-home'), {PATH: `${tools}:${dirname(process.execPath)}:/usr/bin:/bin`});
      const built = spawnSync('/bin/sh', ['-e', '-c', recipe.build], {cwd: checkout, env: buildEnv, encoding: 'utf8', timeout: 120_000});
      expect(built.status, built.stderr).toBe(0);
      const tarball = `daemoneye-${TOOL_VERSION}-linux-x64.tar.gz`;
      expect(recipe.build + recipe.host).toContain(tarball);

      // The host: the tarball and the public key carried into an empty directory; no node on the PATH.
      const host = join(dir, 'host');
      mkdirSync(host);
      copyFileSync(join(checkout, 'release', tarball), join(host, tarball));
      copyFileSync(join(checkout, 'release-key', 'public.key'), join(host, 'public.key'));
      const ran = spawnSync('/bin/sh', ['-e', '-c', recipe.host], {cwd: host, env: responderEnv(), encoding: 'utf8', timeout: 120_000});
      expect(ran.status, ran.stderr).toBe(0);
      expect(ran.stdout).toContain('Signature Verified Successfully');
      expect(ran.stdout).toContain('daemoneye-linux-x64: OK');
      // detect's stdout is a pipe here, so NDJSON alerts follow the two checks' lines.
      const alerts = ran.stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as {rule_id: string; affected_processes: number[]});
      expect(alerts.filter((a) => a.affected_processes.includes(suspect.pid as number)).map((a) => a.rule_id)).toContain('temp-dir-execution');
      // Only what tar unpacked: the binary wrote nothing beside itself.
      expect(tree(host)).toEqual(['SHA256SUMS', 'SHA256SUMS.sig', 'daemoneye-linux-x64', 'public.key', tarball].sort());

      // The binary's own verify agrees; a tampered SHA256SUMS fails the signature, a tampered binary the checksum.
      const verifySums = (sums: string) =>
        runBinary(['verify', sums, '-s', join(host, 'SHA256SUMS.sig'), '--public-key', join(host, 'public.key'), '--format', 'json']);
      const verify = await verifySums(join(host, 'SHA256SUMS'));
      expect(JSON.parse(verify.stdout)).toMatchObject({valid: true});
      cpSync(join(host, 'SHA256SUMS'), join(out, 'SHA256SUMS.tampered'));
      execFileSync('/bin/sh', ['-c', `printf x >> "${join(out, 'SHA256SUMS.tampered')}"`]);
      const tampered = await verifySums(join(out, 'SHA256SUMS.tampered'));
      expect(tampered.code).not.toBe(0);
      // A tarball whose binary was swapped, its signed SHA256SUMS kept: the recipe stops before running it.
      const forged = join(dir, 'forged');
      mkdirSync(forged);
      for (const file of ['SHA256SUMS', 'SHA256SUMS.sig', 'daemoneye-linux-x64']) copyFileSync(join(host, file), join(forged, file));
      execFileSync('/bin/sh', ['-c', 'printf x >> daemoneye-linux-x64 && tar -cf - SHA256SUMS SHA256SUMS.sig daemoneye-linux-x64 | gzip -1 > forged.tar.gz'], {
        cwd: forged,
      });
      const victim = join(dir, 'victim');
      mkdirSync(victim);
      copyFileSync(join(forged, 'forged.tar.gz'), join(victim, tarball));
      copyFileSync(join(host, 'public.key'), join(victim, 'public.key'));
      const rerun = spawnSync('/bin/sh', ['-e', '-c', recipe.host], {cwd: victim, env: responderEnv(), encoding: 'utf8', timeout: 120_000});
      expect(rerun.status).not.toBe(0);
      expect(rerun.stdout).toContain('Signature Verified Successfully');
      expect(rerun.stdout).toContain('daemoneye-linux-x64: FAILED');
    },
    RUNS_TIMEOUT_MS,
  );
});
