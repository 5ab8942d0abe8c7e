// RFC 8785 (JCS) canonical JSON: the exact bytes the audit ledger hashes and signs, so a third party
// can recompute them in any language (docs/audit.md).
import {DaemonEyeError} from '../errors.js';

/**
 * Serialise a JSON value canonically: object keys sorted by UTF-16 code units, no whitespace, numbers in
 * ECMAScript shortest form (what `JSON.stringify` prints for finite numbers), strings escaped as
 * `JSON.stringify` does (which is JCS for well-formed strings). Non-JSON values are refused, not dropped.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw notJson(`the number ${String(value)}`);
      return JSON.stringify(value);
    case 'string':
      if (/\p{Surrogate}/u.test(value) && !isWellFormed(value)) throw notJson('a string with a lone surrogate');
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, item]) => item !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
    }
    default:
      throw notJson(`a value of type ${typeof value}`);
  }
}

function isWellFormed(text: string): boolean {
  return (
    (text as string & {isWellFormed?: () => boolean}).isWellFormed?.() ?? !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text)
  );
}

function notJson(what: string): DaemonEyeError {
  return new DaemonEyeError('INVALID_ARGUMENT', `cannot encode ${what} as canonical JSON`, {hint: 'audit payloads must be plain JSON'});
}

/** A payload made plain JSON (undefined members dropped, dates as strings), as it will be stored. */
export function toPlainJson(value: unknown): unknown {
  if (value === undefined) return null;
  return JSON.parse(JSON.stringify(value)) as unknown;
}
