// Syslog peers for tests: UDP and TCP listeners that parse RFC 5424 (and RFC 6587 octet-counting
// framing), and a real rsyslogd started with its own configuration on loopback ports.
import {spawn, type ChildProcess} from 'node:child_process';
import {createSocket} from 'node:dgram';
import {existsSync, readFileSync, writeFileSync} from 'node:fs';
import {createServer, connect, type AddressInfo, type Socket} from 'node:net';
import {createServer as createTlsServer} from 'node:tls';
import {join} from 'node:path';
import {waitFor} from '../helpers/wait.js';

export interface ParsedSyslog {
  readonly pri: number;
  readonly version: string;
  readonly timestamp: string;
  readonly hostname: string;
  readonly appName: string;
  readonly procId: string;
  readonly msgId: string;
  readonly sdId: string;
  readonly sd: Record<string, string>;
  readonly msg: string;
}

/** A strict RFC 5424 parser for one message with one SD element (the shape DaemonEye sends). */
export function parseRfc5424(text: string): ParsedSyslog {
  const header = /^<(\d{1,3})>(1) (\S+) (\S+) (\S+) (\S+) (\S+) /.exec(text);
  if (header === null) throw new Error(`not RFC 5424: ${text}`);
  let index = header[0].length;
  if (text[index] !== '[') throw new Error(`no structured data: ${text}`);
  index++;
  const idEnd = text.indexOf(' ', index);
  const sdId = text.slice(index, idEnd);
  index = idEnd;
  const sd: Record<string, string> = {};
  while (text[index] === ' ') {
    const eq = text.indexOf('="', index);
    const name = text.slice(index + 1, eq);
    index = eq + 2;
    let value = '';
    while (text[index] !== '"') {
      if (index >= text.length) throw new Error(`unterminated SD value: ${text}`);
      if (text[index] === '\\' && ['"', '\\', ']'].includes(text[index + 1] ?? '')) index++;
      value += text[index];
      index++;
    }
    sd[name] = value;
    index++;
  }
  if (text[index] !== ']') throw new Error(`bad SD end at ${index}: ${text}`);
  index++;
  const msg = text[index] === ' ' ? text.slice(index + 1) : '';
  return {
    pri: Number(header[1]),
    version: header[2]!,
    timestamp: header[3]!,
    hostname: header[4]!,
    appName: header[5]!,
    procId: header[6]!,
    msgId: header[7]!,
    sdId,
    sd,
    msg,
  };
}

export interface Listener {
  readonly port: number;
  readonly messages: string[];
  /** Framing problems seen (TCP): must stay empty. */
  readonly errors: string[];
  close(): Promise<void>;
}

export async function udpListener(): Promise<Listener> {
  const socket = createSocket('udp4');
  const messages: string[] = [];
  socket.on('message', (data) => messages.push(data.toString('utf8')));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {port: socket.address().port, messages, errors: [], close: () => new Promise((resolve) => socket.close(() => resolve()))};
}

/**
 * A TCP listener that splits the stream by RFC 6587 octet counting ("LEN SP MSG"); with `tls` (a key and
 * certificate in PEM), a TLS listener as an RFC 5425 syslog collector on port 6514 would be.
 */
export async function tcpListener(tls?: {readonly key: string; readonly cert: string}): Promise<Listener> {
  const messages: string[] = [];
  const errors: string[] = [];
  const onConnection = (socket: Socket): void => {
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const space = buffer.indexOf(0x20);
        if (space < 0) break;
        const lengthText = buffer.subarray(0, space).toString('ascii');
        if (!/^[1-9]\d*$/.test(lengthText)) {
          errors.push(`bad frame length ${JSON.stringify(lengthText)}`);
          socket.destroy();
          return;
        }
        const length = Number(lengthText);
        if (buffer.length < space + 1 + length) break;
        messages.push(buffer.subarray(space + 1, space + 1 + length).toString('utf8'));
        buffer = buffer.subarray(space + 1 + length);
      }
    });
    socket.on('end', () => {
      if (buffer.length > 0) errors.push(`trailing ${buffer.length} bytes`);
    });
  };
  const server = tls === undefined ? createServer(onConnection) : createTlsServer(tls, onConnection);
  if (tls !== undefined) server.on('tlsClientError', (error: Error) => errors.push(`tls: ${error.message}`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    messages,
    errors,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export async function freePort(kind: 'udp' | 'tcp'): Promise<number> {
  if (kind === 'udp') {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const port = socket.address().port;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    return port;
  }
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface Rsyslog {
  readonly udpPort: number;
  readonly tcpPort: number;
  readonly socketPath: string;
  /** Lines rsyslog wrote: `PRI|HOSTNAME|APP-NAME|PROCID|MSGID|STRUCTURED-DATA|MSG`. */
  lines(): string[];
  stop(): Promise<void>;
}

export const RSYSLOGD = '/usr/sbin/rsyslogd';

/** rsyslogd in the foreground with imudp, imtcp and imuxsock on private endpoints, writing to a file in `dir`. */
export async function startRsyslog(dir: string): Promise<Rsyslog> {
  const udpPort = await freePort('udp');
  const tcpPort = await freePort('tcp');
  const socketPath = join(dir, 'log.sock');
  const outFile = join(dir, 'received.log');
  const conf = join(dir, 'rsyslog.conf');
  writeFileSync(
    conf,
    [
      `global(workDirectory="${dir}")`,
      'module(load="imuxsock" SysSock.Use="off")',
      `input(type="imuxsock" Socket="${socketPath}" CreatePath="on" UseSpecialParser="off" ParseHostname="on")`,
      'module(load="imudp")',
      `input(type="imudp" address="127.0.0.1" port="${udpPort}")`,
      'module(load="imtcp")',
      `input(type="imtcp" address="127.0.0.1" port="${tcpPort}")`,
      'template(name="fields" type="string" string="%pri%|%hostname%|%app-name%|%procid%|%msgid%|%structured-data%|%msg%\\n")',
      `*.* action(type="omfile" file="${outFile}" template="fields")`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(RSYSLOGD, ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], {stdio: ['ignore', 'ignore', 'pipe']});
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`rsyslogd exited ${child.exitCode}: ${stderr}`);
      return existsSync(socketPath);
    },
    'rsyslogd socket',
    15_000,
  );
  // rsyslog opens its TCP listener a moment after the socket: wait until it accepts connections.
  for (let i = 0; i < 100; i++) {
    const ready = await new Promise<boolean>((resolve) => {
      const probe = connect(tcpPort, '127.0.0.1', () => {
        probe.destroy();
        resolve(true);
      });
      probe.on('error', () => resolve(false));
    });
    if (ready) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    udpPort,
    tcpPort,
    socketPath,
    lines: () =>
      existsSync(outFile)
        ? readFileSync(outFile, 'utf8')
            .split('\n')
            .filter((line) => line !== '')
        : [],
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
