import {createServer} from 'node:net';
import {hostname} from 'node:os';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {SyslogSink, type SyslogSinkConfig} from '../../src/alerting/sinks/syslog.js';
import {escapeSdValue, formatRfc5424, priority, truncateUtf8} from '../../src/alerting/sinks/syslog-format.js';
import {removeDir, tempDir} from '../helpers/cli.js';
import {closedPort, makeAlert, sink} from './helpers.js';
import {parseRfc5424, type Rsyslog, startRsyslog, tcpListener, udpListener} from './syslog-helpers.js';
import {waitFor} from '../helpers/wait.js';

function syslog(extra: Record<string, unknown>): SyslogSinkConfig {
  return sink({name: 'syslog', type: 'syslog', ...extra}) as SyslogSinkConfig;
}

const runOptions = () => ({signal: AbortSignal.timeout(20_000), deadline: Date.now() + 20_000});

describe('RFC 5424 formatting', () => {
  it('maps severities and facilities to PRI', () => {
    expect(priority('daemon', 'critical')).toBe(26);
    expect(priority('daemon', 'high')).toBe(27);
    expect(priority('local0', 'medium')).toBe(132);
    expect(priority('kern', 'low')).toBe(5);
    // Sigma's informational, below low: syslog's info (6).
    expect(priority('daemon', 'informational')).toBe(30);
  });

  it('escapes ", \\ and ] in SD values and round-trips through a strict parser', () => {
    expect(escapeSdValue('a"b\\c]d')).toBe('a\\"b\\\\c\\]d');
    const alert = makeAlert({rule_id: 'weird"rule\\id]x', dedupe_key: 'k]"\\'});
    const parsed = parseRfc5424(formatRfc5424(alert, {facility: 'daemon', tag: 'daemoneye', maxMessageBytes: 8192, hostname: 'host1', procId: 77}));
    expect(parsed).toMatchObject({pri: 27, version: '1', hostname: 'host1', appName: 'daemoneye', procId: '77', msgId: 'ALERT', sdId: 'daemoneye@32473'});
    expect(parsed.sd).toMatchObject({rule_id: 'weird"rule\\id]x', severity: 'high', pids: '1234 5678', dedupe_key: 'k]"\\', alert_id: alert.id});
    expect(parsed.timestamp).toBe(new Date(alert.alert_time).toISOString());
    expect(parsed.msg).toBe('Suspicious Process Detected: malware.exe[1234]');
  });

  it('truncates long messages at a UTF-8 boundary, never splitting a character, within the byte limit', () => {
    expect(truncateUtf8('aé', 2)).toBe('a');
    expect(truncateUtf8('a😀b', 4)).toBe('a');
    expect(truncateUtf8('a😀b', 5)).toBe('a😀');
    const alert = makeAlert({
      alert_data: {processes: [{pid: 1, name: 'ü'.repeat(5000)}]},
      affected_processes: Array.from({length: 5000}, (_, i) => i + 1),
      process_count: 5000,
    });
    for (const limit of [480, 481, 482, 1000, 2049]) {
      const text = formatRfc5424(alert, {facility: 'daemon', tag: 'daemoneye', maxMessageBytes: limit});
      const bytes = Buffer.from(text, 'utf8');
      expect(bytes.length).toBeLessThanOrEqual(limit);
      expect(bytes.toString('utf8')).toBe(text);
      expect(text).not.toContain('\uFFFD');
      const parsed = parseRfc5424(text);
      expect(parsed.msg.endsWith('...')).toBe(true);
      expect(parsed.sd.process_count).toBe('5000');
    }
  });

  it('keeps control characters out of the message and the header', () => {
    const text = formatRfc5424(makeAlert({title: 'evil\nline\u001b[31m'}), {facility: 'user', tag: 'my tag', maxMessageBytes: 8192, hostname: 'h'});
    expect(text).not.toMatch(/[\n\u001b]/);
    expect(parseRfc5424(text).appName).toBe('my_tag');
  });
});

describe('SyslogSink over UDP and TCP to listeners that parse what arrives', () => {
  it('sends one RFC 5424 datagram per alert over UDP', async () => {
    const listener = await udpListener();
    try {
      const alerts = [makeAlert({severity: 'critical'}), makeAlert({severity: 'low'})];
      const result = await new SyslogSink(syslog({host: '127.0.0.1', port: listener.port, facility: 'local3', tag: 'de'})).send(alerts, runOptions());
      expect(result).toMatchObject({delivered: [true, true], error: null});
      await waitFor(() => listener.messages.length === 2, 'two datagrams', 5_000);
      const parsed = listener.messages.map(parseRfc5424);
      expect(parsed.map((m) => m.pri)).toEqual([19 * 8 + 2, 19 * 8 + 5]);
      expect(parsed[0]).toMatchObject({appName: 'de', hostname: hostname(), procId: String(process.pid), msgId: 'ALERT'});
      expect(parsed[0]!.sd.alert_id).toBe(alerts[0]!.id);
    } finally {
      await listener.close();
    }
  });

  it('frames messages with RFC 6587 octet counting over TCP, multi-byte text included', async () => {
    const listener = await tcpListener();
    try {
      // The message says what was found, from the rule's rows: process-controlled text, multi-byte and newlines included.
      const row = (name: string) => ({alert_data: {processes: [{pid: 1234, name}]}});
      const alerts = [makeAlert(row('naïve ünïcode 😀')), makeAlert(row('has 12 spaces and\nnewline')), makeAlert()];
      const result = await new SyslogSink(syslog({protocol: 'tcp', host: '127.0.0.1', port: listener.port})).send(alerts, runOptions());
      expect(result).toMatchObject({delivered: [true, true, true], error: null});
      await waitFor(() => listener.messages.length === 3, 'three frames', 5_000);
      expect(listener.errors).toEqual([]);
      const parsed = listener.messages.map(parseRfc5424);
      expect(parsed[0]!.msg).toBe('\uFEFFSuspicious Process Detected: naïve ünïcode 😀[1234]');
      expect(parsed[1]!.msg).toBe('Suspicious Process Detected: has 12 spaces and\\nnewline[1234]');
      expect(parsed.map((m) => m.sd.alert_id)).toEqual(alerts.map((a) => a.id));
    } finally {
      await listener.close();
    }
  });

  it('reports a refused TCP connection without throwing', async () => {
    const port = await closedPort();
    const result = await new SyslogSink(syslog({protocol: 'tcp', host: '127.0.0.1', port})).send([makeAlert()], runOptions());
    expect(result.delivered).toEqual([false]);
    expect(result.error).toContain('ECONNREFUSED');
  });

  it('falls back to a stream socket when the unix socket is not a datagram one', async () => {
    const dir = tempDir('daemoneye-unix-');
    const received: string[] = [];
    const server = createServer((connection) => connection.setEncoding('utf8').on('data', (chunk: string) => received.push(chunk)));
    const socketPath = join(dir, 'stream.sock');
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      const alert = makeAlert({severity: 'critical'});
      const result = await new SyslogSink(syslog({protocol: 'unix', socket_path: socketPath, facility: 'auth'})).send([alert], runOptions());
      expect(result).toMatchObject({delivered: [true], error: null});
      const text = await waitFor(() => (received.join('').endsWith('\n') ? received.join('') : undefined), 'stream message', 5_000);
      const parsed = parseRfc5424(text.trimEnd());
      expect(parsed).toMatchObject({pri: 4 * 8 + 2, appName: 'daemoneye', procId: String(process.pid), msgId: 'ALERT', sdId: 'daemoneye@32473'});
      expect(parsed.sd).toMatchObject({rule_id: alert.rule_id, severity: 'critical', alert_id: alert.id});
    } finally {
      await new Promise((resolve) => server.close(resolve));
      removeDir(dir);
    }
  });

  it('reports a missing unix socket', async () => {
    const result = await new SyslogSink(syslog({protocol: 'unix', socket_path: '/nonexistent/daemoneye.sock'})).send([makeAlert()], runOptions());
    expect(result.delivered).toEqual([false]);
    expect(result.error).toContain('/nonexistent/daemoneye.sock');
  });
});

describe('SyslogSink against a real rsyslogd', () => {
  let dir: string;
  let rsyslog: Rsyslog;
  beforeAll(async () => {
    dir = tempDir('daemoneye-rsyslog-');
    rsyslog = await startRsyslog(dir);
  });
  afterAll(async () => {
    await rsyslog?.stop();
    removeDir(dir);
  });

  it.each(['udp', 'tcp', 'unix'] as const)('rsyslog receives and parses alerts sent over %s', async (protocol) => {
    const alert = makeAlert({rule_id: `rule-${protocol}`, dedupe_key: `rule-${protocol}:x"y]`, severity: 'medium'});
    const config = syslog({protocol, host: '127.0.0.1', port: protocol === 'udp' ? rsyslog.udpPort : rsyslog.tcpPort, socket_path: rsyslog.socketPath});
    const result = await new SyslogSink(config).send([alert], runOptions());
    expect(result).toMatchObject({delivered: [true], error: null});
    const line = await waitFor(() => rsyslog.lines().find((l) => l.includes(alert.id)), `rsyslog line for ${protocol}`, 10_000);
    const [pri, host, app, procId, msgId, sd, msg] = line.split('|');
    expect(pri).toBe(String(3 * 8 + 4));
    expect(host).toBe(hostname());
    expect(app).toBe('daemoneye');
    expect(procId).toBe(String(process.pid));
    expect(msgId).toBe('ALERT');
    expect(sd).toContain(`[daemoneye@32473 rule_id="rule-${protocol}" severity="medium" pids="1234 5678"`);
    expect(sd).toContain(`dedupe_key="rule-${protocol}:x\\"y\\]"`);
    expect(msg).toBe('Suspicious Process Detected: malware.exe[1234]');
  });
});
