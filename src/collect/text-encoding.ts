// The one lossless text form of collected bytes. Names, paths, argv and environment values are bytes on
// Linux (not necessarily UTF-8, any byte but NUL) and they are the attacker's: every table writes them with
// escapeBytes, so the same bytes are the same text in every table and rules comparing them match.

const BACKSLASH = 0x5c;
const LOWER_X = 0x78;

/**
 * Bytes that never stand for themselves in the text: C0 control characters other than tab and line feed,
 * DEL, and every byte from 0x80 up (written escaped when it is not part of a well-formed UTF-8 sequence, or
 * when it belongs to a C1 control character, U+0080–U+009F). Tab and line feed stay as they are: shells split
 * words on them, so a rule's `\s` must keep matching them.
 */
function escapable(byte: number): boolean {
  return byte < 0x09 || (byte > 0x0a && byte < 0x20) || byte >= 0x7f;
}

/**
 * Length of the well-formed UTF-8 sequence starting at `at`, or 0 when the byte there does not start one
 * (the Unicode Standard, table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF).
 */
function utf8SequenceLength(bytes: Uint8Array, at: number): number {
  const b0 = bytes[at] as number;
  if (b0 < 0x80) return 1;
  const cont = (i: number, lo = 0x80, hi = 0xbf): boolean => {
    const b = bytes[at + i];
    return b !== undefined && b >= lo && b <= hi;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((b0 >= 0xe1 && b0 <= 0xec) || b0 === 0xee || b0 === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (b0 === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (b0 === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (b0 >= 0xf1 && b0 <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b0 === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** Number of bytes at `at` that are written as themselves (one character), 0 when the byte there is escaped. */
function keptLength(bytes: Uint8Array, at: number): number {
  const b0 = bytes[at] as number;
  if (b0 < 0x80) return escapable(b0) ? 0 : 1;
  const length = utf8SequenceLength(bytes, at);
  // C1 controls, U+0080–U+009F, are the two-byte sequences C2 80 … C2 9F.
  if (length === 2 && b0 === 0xc2 && (bytes[at + 1] as number) < 0xa0) return 0;
  return length;
}

const HEX_DIGIT = (code: number | undefined): number => {
  if (code === undefined) return -1;
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x61 && code <= 0x66) return code - 0x61 + 10;
  return -1;
};

/** The byte `\xHH` at `at` (in bytes or char codes) stands for, or -1 when it is not an escape. */
function escapeAt(code: (i: number) => number | undefined, at: number): number {
  if (code(at) !== BACKSLASH || code(at + 1) !== LOWER_X) return -1;
  const high = HEX_DIGIT(code(at + 2));
  const low = HEX_DIGIT(code(at + 3));
  if (high < 0 || low < 0) return -1;
  const byte = high * 16 + low;
  return escapable(byte) ? byte : -1;
}

/**
 * A backslash at `at` is doubled when, written alone, a reader would take it for the start of an escape:
 * when what follows it in the text starts with a backslash (the next byte is one, or is itself escaped) or
 * with `x` and two lower-case hex digits naming an escapable byte.
 */
function backslashNeedsDoubling(bytes: Uint8Array, at: number): boolean {
  const next = at + 1;
  if (next >= bytes.length) return false;
  if (bytes[next] === BACKSLASH || keptLength(bytes, next) === 0) return true;
  return escapeAt((i) => (i === at ? BACKSLASH : bytes[i]), at) >= 0;
}

// Plain text (printable ASCII, tab, line feed, no backslash) is its own form: the common case, tested with
// one regular expression over the bytes read as latin1.
const NOT_PLAIN = /[\x00-\x08\x0b-\x1f\\\x7f-\xff]/;

/**
 * The text of `bytes`, losslessly: every character of a well-formed UTF-8 sequence stays itself, except
 * control characters; each byte that is not UTF-8, and each byte of a control character other than tab and
 * line feed (C0, DEL, the C1 range U+0080–U+009F), is written `\xHH` (two lower-case hex digits); a
 * backslash that would read as the start of such an escape (before another backslash, before an escaped
 * byte, or before `x` and two hex digits naming an escapable byte) is written `\\`. Every other backslash,
 * and so `printf '\x41'` or `C:\temp`, stays as it is. `unescapeBytes` gives the exact bytes back.
 * Used for every name, path and value a scan collects, in every table.
 */
export function escapeBytes(bytes: Uint8Array): string {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const latin1 = buffer.toString('latin1');
  if (!NOT_PLAIN.test(latin1)) return latin1;
  let out = '';
  let runStart = 0;
  let at = 0;
  const flush = (end: number): void => {
    if (end > runStart) out += buffer.toString('utf8', runStart, end);
  };
  while (at < buffer.length) {
    const b = buffer[at] as number;
    if (b === BACKSLASH) {
      if (backslashNeedsDoubling(buffer, at)) {
        flush(at);
        out += '\\\\';
        runStart = at + 1;
      }
      at++;
      continue;
    }
    const length = keptLength(buffer, at);
    if (length > 0) {
      at += length;
      continue;
    }
    flush(at);
    out += `\\x${b < 0x10 ? '0' : ''}${b.toString(16)}`;
    at++;
    runStart = at;
  }
  flush(at);
  return out;
}

/** escapeBytes of bytes carried in a latin1 string (one char per byte), as /proc text is read here. */
export function escapeLatin1(text: string): string {
  return NOT_PLAIN.test(text) ? escapeBytes(Buffer.from(text, 'latin1')) : text;
}

/**
 * escapeBytes of a JavaScript string's UTF-8 (text that reached us already decoded, e.g. from another tool:
 * its control characters are escaped; bytes it lost to U+FFFD cannot be recovered).
 */
export function escapeText(text: string): string {
  return escapeBytes(Buffer.from(text, 'utf8'));
}

/** Whether escapeBytes writes any escape for these bytes (the text is not simply their UTF-8). */
export function needsEscape(bytes: Uint8Array): boolean {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!NOT_PLAIN.test(buffer.toString('latin1'))) return false;
  return escapeBytes(buffer) !== buffer.toString('utf8');
}

/**
 * The exact bytes of a text written by escapeBytes: `\\` is a backslash, `\xHH` (lower-case hex) naming a
 * byte escapeBytes escapes is that byte, every other character is its UTF-8.
 */
export function unescapeBytes(text: string): Buffer {
  const parts: Buffer[] = [];
  let runStart = 0;
  const code = (i: number): number | undefined => (i < text.length ? text.charCodeAt(i) : undefined);
  for (let at = 0; at < text.length; at++) {
    if (text.charCodeAt(at) !== BACKSLASH) continue;
    if (code(at + 1) === BACKSLASH) {
      parts.push(Buffer.from(text.slice(runStart, at + 1), 'utf8'));
      at += 1;
      runStart = at + 1;
      continue;
    }
    const byte = escapeAt(code, at);
    if (byte < 0) continue;
    parts.push(Buffer.from(text.slice(runStart, at), 'utf8'), Buffer.from([byte]));
    at += 3;
    runStart = at + 1;
  }
  parts.push(Buffer.from(text.slice(runStart), 'utf8'));
  return Buffer.concat(parts);
}
