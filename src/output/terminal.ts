// Terminal safety: process names and argv are attacker-controlled text. Before anything reaches a
// terminal, control characters and escape sequences are made visible instead of being interpreted.

// C0 controls, DEL, C1 controls, and the Unicode line/paragraph separators and bidi overrides that can
// reorder what a reader sees.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  if (char === '\n') return '\\n';
  if (char === '\t') return '\\t';
  if (char === '\r') return '\\r';
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Replace every control character (and thereby every ANSI escape sequence's ESC) with a visible escape. */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

// JSON.stringify escapes C0 controls but leaves C1 controls (0x80–0x9f, e.g. CSI 0x9b) and U+2028/9 raw.
const JSON_UNSAFE = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** JSON text with the characters JSON.stringify leaves raw escaped as \uXXXX (still valid JSON). */
export function safeJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(JSON_UNSAFE, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}

/** Shorten to at most `width` columns, marking the cut with an ellipsis. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  const chars = [...text];
  if (chars.length <= width) return text;
  return `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}
