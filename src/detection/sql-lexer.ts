// The rule-SQL lexer: SQLite's rules for strings, quoted identifiers, comments and statement boundaries.
// The validator (sql-validator.ts) runs it before the parser.

export interface Token {
  readonly kind: 'word' | 'string' | 'ident' | 'number' | 'punct';
  readonly text: string;
  readonly upper: string;
  /** Parenthesis depth the token sits at. */
  readonly depth: number;
  /** Index of the token's first character in the SQL text. */
  readonly offset: number;
}

export interface Lexed {
  /** Tokens of each statement (split at `;` outside strings and comments), empty statements dropped. */
  readonly statements: Token[][];
  readonly maxDepth: number;
  /**
   * The text the parser reads: comments blanked and backslashes inside string literals turned into `/`,
   * so the parser (which knows MySQL-style `\'` escapes and `#` comments) sees exactly SQLite's tokens.
   */
  readonly parserText: string;
  /** Characters SQLite and the parser would read differently (`#`, backslashes in identifiers). */
  readonly ambiguous: readonly string[];
}

/** A token; its upper-case text is made when first read (most tokens are never compared with a keyword). */
class LexedToken implements Token {
  private upperText: string | undefined;
  constructor(
    readonly kind: Token['kind'],
    readonly text: string,
    readonly depth: number,
    readonly offset: number,
  ) {}

  get upper(): string {
    this.upperText ??= this.text.toUpperCase();
    return this.upperText;
  }
}

/** JavaScript's `\s` (what the lexer has always called white space), for a character outside ASCII. */
const UNICODE_SPACE = /\s/;

/** ASCII white space (`\t \n \v \f \r` and space), or `\s` beyond ASCII. */
function isSpace(code: number, sql: string, at: number): boolean {
  if (code < 128) return code === 32 || (code >= 9 && code <= 13);
  return UNICODE_SPACE.test(sql[at] as string);
}

/** `[A-Za-z_]` or any character beyond ASCII: what starts a word. */
const startsWord = (code: number): boolean => (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || code === 95 || code >= 128;

/** `[A-Za-z0-9_$]` or beyond ASCII: what continues a word. */
const continuesWord = (code: number): boolean => startsWord(code) || (code >= 48 && code <= 57) || code === 36;

/** `[0-9A-Za-z_.]`: what continues a number. */
const continuesNumber = (code: number): boolean =>
  (code >= 48 && code <= 57) || (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || code === 95 || code === 46;

/**
 * A small lexer with SQLite's rules for strings, quoted identifiers and comments. It runs before the
 * parser: it bounds nesting depth cheaply (a 1,000-deep expression must not reach the recursive parser)
 * and finds statement boundaries the way SQLite does, so nothing can hide behind a comment. It reads the
 * text by character code, once (a run lexes every rule, and the compiled Sigma rules are long), and copies
 * it into `parserText` in runs, changing only comments and backslashes in strings.
 */
export function lexSql(sql: string): Lexed {
  const statements: Token[][] = [[]];
  // parserText: the text itself, except comments (one space each) and backslashes in string literals.
  const parserText: string[] = [];
  let copiedTo = 0;
  const replace = (from: number, to: number, text: string): void => {
    parserText.push(sql.slice(copiedTo, from), text);
    copiedTo = to;
  };
  const ambiguous: string[] = [];
  let depth = 0;
  let maxDepth = 0;
  let i = 0;
  const push = (kind: Token['kind'], text: string, offset: number): void => {
    statements[statements.length - 1]?.push(new LexedToken(kind, text, depth, offset));
  };
  const length = sql.length;
  while (i < length) {
    const code = sql.charCodeAt(i);
    if (isSpace(code, sql, i)) {
      i++;
    } else if (code === 45 /* - */ && sql.charCodeAt(i + 1) === 45) {
      const end = sql.indexOf('\n', i);
      const next = end === -1 ? length : end + 1;
      replace(i, next, ' ');
      i = next;
    } else if (code === 47 /* / */ && sql.charCodeAt(i + 1) === 42 /* * */) {
      const end = sql.indexOf('*/', i + 2);
      const next = end === -1 ? length : end + 2;
      replace(i, next, ' ');
      i = next;
    } else if (code === 39 /* ' */ || code === 34 /* " */ || code === 96 /* ` */ || code === 91 /* [ */) {
      const c = sql[i] as string;
      const close = c === '[' ? ']' : c;
      let j = i + 1;
      for (;;) {
        const end = sql.indexOf(close, j);
        if (end === -1) {
          j = length;
          break;
        }
        if (close !== ']' && sql[end + 1] === close) {
          j = end + 2;
          continue;
        }
        j = end + 1;
        break;
      }
      const literal = sql.slice(i, j);
      push(c === "'" ? 'string' : 'ident', literal, i);
      if (literal.includes('\\')) {
        if (c === "'") replace(i, j, literal.replaceAll('\\', '/'));
        else ambiguous.push(`a backslash in the identifier ${literal}`);
      }
      i = j;
    } else if (startsWord(code)) {
      let j = i + 1;
      while (j < length && continuesWord(sql.charCodeAt(j))) j++;
      push('word', sql.slice(i, j), i);
      i = j;
    } else if (code >= 48 && code <= 57) {
      let j = i + 1;
      while (j < length && continuesNumber(sql.charCodeAt(j))) j++;
      push('number', sql.slice(i, j), i);
      i = j;
    } else if (code === 59 /* ; */) {
      statements.push([]);
      i++;
    } else {
      const c = sql[i] as string;
      if (c === '(') maxDepth = Math.max(maxDepth, ++depth);
      if (c === ')') depth = Math.max(0, depth - 1);
      if (c === '#' || c === '\\') ambiguous.push(`the character ${c} outside a string`);
      push('punct', c, i);
      i++;
    }
  }
  parserText.push(sql.slice(copiedTo));
  return {statements: statements.filter((s) => s.length > 0), maxDepth, parserText: parserText.join(''), ambiguous};
}
