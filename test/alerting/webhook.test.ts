import {createHmac} from 'node:crypto';

import {afterEach, describe, expect, it} from 'vitest';

import {hmacSignature, parseRetryAfter, splunkHecEnvelope, WEBHOOK_CONCURRENCY, WebhookSink} from '../../src/alerting/sinks/webhook.js';
import type {WebhookSinkConfig} from '../../src/alerting/sinks/webhook.js';
import {closedPort, makeAlert, sink, startHttpServer, type TestServer} from './helpers.js';

function webhook(url: string, extra: Record<string, unknown> = {}): WebhookSinkConfig {
  return sink({name: 'hook', type: 'webhook', url, ...extra}) as WebhookSinkConfig;
}

function runOptions(deadlineMs = 20_000) {
  return {signal: AbortSignal.timeout(deadlineMs), deadline: Date.now() + deadlineMs};
}

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('WebhookSink against a real HTTP server', () => {
  it('retries 500 twice then succeeds on 200, with headers, HMAC of the exact body', async () => {
    server = await startHttpServer((_req, index, res) => {
      res.statusCode = index < 2 ? 500 : 200;
      res.end();
    });
    const alert = makeAlert();
    const hook = new WebhookSink(webhook(server.url, {headers: {Authorization: 'Bearer tok-123456'}, hmac_secret: 'shh-secret', retry_attempts: 3}));
    const result = await hook.send([alert], runOptions());
    expect(result).toMatchObject({delivered: [true], attempts: 3, status: 200, error: null});
    expect(server.requests).toHaveLength(3);
    const last = server.requests[2]!;
    expect(last.method).toBe('POST');
    expect(last.headers.authorization).toBe('Bearer tok-123456');
    expect(last.headers['content-type']).toBe('application/json');
    expect(JSON.parse(last.body)).toEqual(alert);
    const expected = `sha256=${createHmac('sha256', 'shh-secret').update(last.body).digest('hex')}`;
    expect(last.headers['x-daemoneye-signature']).toBe(expected);
    expect(hmacSignature('shh-secret', last.body)).toBe(expected);
  });

  it('gives up after retry_attempts; once the endpoint counts as down, no further alert is tried', async () => {
    server = await startHttpServer((_req, _index, res) => {
      res.statusCode = 503;
      res.end();
    });
    const alerts = Array.from({length: WEBHOOK_CONCURRENCY + 3}, () => makeAlert());
    const result = await new WebhookSink(webhook(server.url, {retry_attempts: 2}), {random: () => 0}).send(alerts, runOptions());
    expect(result.delivered).toEqual(alerts.map(() => false));
    // Only the alerts already in flight when the first one gave up were tried, each 1 + 2 times.
    const tried = new Set(server.requests.map((r) => (JSON.parse(r.body) as {id: string}).id));
    expect(tried.size).toBeLessThanOrEqual(WEBHOOK_CONCURRENCY);
    expect(tried.size).toBeLessThan(alerts.length);
    expect(result.attempts).toBe(server.requests.length);
    expect(result.attempts).toBe(3 * tried.size);
    expect(result.status).toBe(503);
    expect(result.error).toContain('HTTP 503');
  });

  it('delivers many alerts with a few requests in flight, each exactly once', async () => {
    server = await startHttpServer(() => undefined);
    const alerts = Array.from({length: 50}, () => makeAlert());
    const result = await new WebhookSink(webhook(server.url)).send(alerts, runOptions());
    expect(result.delivered.every(Boolean)).toBe(true);
    expect(server.requests.map((r) => (JSON.parse(r.body) as {id: string}).id).sort()).toEqual(alerts.map((a) => a.id).sort());
  });

  it('honours Retry-After in seconds on 429', async () => {
    server = await startHttpServer((_req, index, res) => {
      if (index === 0) {
        res.statusCode = 429;
        res.setHeader('Retry-After', '1');
      }
      res.end();
    });
    const started = Date.now();
    const result = await new WebhookSink(webhook(server.url), {random: () => 0}).send([makeAlert()], runOptions());
    expect(result).toMatchObject({delivered: [true], attempts: 2, status: 200});
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('parses Retry-After as an HTTP-date too', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });

  it('does not wait for a Retry-After past the deadline: fails at once', async () => {
    server = await startHttpServer((_req, _index, res) => {
      res.statusCode = 429;
      res.setHeader('Retry-After', new Date(Date.now() + 3_600_000).toUTCString());
      res.end();
    });
    const result = await new WebhookSink(webhook(server.url)).send([makeAlert()], runOptions(5_000));
    expect(result.delivered).toEqual([false]);
    expect(result.attempts).toBe(1);
    expect(result.error).toContain('past the delivery deadline');
  });

  it('does not retry 400 but goes on with the next alert; retries 408', async () => {
    server = await startHttpServer((req, _index, res) => {
      const alert = JSON.parse(req.body) as {rule_id: string};
      res.statusCode = alert.rule_id === 'bad' ? 400 : 200;
      res.end();
    });
    const result = await new WebhookSink(webhook(server.url)).send([makeAlert({rule_id: 'bad'}), makeAlert()], runOptions());
    expect(result.delivered).toEqual([false, true]);
    expect(server.requests).toHaveLength(2);
    expect(result.error).toContain('HTTP 400');

    await server.close();
    server = await startHttpServer((_req, index, res) => {
      res.statusCode = index === 0 ? 408 : 200;
      res.end();
    });
    const retried = await new WebhookSink(webhook(server.url), {random: () => 0}).send([makeAlert()], runOptions());
    expect(retried).toMatchObject({delivered: [true], attempts: 2});
  });

  it('times out a server that never answers, and stops at the run deadline', async () => {
    server = await startHttpServer(() => false);
    const perRequest = await new WebhookSink(webhook(server.url, {timeout_ms: 300, retry_attempts: 1}), {random: () => 0}).send([makeAlert()], runOptions());
    expect(perRequest.delivered).toEqual([false]);
    expect(perRequest.attempts).toBe(2);
    expect(perRequest.error).toContain('no answer within 300 ms');

    const started = Date.now();
    const deadline = await new WebhookSink(webhook(server.url, {timeout_ms: 60_000, retry_attempts: 5})).send([makeAlert(), makeAlert()], runOptions(800));
    expect(deadline.delivered).toEqual([false, false]);
    expect(deadline.error).toContain('deadline');
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('reports a refused connection', async () => {
    const port = await closedPort();
    const result = await new WebhookSink(webhook(`http://127.0.0.1:${port}/x`, {retry_attempts: 1}), {random: () => 0}).send([makeAlert()], runOptions());
    expect(result.delivered).toEqual([false]);
    expect(result.attempts).toBe(2);
    expect(result.error).toContain('ECONNREFUSED');
  });

  it('wraps alerts in a Splunk HEC envelope', async () => {
    server = await startHttpServer(() => undefined);
    const alert = makeAlert();
    await new WebhookSink(webhook(server.url, {format: 'splunk_hec', headers: {Authorization: 'Splunk abcd-1234'}})).send([alert], runOptions());
    const body = JSON.parse(server.requests[0]!.body) as Record<string, unknown>;
    expect(body).toMatchObject({time: alert.alert_time / 1000, source: 'daemoneye', sourcetype: 'daemoneye:alert', event: alert});
    expect(typeof body.host).toBe('string');
    expect(splunkHecEnvelope(alert, 'h1')).toEqual({...body, host: 'h1'});
  });

  it('never shows credentials or query strings of the URL in errors', async () => {
    const port = await closedPort();
    const result = await new WebhookSink(webhook(`http://user:pa55word@127.0.0.1:${port}/x?token=qs-secret-value`, {retry_attempts: 0})).send(
      [makeAlert()],
      runOptions(),
    );
    expect(result.error).not.toContain('pa55word');
    expect(result.error).not.toContain('qs-secret-value');
  });
});

describe('WebhookSink URL credentials', () => {
  it('sends user:password of the URL as Basic authentication', async () => {
    server = await startHttpServer(() => undefined);
    const url = server.url.replace('http://', 'http://user:pa55word@');
    const result = await new WebhookSink(webhook(url)).send([makeAlert()], runOptions());
    expect(result.delivered).toEqual([true]);
    expect(server.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from('user:pa55word').toString('base64')}`);
  });
});
