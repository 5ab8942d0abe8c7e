// Runs the built CLI (bin/run.js) as a user would: a real process, real stdout/stderr, real exit code.
import {spawn} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'run.js');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Extra environment; HOME and the XDG dirs default to a private temp dir. */
  readonly env?: NodeJS.ProcessEnv;
  readonly input?: string;
  readonly cwd?: string;
  /** Run as this uid/gid through setpriv (tests of permission errors; CI runs as root). */
  readonly asUser?: number;
  readonly timeoutMs?: number;
}

/** A temp dir removed after the test file (call in beforeAll / afterAll or rely on OS cleanup). */
export function tempDir(prefix = 'daemoneye-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, {recursive: true, force: true});
}

/** An isolated environment: no user config, state in `home`. */
export function isolatedEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('DAEMONEYE_') && key !== 'NO_COLOR' && key !== 'DEBUG') env[key] = value;
  }
  return {
    ...env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_STATE_HOME: join(home, '.local', 'state'),
    // As root the default state directory is /var/lib/daemoneye: this keeps a test's ledger and caches in `home`
    // while a state_dir in a test's configuration still wins (it is only the default). runCli drops it for
    // an unprivileged run, which then uses its own $XDG_STATE_HOME/daemoneye, as another user would.
    STATE_DIRECTORY: join(home, 'state'),
    ...extra,
  };
}

export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const command = options.asUser === undefined ? process.execPath : 'setpriv';
  const prefix = options.asUser === undefined ? [] : [`--reuid=${options.asUser}`, `--regid=${options.asUser}`, '--clear-groups', process.execPath];
  return new Promise((resolvePromise, reject) => {
    const env = {...(options.env ?? process.env)};
    if (options.asUser !== undefined) delete env.STATE_DIRECTORY;
    const child = spawn(command, [...prefix, BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({code: code ?? (signal === null ? -1 : 128), stdout, stderr}));
    child.stdin.end(options.input ?? '');
  });
}

/** Parse NDJSON output into objects (throws on a malformed line: the test fails). */
export function parseNdjson<T = Record<string, unknown>>(text: string): T[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as T);
}

/** SIGKILL the process group of each child a test started detached (its shells' children too); gone ones are skipped. */
export function killGroups(children: Iterable<{readonly pid?: number | undefined}>): void {
  for (const child of children) {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
