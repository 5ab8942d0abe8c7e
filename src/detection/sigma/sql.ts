// Sigma patterns rendered as SQLite: a string literal, a GLOB pattern, a field compared with a pattern
// exactly or case-insensitively (lower() where it folds as casefold() would, else casefold()), and long
// OR/AND lists grouped so SQLite's parser depth stays small. The compiler (compile.ts) builds on these.
import {casefold} from './casefold.js';
import {DASHES, hasWildcards, type Pattern, type Piece, plainText} from './pattern.js';

export const sqlString = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/** GLOB pattern text: `*` `?` `[` as one-character classes, Sigma wildcards as GLOB's. */
export function globOf(pattern: Pattern): string {
  return pattern
    .map((piece) => {
      switch (piece.kind) {
        case 'star':
          return '*';
        case 'one':
          return '?';
        case 'class':
          // `-` first in a class is a plain character for GLOB.
          return `[${piece.chars}]`;
        case 'text':
          return piece.text.replace(/[*?[]/g, (c) => `[${c}]`);
      }
    })
    .join('');
}

const foldPattern = (pattern: Pattern): Piece[] => pattern.map((p) => (p.kind === 'text' ? {kind: 'text', text: casefold(p.text)} : p));

/** Characters outside ASCII that have no case (the windash dashes): lower() and casefold() agree on them. */
const CASELESS = new Set(DASHES);

/**
 * Whether SQLite's ASCII-only lower() folds a field exactly as casefold() does for this (folded) pattern:
 * true when every character the pattern names is ASCII or caseless, since casefold() never turns a
 * non-ASCII character into an ASCII one (casefold.ts).
 */
function lowerSuffices(pattern: Pattern): boolean {
  const chars = pattern.flatMap((p) => (p.kind === 'text' ? [...p.text] : p.kind === 'class' ? [...p.chars] : []));
  return chars.every((c) => c.charCodeAt(0) < 0x80 || CASELESS.has(c));
}

export function matchSql(column: string, pattern: Pattern, cased: boolean): string {
  const folded = cased ? pattern : foldPattern(pattern);
  const subject = cased ? column : lowerSuffices(folded) ? `lower(${column})` : `casefold(${column})`;
  if (!hasWildcards(folded)) return `${subject} = ${sqlString(plainText(folded))}`;
  return `${subject} GLOB ${sqlString(globOf(folded))}`;
}

/** Operands per parenthesised group: SQLite parses `a OR b OR …` into a tree as deep as the list (at most 1,000). */
const GROUP = 64;

export function joinAll(parts: readonly string[], operator: 'OR' | 'AND'): string {
  if (parts.length === 1) return parts[0] as string;
  if (parts.length <= GROUP) return `(${parts.join(` ${operator} `)})`;
  // Long lists (hundreds of package names) become groups of groups: depth grows with the logarithm.
  const groups: string[] = [];
  for (let i = 0; i < parts.length; i += GROUP) groups.push(joinAll(parts.slice(i, i + GROUP), operator));
  return joinAll(groups, operator);
}
export const orAll = (parts: readonly string[]): string => joinAll(parts, 'OR');
export const andAll = (parts: readonly string[]): string => joinAll(parts, 'AND');
