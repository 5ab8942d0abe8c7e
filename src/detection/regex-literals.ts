// The literal texts one of which every match of a pattern contains (`\b(shred|wipe)\b[^|]*/var/log` →
// `shred`, `wipe`), so a row whose text holds none of them is known not to match without running the
// engine: `String.prototype.includes` costs ≈ 0.1 µs on an argv where re2js costs 3–50 µs, and most rows
// match none of a rule's patterns. The same idea as RE2's own prefilter (re2/prefilter.h), kept simple and
// conservative: whatever this parser does not fully understand gives no literals (the engine then runs on
// every row), so it can make a rule faster but never change what it matches.
//
// Read: literals, escaped punctuation, zero-width assertions (`^ $ \b \B \A \z`), groups (`(…)`, `(?:…)`,
// named), alternation, quantifiers (`* + ? {n} {n,} {n,m}`, lazy or not); anything else (a class, `.`,
// `\s`, `\x41`, `\Q…\E`, flags in the pattern) is one unknown character or, where unsure, no answer at all.

/** What one piece of a pattern tells: the one text it always matches, and texts one of which its every match holds. */
interface Facts {
  /** The piece always matches exactly this text (`''` for an assertion); null when it varies. */
  readonly exact: string | null;
  /** One of these is in every match of the piece; null when nothing is known. */
  readonly required: readonly string[] | null;
}

const UNKNOWN: Facts = {exact: null, required: null};
const EMPTY: Facts = {exact: '', required: null};

class GiveUp extends Error {}

/** The best of two literal sets: the one whose shortest literal is longest (fewer chance hits). */
function better(a: readonly string[] | null, b: readonly string[] | null): readonly string[] | null {
  if (a === null) return b;
  if (b === null) return a;
  const shortest = (set: readonly string[]): number => Math.min(...set.map((s) => s.length));
  return shortest(b) > shortest(a) ? b : a;
}

class Parser {
  private at = 0;
  constructor(private readonly pattern: string) {}

  parse(): Facts {
    const facts = this.alternation();
    if (this.at !== this.pattern.length) throw new GiveUp();
    return facts;
  }

  private alternation(): Facts {
    const branches = [this.concatenation()];
    while (this.pattern[this.at] === '|') {
      this.at++;
      branches.push(this.concatenation());
    }
    if (branches.length === 1) return branches[0] as Facts;
    const first = branches[0]?.exact ?? null;
    const exact = first !== null && branches.every((b) => b.exact === first) ? first : null;
    // Every branch must name its literals, else a match may hold none of them.
    const required = branches.every((b) => b.required !== null || (b.exact !== null && b.exact !== ''))
      ? [...new Set(branches.flatMap((b) => b.required ?? [b.exact as string]))]
      : null;
    return {exact, required};
  }

  private concatenation(): Facts {
    let run: string | null = '';
    let allExact = true;
    let best: readonly string[] | null = null;
    const close = (): void => {
      if (run !== null && run !== '') best = better(best, [run]);
      run = '';
    };
    while (this.at < this.pattern.length && this.pattern[this.at] !== '|' && this.pattern[this.at] !== ')') {
      const piece = this.repetition();
      best = better(best, piece.required);
      if (piece.exact === null) {
        allExact = false;
        close();
      } else {
        run = (run ?? '') + piece.exact;
      }
    }
    const whole = allExact ? run : null;
    close();
    return {exact: whole, required: best};
  }

  private repetition(): Facts {
    const atom = this.atom();
    const c = this.pattern[this.at];
    let min: number;
    if (c === '*' || c === '?') {
      min = 0;
      this.at++;
    } else if (c === '+') {
      min = 1;
      this.at++;
    } else if (c === '{') {
      const repeat = /^\{(\d+)(,(\d*))?\}/.exec(this.pattern.slice(this.at, this.at + 24));
      // RE2 reads a `{` that starts no repetition as a literal: too subtle to follow here.
      if (repeat === null) throw new GiveUp();
      min = Number(repeat[1]);
      const exactCount = repeat[2] === undefined;
      this.at += repeat[0].length;
      if (this.pattern[this.at] === '?') this.at++;
      if (exactCount && min === 1) return atom;
      return min === 0 ? UNKNOWN : {exact: null, required: atom.required ?? (atom.exact === null || atom.exact === '' ? null : [atom.exact])};
    } else {
      return atom;
    }
    if (this.pattern[this.at] === '?') this.at++;
    if ('*+?{'.includes(this.pattern[this.at] ?? '')) throw new GiveUp();
    return min === 0 ? UNKNOWN : {exact: null, required: atom.required ?? (atom.exact === null || atom.exact === '' ? null : [atom.exact])};
  }

  private atom(): Facts {
    const p = this.pattern;
    const c = p[this.at] as string;
    if (c === '(') {
      this.at++;
      if (p[this.at] === '?') {
        // Only non-capturing and named groups; flags (`(?i)`, `(?s:`) change what literals mean.
        if (p.startsWith('?:', this.at)) this.at += 2;
        else {
          const named = /^\?P?<[A-Za-z_][A-Za-z0-9_]*>/.exec(p.slice(this.at, this.at + 40));
          if (named === null) throw new GiveUp();
          this.at += named[0].length;
        }
      }
      const inner = this.alternation();
      if (p[this.at] !== ')') throw new GiveUp();
      this.at++;
      return inner;
    }
    if (c === '[') {
      this.skipClass();
      return UNKNOWN;
    }
    if (c === '.') {
      this.at++;
      return UNKNOWN;
    }
    if (c === '^' || c === '$') {
      this.at++;
      return EMPTY;
    }
    if (c === '\\') {
      const next = p[this.at + 1];
      if (next === undefined) throw new GiveUp();
      this.at += 2;
      if ('bBAz'.includes(next)) return EMPTY;
      if ('dDsSwW'.includes(next)) return UNKNOWN;
      // Escaped ASCII punctuation is itself; any other escape (\x41, \pL, \Q…\E, \n) is not followed here.
      if (/^[!-/:-@[-`{-~]$/.test(next)) return {exact: next, required: [next]};
      throw new GiveUp();
    }
    if (c === '*' || c === '+' || c === '?' || c === '{' || c === ')' || c === '|') throw new GiveUp();
    this.at++;
    return {exact: c, required: [c]};
  }

  /** Past a character class `[…]` (`[]a]`, `[^]a]`, escapes, `[:alpha:]` inside). */
  private skipClass(): void {
    const p = this.pattern;
    let i = this.at + 1;
    if (p[i] === '^') i++;
    if (p[i] === ']') i++;
    for (; i < p.length; i++) {
      if (p[i] === '\\') i++;
      else if (p.startsWith('[:', i)) {
        const end = p.indexOf(':]', i + 2);
        if (end === -1) throw new GiveUp();
        i = end + 1;
      } else if (p[i] === ']') {
        this.at = i + 1;
        return;
      }
    }
    throw new GiveUp();
  }
}

/**
 * Texts one of which every match of `pattern` (RE2 syntax, with `flags`) contains, or null when that is not
 * known: a case-insensitive pattern, flags inside it, a non-ASCII character, or syntax this reader does not
 * follow. `requiredLiterals('\\bjournalctl\\b') = ['journalctl']`, `requiredLiterals('a|.') = null`.
 */
export function requiredLiterals(pattern: string, flags = ''): readonly string[] | null {
  if (flags.includes('i') || !/^[\x20-\x7e]*$/.test(pattern)) return null;
  try {
    const {required} = new Parser(pattern).parse();
    return required === null || required.length === 0 || required.some((literal) => literal === '') ? null : required;
  } catch (error) {
    if (error instanceof GiveUp) return null;
    throw error;
  }
}
