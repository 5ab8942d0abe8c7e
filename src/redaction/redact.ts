// Applies the redaction policy (src/redaction/policy.ts) by kind of value: an argv array, an environment
// variable's value, a URL, free text (log lines, error messages, report fields). Secrets become `[REDACTED]` in
// place, so a reader (and a rule) still sees that a secret was passed and where, never the secret.
//
// Every function here runs in time linear in its input (see the header of policy.ts for how the patterns are
// written) and throws on no input. Most values (`/usr/bin/x`, `--verbose`) hold none of the words any rule
// needs: one factored scan (`quick`) lets them through untouched, so a scan of a thousand processes pays little.
import {
  DEFAULT_SHORT_FLAGS,
  NON_SECRET_SUFFIXES,
  PAIR_FLAGS,
  PAIR_SHORT_FLAGS,
  PRIVATE_KEY_BEGIN,
  REDACTED,
  SECRET_QUERY_KEYS,
  SECRET_WORDS,
  TOKEN_RULES,
  type TokenRule,
} from './policy.js';

export {REDACTED} from './policy.js';

/** Where the policy is described for readers of an evidence manifest or a health report. */
export const REDACTION_POLICY_DOC = 'docs/redaction.md';

/** The kinds of value the policy knows; a table column, a configuration key or a manifest field has one. */
export type RedactionKind = 'argv' | 'env' | 'url' | 'text';

/**
 * The kind of a table column's value (TableDefinition.redaction): an argv array, free text, a URL, or an
 * environment variable's value whose name is fixed (`{env: 'LD_PRELOAD'}`) or in another column of the row
 * (`{envNameColumn: 'key'}`).
 */
export type ColumnRedaction = 'argv' | 'text' | 'url' | {readonly env: string} | {readonly envNameColumn: string};

export interface RedactionPolicyOptions {
  /** Secret words (default SECRET_WORDS): `collection.redaction.flags`. */
  readonly words?: readonly string[];
  /** Per tool, short flags whose value is a secret (default DEFAULT_SHORT_FLAGS): `collection.redaction.short_flags`. */
  readonly shortFlags?: Readonly<Record<string, readonly string[]>>;
}

/** The parts of a name, lower case: `--db-password` → db, password; `dbPassword` → db, password; `-Ddb.Password` → ddb, password. */
export function nameParts(name: string): string[] {
  return (
    name
      // Zero-width splits (a lookbehind and a lookahead of one or two characters): constant work per position.
      .replace(/(?<=[a-z0-9])(?=[A-Z])/g, ' ')
      .replace(/(?<=[A-Z])(?=[A-Z][a-z])/g, ' ')
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter((part) => part !== '')
  );
}

// What ends a URL in free text (white space, quotes, angle brackets, a backslash).
const URL_END = /[\s"'<>`\\]/g;
// `=` anywhere, or a `:` that does not start `://`: without one, no `name=value` or `name: value` can be there.
const ASSIGNMENT_SIGN = /=|:(?!\/\/)/;
// `key=value`, `key: value`, `"key": "value"`: the key is a run of name characters (scanned from its start
// only), then its separator. Groups: 1 key, 2 separator. The value is read only after the key proved secret
// (ASSIGNMENT_VALUE, sticky at the separator's end): reading every value first would read `a=b=c=…` once per `=`.
const ASSIGNMENT = /(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]{1,128})(["']?[ \t]{0,8}[=:][ \t]{0,8})/g;
const ASSIGNMENT_VALUE = /"[^"\r\n]*"?|'[^'\r\n]*'?|[^\s&;,'"\\<>`]+/y;
const FLAG_IN_TEXT = /(?:^|\s)-/;
// `--password value` inside a longer text (a `bash -c` script, a log line). Groups: 1 flag, 2 separator; its
// value (FLAG_VALUE) is read as ASSIGNMENT's is.
const FLAG_WITH_VALUE = /(?<![A-Za-z0-9_.-])(--?[A-Za-z][A-Za-z0-9_.-]{0,127})([ \t]{1,8})/g;
const FLAG_VALUE = /"[^"\r\n]*"?|'[^'\r\n]*'?|[^\s"'`-][^\s"'`]*/y;
// A URL's query or fragment parameter, right after `?`, `#`, `&` or `;`. Groups: 1 key, 2 value.
const QUERY_PARAMETER = /(?<=[?#&;])([^=&;#?]{1,128})=([^&;#]*)/g;
const AUTHORITY_END = /[/?#@]/g;
const QUERY_START = /[?#]/g;
const PORT_THEN_PATH = /^[0-9]{1,5}(?:[/?#]|$)/;
// A user name that looks like an access token (`https://TOKEN@github.com`): long, letters and digits.
const TOKEN_LIKE_USER = /^(?=[^0-9]{0,256}[0-9])(?=[^A-Za-z]{0,256}[A-Za-z])[A-Za-z0-9_.-]{20,256}$/;
// Shell words (a quoted part stays in its word) and the white space between them. The three kinds of piece a
// word is made of start with different characters, so the repetition never has two ways to match.
const SHELL_PIECES = /(?:[^\s"']+|"[^"]*"?|'[^']*'?)+|\s+/g;

/**
 * `text` with each match of the global `pattern` replaced by what `replace` returns for it (null: unchanged).
 * An exec loop rather than String.prototype.replace with a callback: most matches stay unchanged, and a new
 * string is built only when one changes.
 */
function replaceEach(text: string, pattern: RegExp, replace: (match: RegExpExecArray) => string | null): string {
  pattern.lastIndex = 0;
  let out: string[] | null = null;
  let from = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    if (match[0] === '') {
      pattern.lastIndex++;
      continue;
    }
    const replacement = replace(match);
    if (replacement === null || replacement === match[0]) continue;
    out ??= [];
    out.push(text.slice(from, match.index), replacement);
    from = match.index + match[0].length;
  }
  if (out === null) return text;
  out.push(text.slice(from));
  return out.join('');
}

/**
 * Each match of the global `names` (group 1 a name, group 2 its separator) that `secret` accepts has the value
 * after it (the sticky `value` pattern, read there) replaced by [REDACTED], quotes kept. A value is read only
 * for an accepted name and the scan goes on after it, so no character is read more than a bounded number of
 * times (`a=b=c=…` is not read once per `=`).
 */
function redactValuesAfter(text: string, names: RegExp, value: RegExp, secret: (name: string, sep: string, valueAt: number, text: string) => boolean): string {
  names.lastIndex = 0;
  let out: string[] | null = null;
  let from = 0;
  for (let match = names.exec(text); match !== null; match = names.exec(text)) {
    const name = match[1] ?? '';
    const sep = match[2] ?? '';
    const at = match.index + match[0].length;
    if (!secret(name, sep, at, text)) continue;
    value.lastIndex = at;
    const found = value.exec(text)?.[0];
    if (found === undefined || found.includes(REDACTED)) continue;
    out ??= [];
    out.push(text.slice(from, at), quoted(found));
    from = at + found.length;
    names.lastIndex = from;
  }
  if (out === null) return text;
  out.push(text.slice(from));
  return out.join('');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

interface TrieNode {
  end: boolean;
  readonly next: Map<string, TrieNode>;
}

/**
 * A pattern that finds any of `literals` (ignoring case unless `caseSensitive`), factored as a trie
 * (`p(?:ass|wd)`): V8 tries a flat alternation of a hundred words one by one at every position, a factored one
 * costs a few ns per character. A literal that starts another makes the longer one redundant.
 */
export function anyLiteral(literals: Iterable<string>, caseSensitive = false): RegExp {
  const root: TrieNode = {end: false, next: new Map()};
  for (const literal of literals) {
    if (literal === '') continue;
    let node = root;
    for (const char of caseSensitive ? literal : literal.toLowerCase()) {
      let child = node.next.get(char);
      if (child === undefined) node.next.set(char, (child = {end: false, next: new Map()}));
      node = child;
    }
    node.end = true;
  }
  const emit = (node: TrieNode): string => {
    if (node.end) return '';
    const branches = [...node.next].map(([char, child]) => `${escapeRegExp(char)}${emit(child)}`);
    return branches.length === 1 ? (branches[0] ?? '') : `(?:${branches.join('|')})`;
  };
  return new RegExp(root.next.size === 0 ? '(?!)' : emit(root), caseSensitive ? '' : 'i');
}

// One scan for every literal of every token rule (and the private-key marker): most values hold none.
const TOKEN_TRIGGER_CASED = anyLiteral([...TOKEN_RULES.filter((rule) => !rule.pattern.ignoreCase).flatMap((rule) => rule.literals), 'PRIVATE KEY'], true);
const TOKEN_TRIGGER_UNCASED = anyLiteral(TOKEN_RULES.filter((rule) => rule.pattern.ignoreCase).flatMap((rule) => rule.literals));

function ruleMayMatch(rule: TokenRule, text: string): boolean {
  if (!rule.pattern.ignoreCase) return rule.literals.some((literal) => text.includes(literal));
  const lower = text.toLowerCase();
  return rule.literals.some((literal) => lower.includes(literal.toLowerCase()));
}

/** One token rule over a text: the match, or its group `secret` (keeping group `pre` before it), becomes [REDACTED]. */
export function applyTokenRule(text: string, rule: TokenRule): string {
  return replaceEach(text, rule.pattern, (match) => (match.groups?.secret === undefined ? REDACTED : `${match.groups.pre ?? ''}${REDACTED}`));
}

/** PEM private key blocks: the body from each BEGIN line to the next END line (to the end of the text when none). */
function redactPrivateKeys(text: string): string {
  if (!text.includes('PRIVATE KEY')) return text;
  let out = '';
  let from = 0;
  PRIVATE_KEY_BEGIN.lastIndex = 0;
  for (;;) {
    const begin = PRIVATE_KEY_BEGIN.exec(text);
    if (begin === null) break;
    const bodyStart = begin.index + begin[0].length;
    const end = text.indexOf('-----END ', bodyStart);
    out += `${text.slice(from, bodyStart)}${REDACTED}`;
    if (end < 0) return out;
    from = end;
    PRIVATE_KEY_BEGIN.lastIndex = end;
  }
  return out + text.slice(from);
}

/** A compiled policy: build it once (per scan, per command) and apply it to every value. */
export class Redactor {
  private readonly words: readonly (readonly string[])[];
  private readonly suffixWords: ReadonlySet<string>;
  private readonly nonSecretSuffixes: ReadonlySet<string> = new Set(NON_SECRET_SUFFIXES);
  private readonly pairFlags: ReadonlySet<string> = new Set(PAIR_FLAGS);
  private readonly shortFlags: ReadonlyMap<string, readonly string[]>;
  private readonly pairShortFlags: ReadonlyMap<string, readonly string[]> = new Map(Object.entries(PAIR_SHORT_FLAGS));
  private readonly secretQueryKeys: ReadonlySet<string> = new Set(SECRET_QUERY_KEYS);
  /** Finds any word a text rule needs (a URL, a secret word, a token literal): a value without one is left as it is. */
  private readonly quickText: RegExp;
  /** As quickText, plus the tools and flags the argv rules know (`mysql`, `--user`). */
  private readonly quickWords: RegExp;
  private readonly nameCache = new Map<string, boolean>();

  constructor(options: RedactionPolicyOptions = {}) {
    this.words = (options.words ?? SECRET_WORDS).map((word) => nameParts(word)).filter((parts) => parts.length > 0);
    this.suffixWords = new Set(this.words.filter((parts) => parts.length === 1 && (parts[0] ?? '').length >= 5).map((parts) => parts[0] ?? ''));
    this.shortFlags = new Map(
      Object.entries(options.shortFlags ?? DEFAULT_SHORT_FLAGS).map(([tool, flags]) => [tool, flags.filter((flag) => /^-[^-]/.test(flag))]),
    );
    // Any one part of a word is in every name that holds the word: its last part is enough to look for.
    const textNeedles = [
      '://',
      '@',
      ...this.words.map((parts) => parts[parts.length - 1] ?? ''),
      ...TOKEN_RULES.flatMap((rule) => rule.literals),
      'PRIVATE KEY',
    ];
    this.quickText = anyLiteral(textNeedles);
    this.quickWords = anyLiteral([...textNeedles, ...this.pairFlags, ...this.shortFlags.keys(), ...this.pairShortFlags.keys()]);
  }

  /** Does this name (a flag with or without its dashes, a variable, a key, a property) name a secret? */
  isSecretName(name: string): boolean {
    const known = this.nameCache.get(name);
    if (known !== undefined) return known;
    const secret = this.judgeName(name);
    // Names repeat across processes (`--config`, `PATH`): remember a bounded number of them.
    if (this.nameCache.size >= 4096) this.nameCache.clear();
    this.nameCache.set(name, secret);
    return secret;
  }

  private judgeName(name: string): boolean {
    if (name.length > 256) return false;
    const parts = nameParts(name);
    if (parts.length === 0) return false;
    if (parts[0] === 'no' && parts.length > 1) return false; // `--no-password`: a negated boolean flag
    const last = parts[parts.length - 1] ?? '';
    for (let i = 0; i < parts.length; i++) {
      for (const word of this.words) {
        const part = parts[i] ?? '';
        const found = word.length === 1 && this.suffixWords.has(word[0] ?? '') ? part.endsWith(word[0] ?? '') : matchesAt(parts, i, word);
        // The word ends the name, or what follows it is not about the secret (a file, a type, a lifetime …).
        if (found) return i + word.length >= parts.length || !this.nonSecretSuffixes.has(last);
      }
    }
    return false;
  }

  /** Is the value of this URL query (or fragment) parameter a secret? */
  isSecretQueryKey(key: string): boolean {
    return this.isSecretName(key) || this.secretQueryKeys.has(key.toLowerCase());
  }

  /** A URL (or a URL-like string that did not parse): the password of its user info, secret query values, token shapes. */
  url(url: string): string {
    return this.tokens(this.urlStructure(url));
  }

  private urlStructure(url: string): string {
    const scheme = url.indexOf('://');
    const start = scheme < 0 ? 0 : scheme + 3;
    let out = url;
    let hostStart = start;
    // The user info ends at the first `@` that a host follows (so `p@ss` and `pa/ss` passwords stay whole).
    let at = url.indexOf('@', start);
    while (at >= 0) {
      AUTHORITY_END.lastIndex = at + 1;
      const next = AUTHORITY_END.exec(url)?.index ?? url.length;
      if (url[next] !== '@' && next - at <= 260) break;
      at = url[next] === '@' ? next : -1;
    }
    if (at >= 0) {
      const userinfo = url.slice(start, at);
      const colon = userinfo.indexOf(':');
      let redacted: string | null = null;
      if (colon >= 0) {
        // `host/path:x@y` is a path; `host:8443/a/@b` a port: neither holds a password.
        const pathBefore = scheme >= 0 && userinfo.slice(0, colon).includes('/');
        if (!pathBefore && !PORT_THEN_PATH.test(userinfo.slice(colon + 1)) && colon + 1 < userinfo.length) redacted = `${userinfo.slice(0, colon)}:${REDACTED}`;
      } else if (!userinfo.includes('/') && (TOKEN_LIKE_USER.test(userinfo) || this.tokens(userinfo) !== userinfo)) {
        redacted = REDACTED;
      }
      if (redacted !== null) {
        out = `${url.slice(0, start)}${redacted}${url.slice(at)}`;
        hostStart = start + redacted.length + 1;
      }
    }
    // Query and fragment parameters: `?token=…&sig=…#access_token=…`.
    QUERY_START.lastIndex = hostStart;
    const query = QUERY_START.exec(out)?.index ?? -1;
    if (query < 0) return out;
    return (
      out.slice(0, query) +
      replaceEach(out.slice(query), QUERY_PARAMETER, (match) => {
        const key = match[1] ?? '';
        const value = match[2] ?? '';
        return value !== '' && value !== REDACTED && this.isSecretQueryKey(key) ? `${key}=${REDACTED}` : null;
      })
    );
  }

  /**
   * Every URL of a free text through urlStructure: found at each `://` (indexOf, no pattern tried at every
   * position), its scheme the run of scheme characters before it (at most 32, from a letter), its end the first
   * white space, quote, angle bracket or backslash.
   */
  private urlsIn(text: string): string {
    const out: string[] = [];
    let copied = 0;
    for (let q = text.indexOf('://'); q >= 0; q = text.indexOf('://', q + 3)) {
      let start = q;
      while (start > copied && q - start < 32 && isSchemeChar(text.charCodeAt(start - 1))) start--;
      while (start < q && !isLetter(text.charCodeAt(start))) start++;
      if (start === q) continue;
      URL_END.lastIndex = q + 3;
      const end = URL_END.exec(text)?.index ?? text.length;
      out.push(text.slice(copied, start), this.urlStructure(text.slice(start, end)));
      copied = end;
      q = Math.max(q, end - 3);
    }
    return copied === 0 ? text : out.join('') + text.slice(copied);
  }

  private tokens(text: string): string {
    const cased = TOKEN_TRIGGER_CASED.test(text);
    if (!cased && !TOKEN_TRIGGER_UNCASED.test(text)) return text;
    let out = redactPrivateKeys(text);
    for (const rule of TOKEN_RULES) if ((cased || rule.pattern.ignoreCase) && ruleMayMatch(rule, out)) out = applyTokenRule(out, rule);
    return out;
  }

  /**
   * Free text (a log line, an error message, a report field, a shell script): URLs, `--password X` and
   * `key=value` with a secret name, Authorization headers, token shapes, private key blocks.
   */
  text(text: string): string {
    if (text.length < 6 || !this.quickText.test(text)) return text;
    let out = text.includes('://') ? this.urlsIn(text) : text;
    if (FLAG_IN_TEXT.test(out)) {
      out = redactValuesAfter(out, FLAG_WITH_VALUE, FLAG_VALUE, (flag) => this.isSecretName(flag.replace(/^-+/, '')));
    }
    if (ASSIGNMENT_SIGN.test(out)) {
      out = redactValuesAfter(
        out,
        ASSIGNMENT,
        ASSIGNMENT_VALUE,
        (key, sep, at, text) => isAssignment(key, sep, text[at] ?? '', lineStartBefore(text, at - key.length - sep.length)) && this.isSecretName(key),
      );
    }
    return this.tokens(out);
  }

  /**
   * argv: secret flags' values (`--password X`, `--token=X`, `-Ddb.password=X`), tool short flags (`mysql
   * -pX`), `user:password` flags (`curl --user u:p`), shell scripts inside an argument (`bash -c "…"`) word
   * by word, then every argument as free text. The array keeps its length.
   */
  argv(argv: readonly string[]): string[] {
    const tool = toolName(argv[0] ?? '');
    const out = this.flagWords(argv, tool, 1);
    for (let i = 0; i < out.length; i++) {
      let arg = out[i] ?? '';
      if (/\s/.test(arg)) arg = this.shell(arg, i === 0 ? '' : tool);
      out[i] = this.text(arg);
    }
    return out;
  }

  /** An environment variable's value: all of it when the name is a secret's, else as a command line (`SUDO_COMMAND`). */
  env(name: string, value: string): string {
    if (value !== '' && this.isSecretName(name)) return REDACTED;
    return this.text(/\s/.test(value) ? this.shell(value, '') : value);
  }

  /** A value of the given kind; `name` is the variable's name for `env`; an `argv` string is a command line. */
  value(kind: RedactionKind, value: string, name = ''): string {
    switch (kind) {
      case 'argv':
        return this.text(this.shell(value, ''));
      case 'env':
        return this.env(name, value);
      case 'url':
        return this.url(value);
      case 'text':
        return this.text(value);
    }
  }

  /**
   * A shell-like string: split into words (a quoted part stays in its word) at white space, the words redacted as
   * argv, the spacing kept. A quoted word that is itself a command line (`bash -c "mysql -pX"` inside one
   * argument) is read the same way, two levels deep at most, so the work stays linear in the text.
   */
  private shell(text: string, tool: string, depth = 0): string {
    // The word pass changes only flags (words starting with `-`), and only those a word or tool names.
    if (!FLAG_IN_TEXT.test(text) || (!this.quickWords.test(text) && !this.isKnownTool(tool))) return text;
    const pieces = text.match(SHELL_PIECES) ?? [];
    const words: string[] = [];
    const at: number[] = [];
    pieces.forEach((piece, index) => {
      if (!isSpace(piece.charCodeAt(0))) {
        words.push(piece);
        at.push(index);
      }
    });
    const redacted = this.flagWords(words, tool, 0);
    redacted.forEach((word, index) => {
      const quote = word[0];
      if (depth < 2 && (quote === '"' || quote === "'") && word.length > 2 && word.endsWith(quote) && /\s/.test(word)) {
        word = `${quote}${this.shell(word.slice(1, -1), '', depth + 1)}${quote}`;
      }
      pieces[at[index] ?? 0] = word;
    });
    return pieces.join('');
  }

  private isKnownTool(name: string): boolean {
    return this.shortFlags.has(name) || this.pairShortFlags.has(name);
  }

  /** The flag pass over argv words from `from` on; `tool` is the program they belong to (changes at a known tool's name). */
  private flagWords(words: readonly string[], initialTool: string, from: number): string[] {
    const out = words.slice();
    let tool = initialTool;
    for (let i = from; i < out.length; i++) {
      const word = out[i] ?? '';
      if (!word.startsWith('-')) {
        // A tool's name (`mysql`, `/usr/bin/curl`, `(sshpass`) starts its own flags; tool names are short.
        const base = word.lastIndexOf('/') + 1;
        if (word.length - base <= 24) {
          const named = word.slice(base).replace(/^[("'`]+/, '');
          if (this.isKnownTool(named)) tool = named;
        }
        continue;
      }
      if (word === '--' || word === '-') continue;
      const eq = word.indexOf('=');
      // A word with white space before any `=` is a script or a parameter text: shell() reads its words.
      if (/\s/.test(eq < 0 ? word : word.slice(0, eq))) continue;
      const next = out[i + 1];
      // The tool's own short flags first: `mysql -psecret` is `-p` and a password, not a flag named `psecret`.
      if (!word.startsWith('--')) {
        const short = this.shortFlag(word, next, tool);
        if (short !== null) {
          if (short.next) out[++i] = short.word;
          else out[i] = short.word;
          continue;
        }
      }
      const flag = eq < 0 ? word : word.slice(0, eq);
      const bare = flag.replace(/^-+/, '');
      if (this.pairFlags.has(bare.toLowerCase()) && flag.startsWith('--')) {
        if (eq >= 0) out[i] = `${flag}=${redactPair(word.slice(eq + 1))}`;
        else if (next !== undefined && !next.startsWith('-')) out[++i] = redactPair(next);
        continue;
      }
      if (bare.length > 1 && this.isSecretName(bare)) {
        if (eq >= 0) {
          if (eq + 1 < word.length) out[i] = `${flag}=${quoted(word.slice(eq + 1))}`;
        } else if (next !== undefined && !next.startsWith('--') && next !== '') {
          out[++i] = quoted(next);
        }
      }
    }
    return out;
  }

  /**
   * `word` as one of the tool's secret short flags: the redacted word, or the redacted next word (`next`:
   * true) when the value is separate; null when it is none of them.
   */
  private shortFlag(word: string, next: string | undefined, tool: string): {word: string; next: boolean} | null {
    for (const short of this.shortFlags.get(tool) ?? []) {
      if (word === short) return next === undefined ? null : {word: REDACTED, next: true};
      if (word.startsWith(short)) return {word: `${short}${REDACTED}`, next: false};
    }
    for (const short of this.pairShortFlags.get(tool) ?? []) {
      if (word === short) return next === undefined || next.startsWith('-') ? null : {word: redactPair(next), next: true};
      if (word.startsWith(short)) return {word: `${short}${redactPair(word.slice(short.length))}`, next: false};
    }
    return null;
  }
}

function isLetter(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a);
}

/** A URL scheme's characters: letters, digits, `+`, `.`, `-` (RFC 3986). */
function isSchemeChar(code: number): boolean {
  return isLetter(code) || (code >= 0x30 && code <= 0x39) || code === 0x2b || code === 0x2e || code === 0x2d;
}

/** Space, tab, line feed, vertical tab, form feed, carriage return (what splits shell words). */
function isSpace(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13);
}

function matchesAt(parts: readonly string[], at: number, word: readonly string[]): boolean {
  if (at + word.length > parts.length) return false;
  for (let j = 0; j < word.length; j++) if (parts[at + j] !== word[j]) return false;
  return true;
}

/**
 * `key=value`, `key:value`, `"key": value`, `key: "value"` are assignments wherever they are; `key: value` only
 * at the start of a line (a header, a YAML line): elsewhere it is prose (`refused the credentials: HTTP 401`)
 * or a key named in a message (`sinks.0.hmac_secret: expected string`).
 */
function isAssignment(key: string, sep: string, valueStart: string, atLineStart: boolean): boolean {
  if (sep.includes('=') || !/:[ \t]/.test(sep)) return true;
  if (sep.startsWith('"') || sep.startsWith("'") || valueStart === '"' || valueStart === "'") return true;
  return atLineStart && !key.includes('.');
}

/** Whether only spaces, tabs or an opening quote stand between the start of its line and `index`. */
function lineStartBefore(text: string, index: number): boolean {
  for (let i = index - 1; i >= 0 && index - i <= 64; i--) {
    const char = text[i];
    if (char === '\n' || char === '\r') return true;
    if (char !== ' ' && char !== '\t' && char !== '"' && char !== "'") return false;
  }
  return index <= 64;
}

function quoted(secret: string): string {
  const quote = secret[0];
  if ((quote === '"' || quote === "'") && secret.length > 1 && secret.endsWith(quote)) return `${quote}${REDACTED}${quote}`;
  return REDACTED;
}

/** `user:password` → `user:[REDACTED]`; without a `:` (a user name alone) unchanged. */
function redactPair(value: string): string {
  const colon = value.indexOf(':');
  return colon < 0 || colon + 1 === value.length ? value : `${value.slice(0, colon)}:${REDACTED}`;
}

/** The program an argv[0] names: its base name, without a login shell's leading `-`. */
function toolName(argv0: string): string {
  const base = argv0.slice(argv0.lastIndexOf('/') + 1);
  return base.startsWith('-') ? base.slice(1) : base;
}

/** The default policy, compiled once. */
export const DEFAULT_REDACTOR = new Redactor();

/** How a reader of saved snapshots treats their data: the policy to apply (a Redactor), or `false` to show it as stored. */
export type ReadRedaction = Redactor | false;

/**
 * What a reader applies under the configuration's `collection.redaction` (with `--redact/--no-redact` mapped
 * onto `enabled`): its words and tool flags, or false when redaction is off (src/storage/redact-snapshot.ts).
 */
export function readRedaction(redaction: {
  readonly enabled: boolean;
  readonly flags: readonly string[];
  readonly short_flags: Readonly<Record<string, readonly string[]>>;
}): ReadRedaction {
  return redaction.enabled ? new Redactor({words: redaction.flags, shortFlags: redaction.short_flags}) : false;
}

/** The one warning of a reader told not to redact (stderr), as `collect --no-redact` warns. */
/** What `detect` says once on stderr when `collection.redaction.enabled` is false (docs/redaction.md, "Opting out"). */
export const DETECT_REDACTION_OFF =
  'redaction is off (collection.redaction.enabled: false): detect reads argv and environment values as collected or stored, secrets included; ' +
  'alerts redact their argv columns and free text again, but a value a rule derives from a secret (a substr of argv, an environment value, its hex) ' +
  'reaches stdout and every sink as the rule computed it';

export const READ_REDACTION_OFF =
  'redaction is off (--no-redact or collection.redaction.enabled: false): argv and environment values are shown as read or stored, secrets included';

/** Free text under the default policy. */
export function redactText(text: string): string {
  return DEFAULT_REDACTOR.text(text);
}

/** A URL under the default policy. */
export function redactUrl(url: string): string {
  return DEFAULT_REDACTOR.url(url);
}

/**
 * Known secret values (a webhook's header, an HMAC key: what the configuration holds) and the policy, over
 * text that is about to leave the process. Values shorter than 4 characters are not tracked (they would
 * blank out ordinary words).
 */
export class Scrubber {
  private readonly secrets = new Set<string>();

  constructor(private readonly redactor: Redactor = DEFAULT_REDACTOR) {}

  add(secret: string): void {
    if (secret.length >= 4 && secret !== REDACTED) this.secrets.add(secret);
  }

  /** The text with every known secret and everything the policy finds replaced by `[REDACTED]`. */
  text(text: string): string {
    let out = text;
    // Longest first, so a secret that contains another is replaced whole.
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length)) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return this.redactor.text(out);
  }

  /** A deep copy of a JSON-like value with every string scrubbed (object keys too). */
  value<T>(value: T): T {
    return scrubDeep(value, (text) => this.text(text)) as T;
  }
}

function scrubDeep(value: unknown, scrub: (text: string) => string): unknown {
  if (typeof value === 'string') return scrub(value);
  if (Array.isArray(value)) return value.map((item) => scrubDeep(item, scrub));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[scrub(key)] = scrubDeep(item, scrub);
    return out;
  }
  return value;
}
