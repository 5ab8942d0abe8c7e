// What an attacker's text looks like to a terminal and to bash, for the rule functions visible_text,
// invisible_characters, shell_unquote and shell_normalize (sql-policy.ts, docs/rules-sql.md).
//
// The rules compare names and match literals (`[kworker/0:1]`, `/dev/tcp/`, `nc -e`, `curl … | sh`) in the
// text a process was started with. Three things make that text differ from what a reader sees or what bash runs:
// characters a terminal does not draw (an escape sequence, a zero-width space, a direction override), shell
// quoting that bash removes before it runs the words (`/dev/t""cp`, `n\c`, `$'\x2f'`), and expansions that
// split or space out words (`${IFS}`, `c$@url`, `{bash,-i}`). Each function here undoes them in a single
// forward pass over the text, with no backtracking and no nested rescans, so its time is linear in the
// attacker's text whatever it holds. shell_unquote removes quoting only, exactly as bash does; shell_normalize
// also undoes the expansions, which needs assumptions about the shell's variables (shellNormalize says which).
//
// The texts arrive in DaemonEye's stored form (docs/scan.md, "Text encoding"): a control byte, an invalid
// byte or a byte of a C1 control is written `\xHH`, and a backslash that would read as the start of such an
// escape is written `\\`. decodeStoredText turns that back into characters first.

/**
 * A text built one code unit at a time into a typed array (never longer than `capacity`), with units that can
 * be dropped after they are written: the functions here write each unit once, so their memory is a few bytes
 * per character of input, not a string object per piece.
 */
class TextBuilder {
  private readonly units: Uint16Array;
  private readonly dropped: Uint8Array;
  private anyDropped = false;
  length = 0;

  constructor(capacity: number) {
    this.units = new Uint16Array(capacity);
    this.dropped = new Uint8Array(capacity);
  }

  push(unit: number): void {
    this.units[this.length++] = unit;
  }

  /** Copy `text[from, to)`. */
  copy(text: string, from: number, to: number): void {
    for (let i = from; i < to; i++) this.units[this.length++] = text.charCodeAt(i);
  }

  /** Append a string (a decoded escape: at most two units). */
  append(value: string): void {
    for (let i = 0; i < value.length; i++) this.units[this.length++] = value.charCodeAt(i);
  }

  drop(at: number): void {
    this.dropped[at] = 1;
    this.anyDropped = true;
  }

  /** Drop the units `[from, to)`. */
  dropRange(from: number, to: number): void {
    for (let i = from; i < to; i++) this.dropped[i] = 1;
    if (to > from) this.anyDropped = true;
  }

  /** The unit written at `at` (NaN past the end). */
  at(at: number): number {
    return at < this.length ? (this.units[at] ?? Number.NaN) : Number.NaN;
  }

  /** Overwrite the unit written at `at`. */
  set(at: number, unit: number): void {
    this.units[at] = unit;
  }

  toString(): string {
    let n = this.length;
    if (this.anyDropped) {
      // Squeezed in place (the builder is read once): no second buffer.
      n = 0;
      for (let i = 0; i < this.length; i++) if (this.dropped[i] === 0) this.units[n++] = this.units[i] ?? 0;
      this.dropped.fill(0, 0, this.length);
      this.anyDropped = false;
      this.length = n;
    }
    const parts: string[] = [];
    const chunk = 8192;
    // apply, not a spread: a typed array spread into arguments goes through its iterator, unit by unit.
    for (let i = 0; i < n; i += chunk) parts.push(String.fromCharCode.apply(null, this.units.subarray(i, Math.min(i + chunk, n)) as unknown as number[]));
    return parts.join('');
  }
}

/** Hex digit value of the code unit `c`, or -1. */
function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Whether the stored form escapes the byte `b` (docs/scan.md: 00–08, 0b–1f, 7f–ff). */
function isEscapedByte(b: number): boolean {
  return b <= 0x08 || (b >= 0x0b && b <= 0x1f) || b >= 0x7f;
}

/** The byte of a stored `\xHH` escape at `i` (lower-case hex naming an escaped byte), or -1. */
function escapedByteAt(text: string, i: number): number {
  if (text.charCodeAt(i) !== 0x5c || text.charCodeAt(i + 1) !== 0x78) return -1;
  const high = text.charCodeAt(i + 2);
  const low = text.charCodeAt(i + 3);
  // The stored form writes lower-case digits only: `\x1B` is text as typed.
  if (high >= 0x41 && high <= 0x46) return -1;
  if (low >= 0x41 && low <= 0x46) return -1;
  const h = hexValue(high);
  const l = hexValue(low);
  if (h < 0 || l < 0) return -1;
  const byte = h * 16 + l;
  return isEscapedByte(byte) ? byte : -1;
}

/** U+FFFD: what an invalid byte of the stored form decodes to. */
const REPLACEMENT = 0xfffd;

/**
 * The characters a text in DaemonEye's stored form stands for: `\\` is one backslash, `\xHH` naming a control
 * byte is that control character, `\xc2\xHH` (HH 80–9f) is the C1 control U+0080–U+009F, and any other
 * escaped byte (not valid UTF-8) is U+FFFD. Every other character is itself. Linear in the text.
 */
export function decodeStoredText(text: string): string {
  if (!text.includes('\\')) return text;
  const out = new TextBuilder(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x5c) {
      out.push(c);
      continue;
    }
    if (text.charCodeAt(i + 1) === 0x5c) {
      out.push(0x5c);
      i++;
      continue;
    }
    const byte = escapedByteAt(text, i);
    if (byte < 0) {
      out.push(c);
      continue;
    }
    if (byte === 0xc2) {
      const next = escapedByteAt(text, i + 4);
      if (next >= 0x80 && next <= 0x9f) {
        out.push(next);
        i += 7;
        continue;
      }
    }
    out.push(byte < 0x80 ? byte : REPLACEMENT);
    i += 3;
  }
  return out.toString();
}

/**
 * Code points a terminal draws as nothing (or that only steer how the rest is drawn): format characters
 * (Unicode category Cf: zero-width space and joiners, the bidirectional marks, embeddings, overrides and
 * isolates, the soft hyphen, the word joiner and invisible operators, the BOM, the tag characters), the
 * combining grapheme joiner, the Hangul and Khmer fillers and vowels that draw blank, and the variation
 * selectors.
 */
const FORMAT_CHARACTER = /^\p{Cf}$/u;
const BLANK_RANGES: readonly (readonly [number, number])[] = [
  [0x034f, 0x034f],
  [0x115f, 0x1160],
  [0x17b4, 0x17b5],
  [0x180b, 0x180f],
  [0x3164, 0x3164],
  [0xfe00, 0xfe0f],
  [0xffa0, 0xffa0],
  [0xe0100, 0xe01ef],
];

/** Whether the code point `c` (not ASCII) is one a terminal does not draw (above). */
function isInvisible(c: number): boolean {
  if (BLANK_RANGES.some(([low, high]) => c >= low && c <= high)) return true;
  return FORMAT_CHARACTER.test(String.fromCodePoint(c));
}

/** Whether the code point `c` is a C0 or C1 control character or DEL (tab and line feed included). */
function isControl(c: number): boolean {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

/** Where an escape sequence that starts at `i` (an ESC, or a C1 introducer) ends, exclusive. */
function escapeSequenceEnd(text: string, i: number): number {
  const c = text.charCodeAt(i);
  let kind: number;
  let at: number;
  if (c === 0x1b) {
    if (i + 1 >= text.length) return i + 1;
    kind = text.charCodeAt(i + 1);
    at = i + 2;
    // ESC followed by a C1 introducer's 7-bit form: `[` CSI, `]` OSC, `P` DCS, `X` SOS, `^` PM, `_` APC
    if (kind !== 0x5b && kind !== 0x5d && kind !== 0x50 && kind !== 0x58 && kind !== 0x5e && kind !== 0x5f) {
      // ESC, intermediate bytes (space to `/`), one final byte (`0` to `~`): ESC ( B, ESC 7, ESC c …
      let j = i + 1;
      while (j < text.length && text.charCodeAt(j) >= 0x20 && text.charCodeAt(j) <= 0x2f) j++;
      if (j < text.length && text.charCodeAt(j) >= 0x30 && text.charCodeAt(j) <= 0x7e) j++;
      return j;
    }
  } else {
    // C1 introducers: U+009B CSI, U+009D OSC, U+0090 DCS, U+0098 SOS, U+009E PM, U+009F APC
    kind = c === 0x9b ? 0x5b : c === 0x9d ? 0x5d : 0x50;
    at = i + 1;
  }
  if (kind === 0x5b) {
    // CSI: parameter bytes `0`–`?`, intermediate bytes space–`/`, one final byte `@`–`~`
    let j = at;
    while (j < text.length && text.charCodeAt(j) >= 0x30 && text.charCodeAt(j) <= 0x3f) j++;
    while (j < text.length && text.charCodeAt(j) >= 0x20 && text.charCodeAt(j) <= 0x2f) j++;
    if (j < text.length && text.charCodeAt(j) >= 0x40 && text.charCodeAt(j) <= 0x7e) j++;
    return j;
  }
  // A control string (OSC, DCS, SOS, PM, APC): the terminal swallows everything up to BEL, ST (ESC \) or U+009C.
  let j = at;
  while (j < text.length) {
    const d = text.charCodeAt(j);
    if (d === 0x07 || d === 0x9c) return j + 1;
    if (d === 0x1b && text.charCodeAt(j + 1) === 0x5c) return j + 2;
    j++;
  }
  return j;
}

/** The text with what a terminal does not draw taken out, and how many such pieces there were. */
function splitVisible(text: string): {visible: string; invisible: number} {
  const decoded = decodeStoredText(text);
  const out = new TextBuilder(decoded.length);
  let invisible = 0;
  let from = 0;
  for (let i = 0; i < decoded.length;) {
    const c = decoded.codePointAt(i) ?? 0;
    const width = c > 0xffff ? 2 : 1;
    let end = -1;
    if (c === 0x1b || c === 0x9b || c === 0x9d || c === 0x90 || c === 0x98 || c === 0x9e || c === 0x9f) {
      end = escapeSequenceEnd(decoded, i);
      invisible++;
    } else if (isControl(c) || (c >= 0x80 && isInvisible(c))) {
      end = i + width;
      invisible++;
    } else if (c === REPLACEMENT) {
      // An invalid byte: a terminal draws a replacement mark, so it is not counted as hidden, but it is no
      // part of a name either.
      end = i + width;
    }
    if (end < 0) {
      i += width;
      continue;
    }
    out.copy(decoded, from, i);
    i = end;
    from = end;
  }
  out.copy(decoded, from, decoded.length);
  return {visible: out.toString(), invisible};
}

/**
 * What a terminal shows of `text` (DaemonEye's stored form): its characters (decodeStoredText) without
 * control characters (C0 with tab and line feed, DEL, C1), whole escape sequences (ESC [ … m and the other
 * CSI, OSC … BEL, ESC ( B; their C1 forms), invisible format characters (zero-width, bidirectional
 * controls, BOM, tags), fillers, variation selectors and invalid bytes. `visibleText('\\x1b[0m[kworker/0:2]')`
 * is `[kworker/0:2]`. Linear in the text.
 */
export function visibleText(text: string): string {
  return splitVisible(text).visible;
}

/**
 * How many invisible pieces `text` (stored form) holds: control characters, escape sequences (one each, however
 * long) and invisible format characters, as visibleText removes them; invalid bytes are not counted (a terminal
 * draws them). 0 for a text a terminal shows as it is. Linear in the text.
 */
export function invisibleCharacters(text: string): number {
  return splitVisible(text).invisible;
}

/** The character an ANSI-C escape `\c` (c the code unit after the backslash) stands for, or -1. */
function ansiSimpleEscape(c: number): number {
  switch (c) {
    case 0x61: // \a
      return 0x07;
    case 0x62: // \b
      return 0x08;
    case 0x65: // \e
    case 0x45: // \E
      return 0x1b;
    case 0x66: // \f
      return 0x0c;
    case 0x6e: // \n
      return 0x0a;
    case 0x72: // \r
      return 0x0d;
    case 0x74: // \t
      return 0x09;
    case 0x76: // \v
      return 0x0b;
    case 0x5c: // \\
    case 0x27: // \'
    case 0x22: // \"
    case 0x3f: // \?
      return c;
    default:
      return -1;
  }
}

/**
 * Decode one ANSI-C escape at `i` (the backslash) of a `$'…'` string: returns the text it stands for and
 * where the escape ends. Bounded work: at most 10 characters are read.
 */
function ansiEscape(text: string, i: number): {value: string; end: number} {
  const c = text.charCodeAt(i + 1);
  if (Number.isNaN(c)) return {value: '\\', end: i + 1};
  const simple = ansiSimpleEscape(c);
  if (simple >= 0) return {value: String.fromCharCode(simple), end: i + 2};
  // \nnn: one to three octal digits
  if (c >= 0x30 && c <= 0x37) {
    let value = 0;
    let j = i + 1;
    while (j < i + 4 && text.charCodeAt(j) >= 0x30 && text.charCodeAt(j) <= 0x37) value = value * 8 + (text.charCodeAt(j++) - 0x30);
    return {value: String.fromCharCode(value & 0xff), end: j};
  }
  // \xHH (one or two digits), \uHHHH (one to four), \UHHHHHHHH (one to eight)
  const digits = c === 0x78 ? 2 : c === 0x75 ? 4 : c === 0x55 ? 8 : 0;
  if (digits > 0) {
    let value = 0;
    let j = i + 2;
    while (j < i + 2 + digits && hexValue(text.charCodeAt(j)) >= 0) value = value * 16 + hexValue(text.charCodeAt(j++));
    if (j === i + 2) return {value: text.slice(i, i + 2), end: i + 2};
    return {value: value <= 0x10ffff ? String.fromCodePoint(value) : '\ufffd', end: j};
  }
  // \cX: the control character X & 0x1f
  if (c === 0x63 && i + 2 < text.length) return {value: String.fromCharCode(text.charCodeAt(i + 2) & 0x1f), end: i + 3};
  // Any other escape stays as written, backslash included.
  return {value: text.slice(i, i + 2), end: i + 2};
}

const enum Quote {
  None,
  Single,
  Double,
  AnsiC,
}

/** Whether the code unit `c` ends a word for bash's comment rule (a `#` after one starts a comment). */
function endsWord(c: number): boolean {
  return (
    Number.isNaN(c) || c === 0x20 || c === 0x09 || c === 0x0a || c === 0x3b || c === 0x26 || c === 0x7c || c === 0x28 || c === 0x29 || c === 0x3c || c === 0x3e
  );
}

/** Whether the code unit `c` is a blank bash splits words on. */
function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a;
}

/** Whether the code unit `c` is an ASCII letter or digit. */
function isAlphanumeric(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** Whether the code unit `c` can start a shell variable's name (a letter or `_`). */
function isNameStart(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

/** Whether the code unit `c` can continue a shell variable's name (a letter, digit or `_`). */
function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 0x30 && c <= 0x39);
}

/** Whether `text[from, to)` is the name `IFS`. */
function isIfs(text: string, from: number, to: number): boolean {
  return to - from === 3 && text.charCodeAt(from) === 0x49 && text.charCodeAt(from + 1) === 0x46 && text.charCodeAt(from + 2) === 0x53;
}

/**
 * How far past `${IFS` shellNormalize looks for the `}` of an operator form (`${IFS%??}`, `${IFS:0:1}`): the
 * forms in use are a few characters; the bound keeps each `${IFS` a bounded amount of work.
 */
const IFS_OPERATOR_MAX = 32;

/** The characters that can follow `${IFS` in an operator form: `%` `#` `:` `/` `^` `,` `@` `[`. */
function isParameterOperator(c: number): boolean {
  return c === 0x25 || c === 0x23 || c === 0x3a || c === 0x2f || c === 0x5e || c === 0x2c || c === 0x40 || c === 0x5b;
}

/**
 * How shellNormalize reads the parameter expansion at `i` (a `$` that starts no quote and no `$(`):
 * `blank` (`$IFS`, `${IFS}`, `${IFS%??}` …: bash splits the word there), `empty` (`$@`, `$*`, `$1`–`$9`,
 * `${@}`, `${*}`, `${1}`…: nothing when the shell has no arguments), `variable` (`$name`, `${name}`: any
 * other plain variable, whose value is unknown), `special` (`$$`, `$?`, `$!`, `$-`, `$#`, `$0`: a value the
 * shell always has), or `none` (a `$` bash does not expand, or a `${…}` form with an operator: left as
 * written). `end` is where the expansion ends. Bounded work but for a name, which the caller consumes.
 */
function expansionAt(text: string, i: number): {kind: 'blank' | 'empty' | 'variable' | 'special' | 'none'; end: number} {
  const c = text.charCodeAt(i + 1);
  if (c === 0x40 || c === 0x2a || (c >= 0x31 && c <= 0x39)) return {kind: 'empty', end: i + 2};
  if (c === 0x24 || c === 0x3f || c === 0x21 || c === 0x2d || c === 0x23 || c === 0x30) return {kind: 'special', end: i + 2};
  if (isNameStart(c)) {
    let j = i + 2;
    while (isNameChar(text.charCodeAt(j))) j++;
    return {kind: isIfs(text, i + 1, j) ? 'blank' : 'variable', end: j};
  }
  if (c !== 0x7b) return {kind: 'none', end: i + 1};
  const d = text.charCodeAt(i + 2);
  if ((d === 0x40 || d === 0x2a) && text.charCodeAt(i + 3) === 0x7d) return {kind: 'empty', end: i + 4};
  if (d >= 0x31 && d <= 0x39) {
    let j = i + 3;
    while (text.charCodeAt(j) >= 0x30 && text.charCodeAt(j) <= 0x39) j++;
    return text.charCodeAt(j) === 0x7d ? {kind: 'empty', end: j + 1} : {kind: 'none', end: i + 1};
  }
  if (!isNameStart(d)) return {kind: 'none', end: i + 1};
  let j = i + 3;
  while (isNameChar(text.charCodeAt(j))) j++;
  const after = text.charCodeAt(j);
  if (after === 0x7d) return {kind: isIfs(text, i + 2, j) ? 'blank' : 'variable', end: j + 1};
  if (isIfs(text, i + 2, j) && isParameterOperator(after)) {
    // Not indexOf: a `${IFS%` with no `}` after it would send it to the end of the text, once per `${IFS%`.
    for (let k = j + 1; k <= j + IFS_OPERATOR_MAX && k < text.length; k++) if (text.charCodeAt(k) === 0x7d) return {kind: 'blank', end: k + 1};
  }
  return {kind: 'none', end: i + 1};
}

/** Where an empty command substitution at `i` (`$()`, `$( )`, two backquotes with only blanks between) ends, or -1. */
function emptySubstitutionEnd(text: string, i: number): number {
  const c = text.charCodeAt(i);
  let j: number;
  if (c === 0x24 && text.charCodeAt(i + 1) === 0x28) j = i + 2;
  else if (c === 0x60) j = i + 1;
  else return -1;
  // A run of blanks is read here once more at most: it follows exactly one `$(` or backquote.
  while (isBlank(text.charCodeAt(j))) j++;
  return text.charCodeAt(j) === (c === 0x60 ? 0x60 : 0x29) ? j + 1 : -1;
}

/**
 * One shell text read as bash reads it (shellUnquote's and shellNormalize's work on one word list): its quoting
 * removed and, when `expand`, the expansions an attacker uses to split words undone as shellNormalize documents.
 * A class, not a function with inner closures: a call then creates no function objects (a bundle that keeps
 * names wraps each closure at every call), and the state is plain fields.
 */
class ShellReader {
  // Every step writes no more units than it reads: the output fits in the input's length.
  private readonly out: TextBuilder;
  private state = Quote.None as Quote;
  // Inside "…": the `$(` and backtick substitutions open, each a fresh unquoted context (bash re-reads it).
  private readonly stack: {close: number; depth: number}[] = [];
  private depth = 0;
  // A quoted phrase that starts a word and holds a blank (`grep -e 'nc -e'`) is one argument to bash, not
  // words of the command: it keeps one quote in front, so a pattern that wants `nc` to start a word does not
  // find it there, as it does not in the text as written. A quote inside a word (`n''c`) goes.
  private mark = -1;
  private blankInside = false;
  // (expand) Open brace lists: where each `{` was written and how many commas were on commaAt when it opened;
  // commaAt holds where each unquoted `,` of an open list was written. Flat arrays: `{{{{…` costs a number per
  // brace, not an object.
  private readonly braceAt: number[] = [];
  private readonly braceCommas: number[] = [];
  private readonly commaAt: number[] = [];
  // (expand) Where the last `$IFS` ended in the text: a `{` there starts a word, as after a blank.
  private ifsEnd = -1;
  // (expand) Output ranges [from, to) of plain variables written as they are, judged at the end by what follows.
  private readonly variables: number[] = [];

  constructor(
    private readonly text: string,
    private readonly expand: boolean,
  ) {
    this.out = new TextBuilder(text.length);
  }

  read(): string {
    const {text, out} = this;
    for (let i = 0; i < text.length;) {
      const c = text.charCodeAt(i);
      if ((this.state !== Quote.None || this.stack.length > 0) && isBlank(c)) this.blankInside = true;
      if (this.state === Quote.Single) {
        if (c === 0x27) i = this.close(i);
        else {
          out.push(c);
          i++;
        }
        continue;
      }
      if (this.state === Quote.AnsiC) {
        if (c === 0x27) i = this.close(i);
        else if (c === 0x5c) {
          const escape = ansiEscape(text, i);
          out.append(escape.value);
          i = escape.end;
        } else {
          out.push(c);
          i++;
        }
        continue;
      }
      if (this.state === Quote.Double) {
        const next = this.expand && (c === 0x24 || c === 0x60) ? this.expansion(i) : -1;
        if (next >= 0) i = next;
        else if (c === 0x22) i = this.close(i);
        else if (c === 0x5c) {
          // In "…" a backslash escapes only $ ` " \ and a newline (a line continuation: both go).
          const d = text.charCodeAt(i + 1);
          if (d === 0x0a) i += 2;
          else if (d === 0x24 || d === 0x60 || d === 0x22 || d === 0x5c) {
            out.push(d);
            i += 2;
          } else {
            out.push(c);
            i++;
          }
        } else if (c === 0x24 && text.charCodeAt(i + 1) === 0x28) {
          this.openSubstitution(0x29);
          out.push(0x24);
          out.push(0x28);
          i += 2;
        } else if (c === 0x60) {
          this.openSubstitution(0x60);
          out.push(c);
          i++;
        } else {
          out.push(c);
          i++;
        }
        continue;
      }
      // Unquoted (at the top, or inside a substitution opened in "…").
      const top = this.stack.at(-1);
      if (top !== undefined && c === top.close && (c === 0x60 || this.depth === 0)) {
        // The end of a substitution opened inside "…": back to the double quotes.
        this.stack.pop();
        this.depth = top.depth;
        this.state = Quote.Double;
        this.abandonBraces();
        out.push(c);
        i++;
        continue;
      }
      if (c === 0x28) this.depth++;
      else if (c === 0x29 && this.depth > 0) this.depth--;
      // A blank or an operator ends the word: a brace list still open there is no expansion (`{ cmd; }`).
      if (this.braceAt.length > 0 && endsWord(c)) this.abandonBraces();
      if (c === 0x27) i = this.open(i, 0x27, 1, Quote.Single);
      else if (c === 0x22) i = this.open(i, 0x22, 1, Quote.Double);
      else if (c === 0x24 && text.charCodeAt(i + 1) === 0x27) i = this.open(i, 0x27, 2, Quote.AnsiC);
      // $"…" is a translatable string: quoted as "…" is.
      else if (c === 0x24 && text.charCodeAt(i + 1) === 0x22) i = this.open(i, 0x22, 2, Quote.Double);
      else if (c === 0x5c) {
        // Outside quotes a backslash quotes the next character; before a newline both go (a continuation).
        const d = text.charCodeAt(i + 1);
        if (Number.isNaN(d)) {
          out.push(c);
          i++;
        } else {
          if (d !== 0x0a) out.push(d);
          i += 2;
        }
      } else if (c === 0x23 && endsWord(text.charCodeAt(i - 1))) {
        // A comment runs to the end of the line with no quoting inside: bash does not pair a quote in it.
        const newline = text.indexOf('\n', i);
        const stop = newline < 0 ? text.length : newline;
        out.copy(text, i, stop);
        i = stop;
      } else if (this.expand) i = this.unquotedExpansion(i);
      else {
        out.push(c);
        i++;
      }
    }
    // An unclosed quote runs to the end of the text: its phrase is settled there.
    if (this.state !== Quote.None || this.stack.length > 0) this.settle();
    // A plain variable glued to a letter or digit after it (`c${x}url`, `/dev/${x}tcp`, `c$u\url`) is taken as
    // unset, so empty; one before a blank, an operator, `/`, `.`, `=` or the end (`$HOME/x`, `${NAME}.log`,
    // `--dir=$D`, `x$N`) stays as written. Each range is looked at once.
    const {variables} = this;
    for (let k = 0; k + 1 < variables.length; k += 2) {
      const to = variables[k + 1] ?? 0;
      if (isAlphanumeric(out.at(to))) out.dropRange(variables[k] ?? 0, to);
    }
    return out.toString();
  }

  private open(i: number, quote: number, length: number, next: Quote): number {
    if (this.stack.length === 0) {
      // Written now, dropped at the close unless the phrase held a blank.
      this.mark = endsWord(this.text.charCodeAt(i - 1)) ? this.out.length : -1;
      if (this.mark >= 0) this.out.push(quote);
      this.blankInside = false;
    }
    this.state = next;
    return i + length;
  }

  private settle(): void {
    if (this.mark >= 0 && !this.blankInside) this.out.drop(this.mark);
    this.mark = -1;
  }

  private close(i: number): number {
    if (this.stack.length === 0) this.settle();
    this.state = Quote.None;
    return i + 1;
  }

  /** A `$(` or backtick inside "…": an unquoted context until `close`. */
  private openSubstitution(close: number): void {
    this.stack.push({close, depth: this.depth});
    this.depth = 0;
    this.state = Quote.None;
    this.abandonBraces();
  }

  private abandonBraces(): void {
    this.braceAt.length = 0;
    this.braceCommas.length = 0;
    this.commaAt.length = 0;
  }

  /**
   * (expand) Whether a `{` at `i` can open a brace list: at a word's start (after a blank, an operator or a
   * `$IFS`), or as an element of an open list (`{{bash,-i},x}`).
   */
  private startsBraceList(i: number): boolean {
    const before = this.text.charCodeAt(i - 1);
    return endsWord(before) || i === this.ifsEnd || (this.braceAt.length > 0 && (before === 0x7b || before === 0x2c));
  }

  /**
   * (expand) A `$` expansion or an empty substitution at `i` (not a quote): written as shellNormalize reads it;
   * returns where the text goes on, or -1 when there is none (the `$` is then an ordinary character).
   */
  private expansion(i: number): number {
    const {text, out} = this;
    const empty = emptySubstitutionEnd(text, i);
    if (empty >= 0) return empty;
    if (text.charCodeAt(i) !== 0x24) return -1;
    const found = expansionAt(text, i);
    switch (found.kind) {
      case 'blank':
        out.push(0x20);
        if (this.state !== Quote.None || this.stack.length > 0) this.blankInside = true;
        this.ifsEnd = found.end;
        return found.end;
      case 'empty':
        return found.end;
      case 'variable': {
        const from = out.length;
        out.copy(text, i, found.end);
        // Variables written one after another (`${a}${b}`) are judged together.
        const {variables} = this;
        if (variables.length > 0 && variables[variables.length - 1] === from) variables[variables.length - 1] = out.length;
        else variables.push(from, out.length);
        return found.end;
      }
      case 'special':
        out.copy(text, i, found.end);
        return found.end;
      default:
        return -1;
    }
  }

  /** (expand) An unquoted character that is no quote, backslash or comment: expansions and brace lists. */
  private unquotedExpansion(i: number): number {
    const {text, out} = this;
    const c = text.charCodeAt(i);
    const next = c === 0x24 || c === 0x60 ? this.expansion(i) : -1;
    if (next >= 0) return next;
    if (c === 0x7b && this.startsBraceList(i)) {
      this.braceAt.push(out.length);
      this.braceCommas.push(this.commaAt.length);
    } else if (c === 0x2c && this.braceAt.length > 0) this.commaAt.push(out.length);
    else if (c === 0x7d && this.braceAt.length > 0) {
      // The end of a brace list: with a comma it expands (`{bash,-i}` is `bash -i`), without one (`{}`, `{a}`)
      // it is literal, as in bash.
      const at = this.braceAt.pop() ?? 0;
      const base = this.braceCommas.pop() ?? 0;
      if (this.commaAt.length > base) {
        out.drop(at);
        for (let k = base; k < this.commaAt.length; k++) out.set(this.commaAt[k] ?? 0, 0x20);
        this.commaAt.length = base;
        return i + 1;
      }
    }
    out.push(c);
    return i + 1;
  }
}

/** One shell text read by a ShellReader. */
function unquoteOne(text: string, expand: boolean): string {
  return new ShellReader(text, expand).read();
}

/** The characters without which shellUnquote leaves a text as it is: quotes and the backslash. */
const QUOTING = /['"\\]/;
/** The characters without which shellNormalize leaves a text as it is: those, `$`, the backquote and `{`. */
const QUOTING_OR_EXPANSION = /['"\\$`{]/;

/**
 * Each argument of a JSON array of strings read on its own by `one`, or the whole text when it is no such array;
 * an argument without a character of `special` is itself (most arguments: no pass, no buffers).
 */
function eachArgument(text: string, special: RegExp, one: (word: string) => string): string {
  const read = (word: string): string => {
    const decoded = decodeStoredText(word);
    return special.test(decoded) ? one(decoded) : decoded;
  };
  if (text.startsWith('[')) {
    let words: unknown;
    try {
      words = JSON.parse(text);
    } catch {
      words = undefined;
    }
    if (Array.isArray(words) && words.every((word) => typeof word === 'string')) {
      return (words as string[]).map(read).join(' ');
    }
  }
  return read(text);
}

/**
 * `text` with shell quoting removed the way bash removes it before it runs the words, so that literals split
 * by quoting read whole again: `/dev/t""cp` and `/dev/t''cp` are `/dev/tcp`, `n\c` is `nc`, `$'\x2f'dev` is
 * `/dev`, `"$(cu''rl x)"` is `$(curl x)`. `'…'` keeps its content as is, `"…"` keeps it but for `\$ \` \" \\`
 * and line continuations, `$'…'` decodes the ANSI-C escapes (`\xHH`, `\nnn`, `\uHHHH`, `\n`, `\e`, `\cX`, …),
 * an unquoted backslash quotes the next character, a comment (`#` starting a word) keeps its quotes, and a
 * `$(…)` or backtick inside `"…"` is read unquoted again. An unclosed quote runs to the end of the text. A quoted
 * phrase that starts a word and holds a blank keeps one quote in front (`grep 'nc -e'` is `grep 'nc -e`): it is
 * one argument, and its first word does not start a command.
 * Only quoting is removed: expansions (`$IFS`, `${x}`, `$@`) and brace expansion stay as written (shellNormalize
 * undoes those), and aliases are not undone.
 *
 * `text` is DaemonEye's stored form (decodeStoredText is applied first). When it is a JSON array of strings
 * (the `command_line` column), each argument is unquoted on its own, so that a quote in one argument (argv[0]
 * set to `'`) cannot change how another is read, and the results are joined with single spaces as `cmdline`
 * is. Returns plain text (not the stored form). Linear in the text: one pass, each character read a bounded
 * number of times.
 */
export function shellUnquote(text: string): string {
  return eachArgument(text, QUOTING, (word) => unquoteOne(word, false));
}

/**
 * `text` read as the command bash would run when the shell has no arguments and the variables an attacker
 * slips into a word are unset: shellUnquote's quote removal, and in the same pass the expansions public
 * intrusion write-ups use to split or space out words that signatures look for:
 * - `$IFS`, `${IFS}` and any `${IFS<op>…}` (`${IFS%??}`, `${IFS:0:1}`) are one blank (bash splits the word
 *   there): `cat${IFS}/etc/shadow` is `cat /etc/shadow`, `cat$IFS$9/etc/shadow` too;
 * - positional parameters (`$1`–`$9`, `${1}`, `${12}`), `$@`, `$*`, `${@}`, `${*}`, and empty command
 *   substitutions (`$()`, `$( )`, two backquotes with nothing but blanks between) are nothing: `c$@url`,
 *   `cu$()rl` and `` w``get `` are `curl` and `wget`;
 * - another plain variable (`$u`, `${x}`) is nothing when a letter or digit follows it in the word (`n${x}c`,
 *   `/dev/${x}tcp`, `c$u\url`), and stays as written otherwise (`$HOME/x`, `cp $A $B/`, `${NAME}.log`,
 *   `--dir=$D`): bash's value is unknown here, and an unset variable inside a word is the obfuscation, while an
 *   admin's variable stands for a whole word, a path's start or a word's end; variables written together
 *   (`c${a}${b}url`) are judged together;
 * - a brace list with a comma (`{bash,-i}`, `{curl,-fsSL,http://x/a.sh}`) that starts a word (after a blank, an
 *   operator or `$IFS`), or is an element of one, is its elements separated by blanks: `bash -i`; a text glued
 *   after the `}` follows the last element once (`{a,b}.txt` is `a b.txt`, where bash repeats it); a list
 *   without a comma (`{}`, `{a}`), a sequence (`{1..5}`) and a list inside a word (`x{a,b}`) stay as written.
 * `$0`, `$$`, `$?`, `$!`, `$-`, `$#` and `${x…}` forms with an operator (`${x:-curl}`, `${#x}`) stay as
 * written, as do variables set earlier in the text, aliases, functions and `eval` of a built string.
 * Inside `'…'` and `$'…'` nothing is expanded; inside `"…"` the parameters and substitutions are read as
 * above and brace lists are literal, as in bash.
 *
 * Reads the stored form, one JSON argument at a time, and returns plain text, as shellUnquote does. Never longer
 * than its input. Linear in the text: one pass, each character read a bounded number of times (a `${IFS`
 * operator form is looked at up to IFS_OPERATOR_MAX characters ahead; a brace or comma is kept as one number
 * until its list closes).
 */
export function shellNormalize(text: string): string {
  return eachArgument(text, QUOTING_OR_EXPANSION, (word) => unquoteOne(word, true));
}
