// Shared fixtures for alerting tests: alerts built by hand, sink configs with schema defaults, and a
// real HTTP server on 127.0.0.1 whose behaviour each test scripts.
import {randomUUID} from 'node:crypto';
import {createServer, type IncomingMessage, type ServerResponse} from 'node:http';
import type {AddressInfo} from 'node:net';

import type {AlertManagerConfig} from '../../src/alerting/alert-manager.js';
import {type SinkConfig, SinkSchema} from '../../src/config/schema.js';
import type {Alert} from '../../src/models/alert.js';
import type {Host} from '../../src/models/host.js';

/** The host of hand-made alerts. */
export const TEST_HOST: Host = {
  id: '0123456789abcdef0123456789abcdef',
  hostname: 'web-01',
  boot_id: '6e1f7c1a-3b8e-4c52-9d0a-1f2e3d4c5b6a',
  os: 'Debian GNU/Linux 12 (bookworm)',
  kernel: '6.1.0-18-amd64',
  arch: 'x86_64',
  decorations: {env: 'prod'},
};

export function makeAlert(overrides: Partial<Alert> = {}): Alert {
  const ruleId = overrides.rule_id ?? 'suspicious-processes';
  return {
    id: randomUUID(),
    alert_time: 1_764_000_000_000,
    rule_id: ruleId,
    title: 'Suspicious Process Detected',
    description: 'Process with suspicious name detected',
    severity: 'high',
    scan_id: 1_764_000_000_000_123,
    affected_processes: [1234, 5678],
    process_count: 2,
    alert_data: {processes: [{pid: 1234, name: 'malware.exe'}]},
    rule_execution_time_ms: 15,
    dedupe_key: `${ruleId}:malware.exe`,
    host: TEST_HOST,
    attack_techniques: ['T1059.004'],
    attack_tactics: ['execution'],
    ...overrides,
  };
}

export function sink(config: Record<string, unknown>): SinkConfig {
  return SinkSchema.parse(config);
}

export function managerConfig(stateDir: string, sinks: SinkConfig[], overrides: Partial<AlertManagerConfig> = {}): AlertManagerConfig {
  return {
    deduplication: {enabled: false, window_minutes: 60, key_fields: ['rule_id', 'process_name']},
    max_queue_size: 10_000,
    delivery_timeout_ms: 30_000,
    delivery_deadline_ms: 20_000,
    state_dir: stateDir,
    sinks,
    ...overrides,
  };
}

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface TestServer {
  readonly url: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 (port 0); `handler` answers request number `index` (0-based), or never when it returns false. */
export async function startHttpServer(handler: (request: RecordedRequest, index: number, response: ServerResponse) => boolean | void): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const recorded = {method: req.method ?? '', url: req.url ?? '', headers: req.headers, body};
      requests.push(recorded);
      const answered = handler(recorded, requests.length - 1, res);
      if (answered === undefined && !res.writableEnded) res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const {port} = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/alerts`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on: bind, note the port, close. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const {port} = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
