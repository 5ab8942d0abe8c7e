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

// What a whole text for a terminal may keep of its own making: line feeds, tabs, CR LF line ends (CSV) and, when
// colour is on, the SGR sequences of our palette (src/output/colour.ts: chalk's 16 colours, bold and dim).
const OUTPUT_UNSAFE = /\u001b\[(?:[0-9]{1,2})m|\r\n|[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const PALETTE_SGR = new Set(['0', '1', '2', '22', '31', '32', '33', '36', '39', '90']);

/**
 * A whole rendered text about to be written to a terminal, whatever its format (table, tree, text, CSV, JSON):
 * every control character the renderer left (ESC, OSC, BEL, a lone CR, bidi overrides …) made visible, as
 * terminalSafe does for one value. Line structure stays; the palette's colours stay when `colour` is on.
 */
export function terminalOutput(text: string, colour: boolean): string {
  return text.replace(OUTPUT_UNSAFE, (match) => {
    if (match === '\r\n') return match;
    if (match.length > 1) return colour && PALETTE_SGR.has(match.slice(2, -1)) ? match : `\\x1b${match.slice(1)}`;
    return escapeChar(match);
  });
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
