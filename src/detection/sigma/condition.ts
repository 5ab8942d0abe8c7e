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

interface Token {
  readonly type: 'word' | '(' | ')';
  readonly text: string;
}

/** Identifiers: letters, digits, `_`, `-`, `.` and the wildcard `*` (in `x of` patterns). */
const IDENTIFIER = /^[A-Za-z0-9_.*-]+$/;

function tokenize(text: string): Token[] {
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
      if (!IDENTIFIER.test(word)) throw new ConditionError(`"${word}" is not a search identifier (letters, digits, _ - . and * only)`);
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
      return {kind: 'not', operand: parseNot()};
    }
    return parsePrimary();
  };
  const parsePrimary = (): ConditionNode => {
    const token = peek();
    if (token === undefined) throw new ConditionError('the condition ends too early');
    if (token.type === '(') {
      pos++;
      const inner = parseOr();
      if (peek()?.type !== ')') throw new ConditionError(`a "(" is not closed${peek() === undefined ? '' : ` before "${peek()?.text}"`}`);
      pos++;
      return inner;
    }
    if (token.type === ')') throw new ConditionError('a ")" has no "(" before it');
    const lower = token.text.toLowerCase();
    if (lower === '1' || lower === 'all') {
      if (!isWord(tokens[pos + 1], 'of')) throw new ConditionError(`"${token.text}" must be followed by "of"`);
      const target = tokens[pos + 2];
      if (target === undefined || target.type !== 'word' || (KEYWORDS.has(target.text.toLowerCase()) && target.text.toLowerCase() !== 'them'))
        throw new ConditionError(`"${token.text} of" must be followed by "them" or a search-identifier pattern`);
      pos += 3;
      return {kind: 'of', quantifier: lower === '1' ? 'one' : 'all', pattern: target.text.toLowerCase() === 'them' ? null : target.text};
    }
    if (/^\d+$/.test(lower) && isWord(tokens[pos + 1], 'of')) throw new ConditionError(`"${token.text} of" is not Sigma: only "1 of" and "all of" are`);
    if (KEYWORDS.has(lower)) throw new ConditionError(`"${token.text}" is out of place`);
    if (token.text.includes('*')) throw new ConditionError(`the pattern "${token.text}" needs "1 of" or "all of" before it`);
    pos++;
    return {kind: 'ref', name: token.text};
  };

  const tree = parseOr();
  if (pos < tokens.length) throw new ConditionError(`unexpected "${tokens[pos]?.text ?? ''}" (a missing "and" / "or"?)`);
  return tree;
}

/** Whether a search identifier matches an `x of` pattern (`*`: any run of characters, anywhere). */
export function identifierMatches(pattern: string, name: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`).test(name);
}
