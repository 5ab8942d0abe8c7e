// Terminal safety: process names and argv are attacker-controlled text. Before anything reaches a
// terminal, control characters, escape sequences and invisible characters are made visible instead of being
// interpreted or hidden. One definition (TERMINAL_UNSAFE_CLASS) serves every format and every message:
// per value (terminalSafe), a whole rendered text (terminalOutput) and JSON text (safeJson).

import type {OutputContent} from '../util/output-file.js';

/**
 * What a terminal never receives raw, as the body of a Unicode regular-expression class (docs/redaction.md,
 * "Terminals"):
 * - `Cc`: C0 controls, DEL, C1 controls: ESC starts every escape sequence (CSI, OSC: title, clipboard), CR and
 *   backspace rewrite what was printed, 0x9b is a one-byte CSI;
 * - `Cf`: every format character: bidi marks (U+200E/F, U+061C), embeddings, overrides and isolates
 *   (U+202A–E, U+2066–9), which reorder what a reader sees; zero-width space and joiners (U+200B–D), word joiner
 *   (U+2060), BOM (U+FEFF), soft hyphen, invisible operators, interlinear annotations, tag characters
 *   (U+E0000–E007F), which hide text or make two different strings look the same;
 * - `Cs`: a lone surrogate (printed as U+FFFD, so the value on screen would not be the value held);
 * - `Zl`, `Zp`: U+2028 and U+2029, line breaks to a terminal, a JSON parser and JavaScript;
 * - every Default_Ignorable_Code_Point not already named: variation selectors (U+FE00–F, U+E0100–E01EF),
 *   Hangul fillers (U+115F, U+1160, U+3164, U+FFA0), the combining grapheme joiner, Mongolian free variation
 *   selectors, Khmer inherent vowels: each is drawn as nothing.
 * Letters, digits, marks and symbols of every script stay as they are (`José`, `журнал`, `進程`, combining
 * accents): only what cannot be seen, or acts instead of being seen, is escaped. An emoji joined by U+200D or
 * followed by U+FE0F shows that character escaped: a process name is read for what it holds, not drawn.
 */
export const TERMINAL_UNSAFE_CLASS = String.raw`\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}`;

const UNSAFE = new RegExp(`[${TERMINAL_UNSAFE_CLASS}]`, 'gu');

/** `\n`, `\t`, `\r`; `\xHH` up to U+00FF; `\uHHHH`; `\u{HHHHH}` past U+FFFF (a tag character, a variation selector). */
function escapeChar(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  if (char === '\n') return '\\n';
  if (char === '\t') return '\\t';
  if (char === '\r') return '\\r';
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
  return code <= 0xffff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\u{${code.toString(16)}}`;
}

/** Text content of a file the user named (src/util/output-file.ts): escaped as terminalOutput does, when the path turns out to be a terminal. */
export const TERMINAL_TEXT: OutputContent = {type: 'text', escape: (text) => terminalOutput(text, false)};

/** Replace every character of TERMINAL_UNSAFE_CLASS (and thereby every escape sequence's ESC) with a visible escape. */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

// What a whole text for a terminal may keep of its own making: line feeds, tabs, CR LF line ends (CSV, whose
// cells carry no raw CR or LF on a terminal: csvField) and, when colour is on, the SGR sequences of our palette
// (src/output/colour.ts: chalk's 16 colours, bold and dim). Everything else of the class is escaped.
const OUTPUT_UNSAFE = new RegExp(String.raw`\u001b\[(?:[0-9]{1,2})m|\r\n|(?![\n\t])[${TERMINAL_UNSAFE_CLASS}]`, 'gu');
const PALETTE_SGR = new Set(['0', '1', '2', '22', '31', '32', '33', '36', '39', '90']);

/**
 * A whole rendered text about to be written to a terminal, whatever its format (table, tree, text, CSV, JSON):
 * every character of TERMINAL_UNSAFE_CLASS the renderer left (ESC, OSC, BEL, a lone CR, bidi marks, zero-width
 * characters …) made visible, as terminalSafe does for one value. Line structure stays; the palette's colours
 * stay when `colour` is on.
 */
export function terminalOutput(text: string, colour: boolean): string {
  return text.replace(OUTPUT_UNSAFE, (match) => {
    if (match === '\r\n') return match;
    // An SGR sequence: kept when it is one of the palette's and colour is on, else its ESC made visible.
    if (match.length > 1 && match.charCodeAt(0) === 0x1b) return colour && PALETTE_SGR.has(match.slice(2, -1)) ? match : `\\x1b${match.slice(1)}`;
    return escapeChar(match);
  });
}

// JSON.stringify escapes C0 controls and lone surrogates; the rest of the class it leaves raw.
const JSON_UNSAFE = new RegExp(`(?![\\u0000-\\u001f])[${TERMINAL_UNSAFE_CLASS}]`, 'gu');

/** Each UTF-16 unit of `char` as `\uXXXX` (a character past U+FFFF as its surrogate pair): valid in JSON. */
function jsonEscape(char: string): string {
  let out = '';
  for (let i = 0; i < char.length; i++) out += `\\u${char.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return out;
}

/**
 * JSON text (from JSON.stringify or SQLite's json_object) with every character of TERMINAL_UNSAFE_CLASS that
 * is still raw written as a `\uXXXX` escape: the same JSON value, safe on a terminal and for a JavaScript parser.
 */
export function escapeJsonText(json: string): string {
  return json.replace(JSON_UNSAFE, jsonEscape);
}

/** JSON text with the characters JSON.stringify leaves raw escaped as \uXXXX (still valid JSON: escapeJsonText). */
export function safeJson(value: unknown, indent?: number): string {
  return escapeJsonText(JSON.stringify(value, null, indent));
}

/** Shorten to at most `width` columns, marking the cut with an ellipsis. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  const chars = [...text];
  if (chars.length <= width) return text;
  return `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}
