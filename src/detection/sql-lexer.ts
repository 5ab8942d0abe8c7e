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

/**
 * A small lexer with SQLite's rules for strings, quoted identifiers and comments. It runs before the
 * parser: it bounds nesting depth cheaply (a 1,000-deep expression must not reach the recursive parser)
 * and finds statement boundaries the way SQLite does, so nothing can hide behind a comment.
 */
export function lexSql(sql: string): Lexed {
  const statements: Token[][] = [[]];
  const parserText: string[] = [];
  const ambiguous: string[] = [];
  let depth = 0;
  let maxDepth = 0;
  let i = 0;
  const push = (kind: Token['kind'], text: string, offset: number): void => {
    statements[statements.length - 1]?.push({kind, text, upper: text.toUpperCase(), depth, offset});
  };
  while (i < sql.length) {
    const c = sql[i] as string;
    const from = i;
    if (/\s/.test(c)) {
      i++;
      parserText.push(c);
      continue;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end + 1;
      parserText.push(' ');
      continue;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? sql.length : end + 2;
      parserText.push(' ');
      continue;
    } else if (c === "'" || c === '"' || c === '`' || c === '[') {
      const close = c === '[' ? ']' : c;
      let j = i + 1;
      for (;;) {
        const end = sql.indexOf(close, j);
        if (end === -1) {
          j = sql.length;
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
      if (c !== "'" && literal.includes('\\')) ambiguous.push(`a backslash in the identifier ${literal}`);
      parserText.push(c === "'" ? literal.replaceAll('\\', '/') : literal);
      i = j;
      continue;
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      let j = i + 1;
      while (j < sql.length && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[j] as string)) j++;
      push('word', sql.slice(i, j), i);
      i = j;
    } else if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < sql.length && /[0-9A-Za-z_.]/.test(sql[j] as string)) j++;
      push('number', sql.slice(i, j), i);
      i = j;
    } else if (c === ';') {
      statements.push([]);
      i++;
    } else {
      if (c === '(') maxDepth = Math.max(maxDepth, ++depth);
      if (c === ')') depth = Math.max(0, depth - 1);
      if (c === '#' || c === '\\') ambiguous.push(`the character ${c} outside a string`);
      push('punct', c, i);
      i++;
    }
    parserText.push(sql.slice(from, i));
  }
  return {statements: statements.filter((s) => s.length > 0), maxDepth, parserText: parserText.join(''), ambiguous};
}
