// SyslogSink: RFC 5424 messages over UDP (one datagram each), TCP (RFC 6587 octet counting) or a Unix
// socket. Node has no Unix datagram sockets, so the Unix transport hands each message to util-linux
// `logger`, which tries a datagram socket first and falls back to a stream socket, as /dev/log needs.
import {spawn} from 'node:child_process';
import {createSocket} from 'node:dgram';
import {lookup} from 'node:dns/promises';
import {statSync} from 'node:fs';
import {connect} from 'node:net';

import type {SinkConfig} from '../../config/schema.js';
import type {Alert} from '../../models/alert.js';
import type {AlertSink, SinkKind, SinkProbeResult, SinkSendOptions, SinkSendResult} from '../types.js';
import {alertMessageText, alertSdParams, escapeSdValue, formatRfc5424, SD_ID, SYSLOG_SEVERITY, truncateUtf8} from './syslog-format.js';

export type SyslogSinkConfig = Extract<SinkConfig, {type: 'syslog'}>;

const LOGGER_PATH = 'logger';

function errorText(error: unknown): string {
  const code = (error as {code?: unknown}).code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}

/** How long a UDP send waits for an ICMP port-unreachable answer: a loopback or LAN round trip, a few ms. */
const UDP_ICMP_WAIT_MS = 50;

export class SyslogSink implements AlertSink {
  readonly type = 'syslog' as const;
  readonly name: string;

  constructor(private readonly config: SyslogSinkConfig) {
    this.name = config.name;
  }

  format(alert: Alert): string {
    return formatRfc5424(alert, {facility: this.config.facility, tag: this.config.tag, maxMessageBytes: this.config.max_message_bytes});
  }

  async send(alerts: readonly Alert[], options: SinkSendOptions): Promise<SinkSendResult> {
    if (alerts.length === 0) return {delivered: [], attempts: 0, status: null, error: null};
    switch (this.config.protocol) {
      case 'udp':
        return this.sendUdp(alerts, options.signal);
      case 'tcp':
        return this.sendTcp(alerts, options.signal);
      case 'unix':
        return this.sendUnix(alerts, options.signal);
    }
  }

  private where(): string {
    return this.config.protocol === 'unix' ? this.config.socket_path : `${this.config.protocol}://${this.config.host}:${this.config.port}`;
  }

  private async sendUdp(alerts: readonly Alert[], signal: AbortSignal): Promise<SinkSendResult> {
    const delivered = alerts.map(() => false);
    let socket: ReturnType<typeof createSocket> | undefined;
    try {
      const {address, family} = await lookup(this.config.host);
      socket = createSocket(family === 6 ? 'udp6' : 'udp4');
      const udp = socket;
      // A connected socket learns of ICMP port-unreachable (ECONNREFUSED on the next send); errors also
      // arrive as events, which must never go unhandled.
      let socketError: Error | undefined;
      udp.on('error', (error) => (socketError = error));
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.connect(this.config.port, address, () => resolve());
      });
      if (socketError !== undefined) throw socketError;
      for (const [index, alert] of alerts.entries()) {
        if (signal.aborted) return {delivered, attempts: 1, status: null, error: `delivery deadline reached while sending to ${this.where()}`};
        if (socketError !== undefined) throw socketError;
        const datagram = Buffer.from(this.format(alert), 'utf8');
        await new Promise<void>((resolve, reject) => udp.send(datagram, (error) => (error ? reject(error) : resolve())));
        delivered[index] = true;
      }
      // The ICMP port-unreachable answer to a datagram arrives after send() has returned, as an 'error' event
      // (ECONNREFUSED): wait one short round trip for it. When it comes, no datagram of the batch was taken
      // (nothing listens), so every alert is spooled and retried. Silence proves nothing: a host or firewall
      // that drops datagrams without answering looks like success (docs/alerting.md).
      await new Promise<void>((resolve) => setTimeout(resolve, UDP_ICMP_WAIT_MS));
      if (socketError !== undefined) throw socketError;
      return {delivered, attempts: 1, status: null, error: null};
    } catch (error) {
      return {delivered: alerts.map(() => false), attempts: 1, status: null, error: `syslog ${this.where()}: ${errorText(error)}`};
    } finally {
      socket?.close();
    }
  }

  private sendTcp(alerts: readonly Alert[], signal: AbortSignal): Promise<SinkSendResult> {
    // RFC 6587 §3.4.1 octet counting: "<length> <message>", length in bytes, so messages may hold anything.
    const frames = alerts.map((alert) => {
      const message = Buffer.from(this.format(alert), 'utf8');
      return Buffer.concat([Buffer.from(`${message.length} `, 'ascii'), message]);
    });
    return new Promise((resolve) => {
      let settled = false;
      const socket = connect({host: this.config.host, port: this.config.port});
      const finish = (error: string | null) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
        // TCP gives no per-message acknowledgement: the batch counts as taken only when the whole stream was flushed.
        resolve({delivered: alerts.map(() => error === null), attempts: 1, status: null, error});
      };
      const onAbort = () => finish(`delivery deadline reached while sending to ${this.where()}`);
      signal.addEventListener('abort', onAbort, {once: true});
      if (signal.aborted) return onAbort();
      socket.setTimeout(this.config.timeout_ms, () => finish(`syslog ${this.where()}: timed out after ${this.config.timeout_ms} ms`));
      socket.on('error', (error) => finish(`syslog ${this.where()}: ${errorText(error)}`));
      socket.on('connect', () => {
        socket.end(Buffer.concat(frames), () => finish(null));
      });
    });
  }

  private async sendUnix(alerts: readonly Alert[], signal: AbortSignal): Promise<SinkSendResult> {
    const delivered = alerts.map(() => false);
    let attempts = 0;
    for (const [index, alert] of alerts.entries()) {
      if (signal.aborted) return {delivered, attempts, status: null, error: `delivery deadline reached while sending to ${this.where()}`};
      attempts++;
      const failure = await this.runLogger(alert, signal);
      if (failure !== null) return {delivered, attempts, status: null, error: `syslog ${this.where()}: ${failure}`};
      delivered[index] = true;
    }
    return {delivered, attempts, status: null, error: null};
  }

  /** `logger --rfc5424` with the same PRI, APP-NAME, MSGID and structured data as the network transports. */
  private runLogger(alert: Alert, signal: AbortSignal): Promise<string | null> {
    const sdParams = alertSdParams(alert).map(([name, value]) => ['--sd-param', `${name}="${escapeSdValue(value)}"`]);
    const maxBytes = this.config.max_message_bytes;
    const args = [
      '--rfc5424=notq',
      '--socket-errors=on',
      '-u',
      this.config.socket_path,
      `--id=${process.pid}`,
      '-p',
      `${this.config.facility}.${['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'][SYSLOG_SEVERITY[alert.severity]]}`,
      '-t',
      this.config.tag.replace(/[^\x21-\x7e]/g, '_').slice(0, 48),
      '--msgid',
      'ALERT',
      '--sd-id',
      SD_ID,
      ...sdParams.flat(),
      '-S',
      String(maxBytes),
      '--',
      // Leave room for the header and SD logger adds; it would cut the message itself, possibly mid-character.
      truncateUtf8(alertMessageText(alert), Math.max(64, maxBytes - 400 - Buffer.byteLength(sdParams.flat().join(' ')))),
    ];
    return new Promise((resolve) => {
      let stderr = '';
      let settled = false;
      const child = spawn(LOGGER_PATH, args, {stdio: ['ignore', 'ignore', 'pipe'], signal, timeout: this.config.timeout_ms});
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const done = (result: string | null) => {
        if (!settled) {
          settled = true;
          resolve(result);
        }
      };
      child.on('error', (error) => done((error as {code?: string}).code === 'ENOENT' ? `${LOGGER_PATH} (util-linux) is not installed` : errorText(error)));
      child.on('close', (code, sig) => {
        if (code === 0) done(null);
        else done(sig !== null ? `logger stopped by ${sig} (timeout ${this.config.timeout_ms} ms)` : stderr.trim().split('\n')[0] || `logger exited ${code}`);
      });
    });
  }
}

/** A TCP connection opened and closed: the listener is there. Rejects with the connection error or a timeout. */
function tcpConnect(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({host, port});
    const timer = setTimeout(() => socket.destroy(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.end();
      socket.destroy();
      resolve();
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Whether a run could hand messages to the syslog receiver: a socket there, a host that resolves (UDP), a TCP listener. */
async function probeSyslog(config: SyslogSinkConfig, timeoutMs: number): Promise<SinkProbeResult> {
  if (config.protocol === 'unix') {
    if (!statSync(config.socket_path).isSocket()) return {reachable: false, detail: `${config.socket_path} is not a socket`};
    return {reachable: true, detail: `${config.socket_path} is a socket`};
  }
  if (config.protocol === 'udp') {
    // UDP has no handshake: the best a probe can say is that the host resolves.
    const address = await lookup(config.host);
    return {reachable: true, detail: `udp ${config.host} resolves to ${address.address} (no handshake on udp)`};
  }
  await tcpConnect(config.host, config.port, Math.min(timeoutMs, config.timeout_ms));
  return {reachable: true, detail: `tcp ${config.host}:${config.port} accepts connections`};
}

/** The syslog sink kind: no secret in its settings. */
export const SYSLOG_SINK: SinkKind<SyslogSinkConfig> = {
  type: 'syslog',
  create: (config) => new SyslogSink(config),
  secrets: () => [],
  probe: probeSyslog,
  where: (config) => (config.protocol === 'unix' ? config.socket_path : `${config.host}:${config.port}`),
};
