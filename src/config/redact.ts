// Secrets in configuration (webhook headers, HMAC secrets, credentials and tokens in URLs) never reach stdout,
// logs or reports. Each configuration key has a kind under the redaction policy (src/redaction): a secret
// (its name says so, or it is a header value) is replaced whole, a URL keeps all but its credentials, any
// other string is free text. secretValues() lists the secret values themselves, so a message that quotes one
// (an error of a library, a server's answer) is scrubbed too.
import {REDACTED, DEFAULT_REDACTOR, type RedactionKind, Scrubber} from '../redaction/redact.js';

export {REDACTED} from '../redaction/redact.js';

/** True when the value at this dotted path is a secret: every header value, and keys named for a secret. */
export function isSecretPath(path: readonly (string | number)[]): boolean {
  const last = String(path[path.length - 1] ?? '');
  // Every header value is treated as a secret: Authorization, Splunk tokens, API keys.
  if (path.length >= 2 && path[path.length - 2] === 'headers') return true;
  return typeof path[path.length - 1] === 'string' && DEFAULT_REDACTOR.isSecretName(last);
}

/** The redaction kind of the value at a configuration path: `secret` (replaced whole), `url` or free `text`. */
export function configValueKind(path: readonly (string | number)[]): 'secret' | Extract<RedactionKind, 'url' | 'text'> {
  if (isSecretPath(path)) return 'secret';
  const last = String(path[path.length - 1] ?? '').toLowerCase();
  return last === 'url' || last.endsWith('_url') || last === 'endpoint' ? 'url' : 'text';
}

/** A value found at `path` as it may be shown: a secret's replaced, a URL's credentials and a text's secrets redacted. */
export function redactConfigValue(path: readonly (string | number)[], value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const kind = configValueKind(path);
  if (kind === 'secret') return value === '' ? value : REDACTED;
  return DEFAULT_REDACTOR.value(kind, value);
}

/** A deep copy with every secret value replaced (by the kind of its key). */
export function redactSecrets<T>(value: T, path: (string | number)[] = []): T {
  if (Array.isArray(value)) return value.map((item, index) => redactSecrets(item, [...path, index])) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = redactSecrets(item, [...path, key]);
    return out as T;
  }
  if (value !== null && value !== undefined && typeof value !== 'string' && path.length > 0 && isSecretPath(path)) return REDACTED as T;
  return redactConfigValue(path, value) as T;
}

/**
 * The secret values a configuration holds, as they could appear in a message: values at secret paths (and the
 * token after a header's scheme word, `Bearer TOKEN`), URL passwords (raw and decoded) and the values of
 * secret query parameters. Values shorter than 4 characters are left out (Scrubber ignores them).
 */
export function secretValues(values: unknown, path: (string | number)[] = []): string[] {
  if (Array.isArray(values)) return values.flatMap((item, index) => secretValues(item, [...path, index]));
  if (values !== null && typeof values === 'object') return Object.entries(values).flatMap(([key, item]) => secretValues(item, [...path, key]));
  if (typeof values !== 'string' || values === '') return [];
  const kind = configValueKind(path);
  if (kind === 'secret') {
    const token = /^\S+\s+(\S.*)$/.exec(values)?.[1];
    return token === undefined ? [values] : [values, token];
  }
  if (kind !== 'url') return [];
  return urlSecrets(values);
}

function urlSecrets(url: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [];
  }
  const out: string[] = [];
  if (parsed.password !== '') out.push(parsed.password, safeDecode(parsed.password));
  for (const [key, value] of parsed.searchParams) if (value !== '' && DEFAULT_REDACTOR.isSecretQueryKey(key)) out.push(value, encodeURIComponent(value));
  return [...new Set(out)].filter((secret) => secret.length >= 4);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** A Scrubber that knows this configuration's secret values. */
export function configScrubber(values: unknown): Scrubber {
  const scrubber = new Scrubber();
  for (const secret of secretValues(values)) scrubber.add(secret);
  return scrubber;
}
