// Secrets in configuration (webhook headers, HMAC secrets, credentials in URLs) never reach stdout or logs.
export const REDACTED = '[REDACTED]';

const SECRET_KEY = /(secret|password|passwd|token|api_?key|credential)/i;

/** True when the value at this dotted path is a secret. */
export function isSecretPath(path: readonly (string | number)[]): boolean {
  const last = String(path[path.length - 1] ?? '');
  // Every header value is treated as a secret: Authorization, Splunk tokens, API keys.
  if (path.length >= 2 && path[path.length - 2] === 'headers') return true;
  return SECRET_KEY.test(last);
}

/** `https://user:pass@host/` becomes `https://user:[REDACTED]@host/`. */
export function redactUrlCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^/\s:@]*):[^/\s@]*@/gi, `$1:${REDACTED}@`);
}

/** A deep copy with every secret value replaced. */
export function redactSecrets<T>(value: T, path: (string | number)[] = []): T {
  if (typeof value === 'string') {
    return (isSecretPath(path) ? REDACTED : redactUrlCredentials(value)) as T;
  }
  if (Array.isArray(value)) return value.map((item, index) => redactSecrets(item, [...path, index])) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = item !== null && typeof item !== 'object' && isSecretPath([...path, key]) ? REDACTED : redactSecrets(item, [...path, key]);
    }
    return out as T;
  }
  return value;
}
