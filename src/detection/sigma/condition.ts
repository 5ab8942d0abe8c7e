// Sigma conditions (Sigma rules specification v2, "Condition"): and, or, not, parentheses, `1 of PATTERN`,
// `all of PATTERN`, `1 of them`, `all of them`. Precedence, least binding first: or, and, not, x of, ( ).
// Aggregations (`| count() …`, Sigma v1) and anything else are refused with the reason.

export type ConditionNode =
  | {readonly kind: 'ref'; readonly name: string}
  | {readonly kind: 'not'; readonly operand: ConditionNode}
  | {readonly kind: 'and' | 'or'; readonly operands: readonly ConditionNode[]}
  | {readonly kind: 'of'; readonly quantifier: 'one' | 'all'; readonly pattern: string | null};

/** A condition that cannot be read; `message` says why, without the file. */
export class ConditionError extends Error {}

/**
 * The longest condition read, in characters (UTF-16 units). SigmaHQ's longest conditions are a few hundred
 * characters; a longer one is refused before it is tokenised, so every later step (parsing, `x of` matching,
 * compiling) works on a bounded text.
 */
export const MAX_CONDITION_LENGTH = 4096;

/**
 * The deepest nesting of `(` and `not` read. SigmaHQ's conditions nest three or four deep; the parser and the
 * compiler recurse once per level, so an unbounded depth would overflow the stack.
 */
export const MAX_CONDITION_DEPTH = 64;

/** A quoted piece of a text for a message: at most 60 characters, the rest counted. */
export function excerpt(text: string, max = 60): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

interface Token {
  readonly type: 'word' | '(' | ')';
  readonly text: string;
}

/** Identifiers: letters, digits, `_`, `-`, `.` and the wildcard `*` (in `x of` patterns). */
const IDENTIFIER = /^[A-Za-z0-9_.*-]+$/;

function tokenize(text: string): Token[] {
  if (text.length > MAX_CONDITION_LENGTH) throw new ConditionError(`the condition is ${text.length} characters long; at most ${MAX_CONDITION_LENGTH} are read`);
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) i++;
    else if (c === '(' || c === ')') {
      tokens.push({type: c, text: c});
      i++;
    } else if (c === '|') throw new ConditionError('aggregations ("| count() …") are not supported: they need events over time, a snapshot has none');
    else {
      let j = i;
      while (j < text.length && !/[\s()|]/.test(text[j] as string)) j++;
      const word = text.slice(i, j);
      if (!IDENTIFIER.test(word)) throw new ConditionError(`"${excerpt(word)}" is not a search identifier (letters, digits, _ - . and * only)`);
      tokens.push({type: 'word', text: word});
      i = j;
    }
  }
  return tokens;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'of', 'them', 'all', '1']);

/** Parse one condition string into a tree. Throws ConditionError. */
export function parseCondition(text: string): ConditionNode {
  const tokens = tokenize(text);
  if (tokens.length === 0) throw new ConditionError('the condition is empty');
  let pos = 0;
  /** The nesting of `(` and `not` around the token at pos. */
  let depth = 0;
  const enter = (): void => {
    if (++depth > MAX_CONDITION_DEPTH) throw new ConditionError(`"(" and "not" nest more than ${MAX_CONDITION_DEPTH} deep`);
  };
  const peek = (): Token | undefined => tokens[pos];
  const isWord = (t: Token | undefined, w: string): boolean => t?.type === 'word' && t.text.toLowerCase() === w;

  const parseOr = (): ConditionNode => {
    const operands = [parseAnd()];
    while (isWord(peek(), 'or')) {
      pos++;
      operands.push(parseAnd());
    }
    return operands.length === 1 ? (operands[0] as ConditionNode) : {kind: 'or', operands};
  };
  const parseAnd = (): ConditionNode => {
    const operands = [parseNot()];
    while (isWord(peek(), 'and')) {
      pos++;
      operands.push(parseNot());
    }
    return operands.length === 1 ? (operands[0] as ConditionNode) : {kind: 'and', operands};
  };
  const parseNot = (): ConditionNode => {
    if (isWord(peek(), 'not')) {
      pos++;
      enter();
      const operand = parseNot();
      depth--;
      return {kind: 'not', operand};
    }
    return parsePrimary();
  };
  const parsePrimary = (): ConditionNode => {
    const token = peek();
    if (token === undefined) throw new ConditionError('the condition ends too early');
    if (token.type === '(') {
      pos++;
      enter();
      const inner = parseOr();
      if (peek()?.type !== ')') throw new ConditionError(`a "(" is not closed${peek() === undefined ? '' : ` before "${excerpt(peek()?.text ?? '')}"`}`);
      pos++;
      depth--;
      return inner;
    }
    if (token.type === ')') throw new ConditionError('a ")" has no "(" before it');
    const lower = token.text.toLowerCase();
    if (lower === '1' || lower === 'all') {
      if (!isWord(tokens[pos + 1], 'of')) throw new ConditionError(`"${excerpt(token.text)}" must be followed by "of"`);
      const target = tokens[pos + 2];
      if (target === undefined || target.type !== 'word' || (KEYWORDS.has(target.text.toLowerCase()) && target.text.toLowerCase() !== 'them'))
        throw new ConditionError(`"${excerpt(token.text)} of" must be followed by "them" or a search-identifier pattern`);
      pos += 3;
      return {kind: 'of', quantifier: lower === '1' ? 'one' : 'all', pattern: target.text.toLowerCase() === 'them' ? null : target.text};
    }
    if (/^\d+$/.test(lower) && isWord(tokens[pos + 1], 'of'))
      throw new ConditionError(`"${excerpt(token.text)} of" is not Sigma: only "1 of" and "all of" are`);
    if (KEYWORDS.has(lower)) throw new ConditionError(`"${excerpt(token.text)}" is out of place`);
    if (token.text.includes('*')) throw new ConditionError(`the pattern "${excerpt(token.text)}" needs "1 of" or "all of" before it`);
    pos++;
    return {kind: 'ref', name: token.text};
  };

  const tree = parseOr();
  if (pos < tokens.length) throw new ConditionError(`unexpected "${excerpt(tokens[pos]?.text ?? '')}" (a missing "and" / "or"?)`);
  return tree;
}

/**
 * Whether a search identifier matches an `x of` pattern (`*`: any run of characters, anywhere; every other
 * character literal, case-sensitive). Linear in the two lengths, whatever the pattern: the pieces between
 * `*`s are found left to right, each at its first place after the previous one (the first piece must start
 * the name, the last end it), which is a match whenever any placement is. No regular expression: a backtracking
 * one takes time polynomial in the name with one degree per `*` (`*a*a*a*c` against 1,000 `a`s ran 326 s).
 */
export function identifierMatches(pattern: string, name: string): boolean {
  const pieces = pattern.split('*');
  const first = pieces[0] as string;
  if (pieces.length === 1) return pattern === name;
  const last = pieces[pieces.length - 1] as string;
  if (first.length + last.length > name.length || !name.startsWith(first) || !name.endsWith(last)) return false;
  let at = first.length;
  const end = name.length - last.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i] as string;
    if (piece === '') continue;
    const found = name.indexOf(piece, at);
    if (found < 0 || found + piece.length > end) return false;
    at = found + piece.length;
  }
  return true;
}
