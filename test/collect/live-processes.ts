// Real processes for collector tests: spawned, tracked, and killed in afterAll (only the ones we spawned).
import {type ChildProcess, spawn, type SpawnOptions} from 'node:child_process';
import {existsSync, readdirSync, readFileSync, readlinkSync} from 'node:fs';

export const SLEEP = existsSync('/usr/bin/sleep') ? '/usr/bin/sleep' : '/bin/sleep';
export const TRUE = existsSync('/usr/bin/true') ? '/usr/bin/true' : '/bin/true';

export class LiveProcesses {
  private readonly children: ChildProcess[] = [];
  private readonly extraPids: number[] = [];

  spawn(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    // Its own process group, so cleanup also reaches what a shell started (`sh -c 'sleep 1000; :'`).
    const child = spawn(command, args, {stdio: 'ignore', detached: true, ...options});
    child.on('error', () => undefined);
    this.children.push(child);
    return child;
  }

  /** A pid we started indirectly (a grandchild); killed in cleanup too. */
  track(pid: number): void {
    this.extraPids.push(pid);
  }

  killAll(): void {
    for (const pid of this.extraPids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const child of this.children) {
      if (child.pid === undefined) continue;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // group already gone
      }
    }
  }
}

/** Wait until the process has exec'd `exe` (its /proc/PID/exe points there), or fail. */
export async function waitForExe(pid: number, expect: (target: string) => boolean, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const target = readlinkSync(`/proc/${pid}/exe`);
      if (expect(target)) return target;
    } catch {
      // not there yet
    }
    if (Date.now() > deadline) throw new Error(`process ${pid} did not exec in time`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Read the first line of a child's stdout. */
export function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      const newline = text.indexOf('\n');
      if (newline >= 0) resolve(text.slice(0, newline));
    });
    child.on('exit', () => reject(new Error(`process exited before printing a line: ${text}`)));
  });
}

/** The pids whose parent is `pid` now (from /proc/N/stat; field 4 follows the `)` that ends comm), ascending. */
export function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) found.push(Number(name));
    } catch {
      // gone
    }
  }
  return found.sort((a, b) => a - b);
}
