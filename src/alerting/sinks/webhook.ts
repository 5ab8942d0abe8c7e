// WebhookSink: one POST per alert (the alert JSON, a Splunk HEC event envelope, ECS or OCSF), configured headers,
// optional HMAC-SHA256 signature of the exact body, retries with exponential backoff and full jitter
// that honour Retry-After; 4xx answers other than 408 and 429 are not retried (the request itself is wrong).
import {createHmac} from 'node:crypto';
import {hostname} from 'node:os';

import type {SinkConfig} from '../../config/schema.js';
import type {Alert} from '../../models/alert.js';
import {alertDocument, loadEcsOcsf} from '../../output/alert-formats.js';
import {safeJson} from '../../output/terminal.js';
import {backoffMs, describeFetchError, isRetryableStatus, sleep} from '../../util/http.js';
import {TOOL_VERSION} from '../../version.js';
import type {AlertSink, SinkKind, SinkSendOptions, SinkSendResult} from '../types.js';

export type WebhookSinkConfig = Extract<SinkConfig, {type: 'webhook'}>;

export const SIGNATURE_HEADER = 'X-DaemonEye-Signature';
/** Requests in flight at once per webhook sink. */
export const WEBHOOK_CONCURRENCY = 4;

export interface WebhookSinkOptions {
  /** Cap on one alert's delivery, retries included (alerting.delivery_timeout_ms). */
  readonly deliveryTimeoutMs?: number;
  /** For tests: the random source of the jitter. */
  readonly random?: () => number;
}

/** Splunk HTTP Event Collector envelope: time in seconds, the alert as `event`. */
export function splunkHecEnvelope(alert: Alert, host = alert.host?.hostname ?? hostname()): Record<string, unknown> {
  return {time: alert.alert_time / 1000, host, source: 'daemoneye', sourcetype: 'daemoneye:alert', event: alert};
}

/** The request body of one alert: the alert JSON, a Splunk HEC envelope, an ECS alert event or an OCSF Detection Finding. */
export function webhookBody(alert: Alert, format: WebhookSinkConfig['format']): string {
  if (format === 'splunk_hec') return safeJson(splunkHecEnvelope(alert));
  return safeJson(alertDocument(alert, format === 'ecs' || format === 'ocsf' ? format : 'native'));
}

export function hmacSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** Retry-After as delay seconds or an HTTP-date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

export class WebhookSink implements AlertSink {
  readonly type = 'webhook' as const;
  readonly name: string;
  private readonly random: () => number;
  private readonly target: string;

  constructor(
    private readonly config: WebhookSinkConfig,
    private readonly options: WebhookSinkOptions = {},
  ) {
    this.name = config.name;
    this.random = options.random ?? Math.random;
    // Shown in errors: the origin and path, never credentials or a query string (tokens live there too).
    this.target = webhookTarget(config.url);
    const url = new URL(config.url);
    // fetch refuses URLs with credentials: send them as Basic authentication instead.
    this.basicAuth =
      url.username === '' && url.password === ''
        ? null
        : `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    url.username = '';
    url.password = '';
    this.requestUrl = url.href;
  }

  private readonly basicAuth: string | null;
  private readonly requestUrl: string;

  /** An error text with the URL reduced to origin and path. */
  private clean(text: string): string {
    return text.split(this.config.url).join(this.target).split(this.requestUrl).join(this.target);
  }

  /** The headers a request carries: content type, user agent, Basic credentials from the URL, configured ones. */
  private requestHeaders(): Record<string, string> {
    return {
      'content-type': 'application/json',
      'user-agent': `daemoneye/${TOOL_VERSION}`,
      ...(this.basicAuth === null ? {} : {authorization: this.basicAuth}),
      ...this.config.headers,
    };
  }

  /**
   * What `health` asks of this sink: a HEAD to the URL a run POSTs to, with the credentials and headers a
   * run sends (and the HMAC signature of an empty body), so a server that refuses them says so, yet no
   * alert is sent. 401/403/407 (credentials refused), 404/410 (no such endpoint) and 5xx are failures;
   * any other answer, 405 Method Not Allowed included, shows an endpoint that took the credentials.
   * Never throws: a network error is a failure with its code. `detail` holds no credential or query string.
   */
  async probe(timeoutMs: number): Promise<{ok: boolean; detail: string}> {
    const headers = this.requestHeaders();
    if (this.config.hmac_secret !== null) headers[SIGNATURE_HEADER] = hmacSignature(this.config.hmac_secret, '');
    try {
      const response = await fetch(this.requestUrl, {method: 'HEAD', headers, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs)});
      const status = response.status;
      const refused =
        status === 401 || status === 403 || status === 407
          ? 'refused the configured credentials'
          : status === 404 || status === 410
            ? 'has no such endpoint'
            : status >= 500
              ? 'failed'
              : null;
      return refused === null
        ? {ok: true, detail: `${this.target} answered HTTP ${status} to an authenticated HEAD (no alert sent)`}
        : {ok: false, detail: `${this.target} ${refused}: HTTP ${status} to an authenticated HEAD`};
    } catch (error) {
      const timedOut = (error as {name?: string}).name === 'TimeoutError';
      return {ok: false, detail: `${this.target}: ${timedOut ? `no answer within ${timeoutMs} ms` : this.clean(describeFetchError(error))}`};
    }
  }

  async send(alerts: readonly Alert[], options: SinkSendOptions): Promise<SinkSendResult> {
    await loadEcsOcsf(this.config.format);
    const delivered = alerts.map(() => false);
    let attempts = 0;
    let status: number | null = null;
    let lastError: string | null = null;
    let endpointDown = false;
    let next = 0;
    // A few requests in flight: with a remote endpoint's round trip, one at a time would not get 1,000
    // alerts through within the run's deadline. Alerts are started in order (spooled ones first).
    const worker = async (): Promise<void> => {
      while (!endpointDown && !options.signal.aborted && next < alerts.length) {
        const index = next++;
        const outcome = await this.deliverOne(alerts[index] as Alert, options.signal, options.deadline);
        attempts += outcome.attempts;
        if (outcome.status !== null) status = outcome.status;
        if (outcome.ok) {
          delivered[index] = true;
          continue;
        }
        lastError = outcome.error;
        // A refused request (4xx) is about this alert; anything else means the endpoint is down: stop
        // spending the run's deadline on it, the rest goes to the spool.
        if (!outcome.permanent) endpointDown = true;
      }
    };
    await Promise.all(Array.from({length: Math.min(WEBHOOK_CONCURRENCY, alerts.length)}, worker));
    if (lastError === null && delivered.includes(false)) lastError = `delivery deadline reached before ${this.target}`;
    return {delivered, attempts, status, error: lastError};
  }

  private async deliverOne(
    alert: Alert,
    runSignal: AbortSignal,
    deadline: number,
  ): Promise<{ok: boolean; attempts: number; status: number | null; error: string | null; permanent: boolean}> {
    const body = webhookBody(alert, this.config.format);
    const headers = this.requestHeaders();
    if (this.config.hmac_secret !== null) headers[SIGNATURE_HEADER] = hmacSignature(this.config.hmac_secret, body);
    const budget = this.options.deliveryTimeoutMs === undefined ? runSignal : AbortSignal.any([runSignal, AbortSignal.timeout(this.options.deliveryTimeoutMs)]);
    const started = Date.now();
    const giveUpAt = Math.min(deadline, this.options.deliveryTimeoutMs === undefined ? Infinity : started + this.options.deliveryTimeoutMs);
    let status: number | null = null;
    let error: string | null = null;
    let attempt = 0;
    for (;;) {
      attempt++;
      let retryAfterMs: number | null = null;
      try {
        const response = await fetch(this.requestUrl, {
          method: 'POST',
          headers,
          body,
          redirect: 'error',
          signal: AbortSignal.any([budget, AbortSignal.timeout(this.config.timeout_ms)]),
        });
        status = response.status;
        // Drain the body so the keep-alive connection can be reused.
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) return {ok: true, attempts: attempt, status, error: null, permanent: false};
        error = `${this.target} answered HTTP ${response.status}`;
        if (!isRetryableStatus(response.status)) return {ok: false, attempts: attempt, status, error, permanent: true};
        retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      } catch (caught) {
        if (runSignal.aborted)
          return {ok: false, attempts: attempt, status, error: `delivery deadline reached while posting to ${this.target}`, permanent: false};
        if (budget.aborted) {
          return {
            ok: false,
            attempts: attempt,
            status,
            error: `${this.target}: gave up after ${Date.now() - started} ms (alerting.delivery_timeout_ms)`,
            permanent: false,
          };
        }
        const timedOut = (caught as {name?: string}).name === 'TimeoutError';
        error = timedOut ? `${this.target}: no answer within ${this.config.timeout_ms} ms` : `${this.target}: ${this.clean(describeFetchError(caught))}`;
      }
      if (attempt > this.config.retry_attempts) return {ok: false, attempts: attempt, status, error, permanent: false};
      // Full jitter: a random delay up to the exponential bound, so many hosts do not retry in lockstep.
      const backoff = backoffMs(attempt, this.random);
      const delay = retryAfterMs === null ? backoff : Math.max(retryAfterMs, backoff);
      if (retryAfterMs !== null && Date.now() + retryAfterMs > giveUpAt) {
        // Waiting would only hold the run until its deadline: spool now, the next run honours the wait.
        return {
          ok: false,
          attempts: attempt,
          status,
          error: `${error}; Retry-After ${Math.ceil(retryAfterMs / 1000)} s is past the delivery deadline`,
          permanent: false,
        };
      }
      if (!(await sleep(delay, budget))) {
        const reason = runSignal.aborted ? 'delivery deadline reached' : 'alerting.delivery_timeout_ms reached';
        return {ok: false, attempts: attempt, status, error: `${error} (${reason} before the next retry)`, permanent: false};
      }
    }
  }
}

/** The URL as a report may show it: origin and path, never credentials or a query string (tokens live there too). */
export function webhookTarget(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

/**
 * The webhook's secrets: header values (and the token after a scheme word, `Bearer TOKEN`, `Splunk TOKEN`,
 * wherever it shows up alone), the HMAC secret, the URL's password (as written and decoded) and the Basic
 * credentials a request builds from it.
 */
function webhookSecrets(config: WebhookSinkConfig): string[] {
  const url = new URL(config.url);
  const password = url.password === '' ? [] : [url.password, decodeURIComponent(url.password)];
  const basic =
    url.username === '' && url.password === ''
      ? []
      : [`Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`];
  const headerValues = Object.values(config.headers).flatMap((value) => {
    const token = /^\S+\s+(\S.*)$/.exec(value)?.[1];
    return token === undefined ? [value] : [value, token];
  });
  return [...headerValues, ...(config.hmac_secret === null ? [] : [config.hmac_secret]), ...password, ...basic];
}

/** The webhook sink kind: probed by an authenticated HEAD to the URL a run POSTs to (WebhookSink.probe). */
export const WEBHOOK_SINK: SinkKind<WebhookSinkConfig> = {
  type: 'webhook',
  create: (config, options) => new WebhookSink(config, options.deliveryTimeoutMs === undefined ? {} : {deliveryTimeoutMs: options.deliveryTimeoutMs}),
  secrets: webhookSecrets,
  probe: async (config, timeoutMs) => {
    const probe = await new WebhookSink(config).probe(Math.min(timeoutMs, config.timeout_ms));
    return {reachable: probe.ok, detail: probe.detail};
  },
  where: (config) => webhookTarget(config.url),
};
