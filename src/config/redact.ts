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

const isSchemeChar = (c: number): boolean =>
  (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2e || c === 0x2d;
const isLetter = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
/** JavaScript's `\s`: ASCII and Unicode spaces, line terminators and the BOM. */
const isSpace = (c: number): boolean =>
  (c >= 0x09 && c <= 0x0d) ||
  c === 0x20 ||
  c === 0xa0 ||
  c === 0x1680 ||
  (c >= 0x2000 && c <= 0x200a) ||
  c === 0x2028 ||
  c === 0x2029 ||
  c === 0x202f ||
  c === 0x205f ||
  c === 0x3000 ||
  c === 0xfeff;
const SLASH = 0x2f;
const COLON = 0x3a;
const AT = 0x40;

/**
 * `https://user:pass@host/` becomes `https://user:[REDACTED]@host/`: every `scheme://user:password@` (scheme
 * `[a-z][a-z0-9+.-]*`, user without `/`, whitespace, `:`, `@`; password without `/`, whitespace, `@`) has its
 * password replaced. A scan in time linear in `text`, since argv and environments are the attacker's text:
 * the regular expression this replaces took quadratic time (1.8 s for 16 KB of letters before a `://`).
 */
export function redactUrlCredentials(text: string): string {
  const out: string[] = [];
  let copied = 0;
  for (let q = text.indexOf('://'); q !== -1; q = text.indexOf('://', q + 1)) {
    // The scheme: the run of scheme characters before `://`, from its first letter (it must not start before what was copied).
    let start = q;
    while (start > copied && isSchemeChar(text.charCodeAt(start - 1))) start--;
    while (start < q && !isLetter(text.charCodeAt(start))) start++;
    if (start === q) continue;
    // user `:` password `@`, each a run of allowed characters (neither run can hold the character that ends it).
    let i = q + 3;
    for (let c = text.charCodeAt(i); i < text.length && c !== SLASH && c !== COLON && c !== AT && !isSpace(c); c = text.charCodeAt(++i));
    if (text.charCodeAt(i) !== COLON) continue;
    const colon = i++;
    for (let c = text.charCodeAt(i); i < text.length && c !== SLASH && c !== AT && !isSpace(c); c = text.charCodeAt(++i));
    if (text.charCodeAt(i) !== AT) continue;
    out.push(text.slice(copied, colon + 1), REDACTED);
    copied = i;
    q = i;
  }
  return copied === 0 ? text : out.join('') + text.slice(copied);
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
