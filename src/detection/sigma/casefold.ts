// The case fold behind Sigma's case-insensitive matching, shared by the compiler (which folds values once)
// and the rule worker (which registers it as the SQL function casefold(text)). SQLite's lower() and LIKE fold
// ASCII only; this folds every script, one code point at a time.

const foldCache = new Map<string, string>();
const MAX_CACHED = 4096;

/**
 * Simple case folding of one code point: its upper case lowered (so 'ς', 'Σ' and 'σ' all fold to 'σ'), kept
 * only when that is one code point (so lengths never change and `?` still matches one character), else
 * its lower case when that is one code point, else itself. A non-ASCII code point never folds to an ASCII
 * one (the Kelvin sign K stays itself, not 'k'): with that rule, matching an ASCII value against lower(x)
 * and against casefold(x) gives the same answer, which lets the compiler use SQLite's fast lower() for the
 * common all-ASCII value.
 */
function foldCodePoint(c: string): string {
  const upperLower = c.toUpperCase().toLowerCase();
  let folded = c;
  if ([...upperLower].length === 1) folded = upperLower;
  else {
    const lower = c.toLowerCase();
    if ([...lower].length === 1) folded = lower;
  }
  return folded.charCodeAt(0) < 0x80 && c.charCodeAt(0) >= 0x80 ? c : folded;
}

const ASCII = /^[\x00-\x7f]*$/;

/** The case fold of `text` (same length in code points). ASCII text is lower-cased by the fast path. */
export function casefold(text: string): string {
  if (ASCII.test(text)) return text.toLowerCase();
  const cached = foldCache.get(text);
  if (cached !== undefined) return cached;
  let out = '';
  for (const c of text) out += foldCodePoint(c);
  if (foldCache.size >= MAX_CACHED) foldCache.clear();
  foldCache.set(text, out);
  return out;
}

/** Whether `text` is all ASCII (then lower() folds it exactly as casefold() does). */
export function isAscii(text: string): boolean {
  return ASCII.test(text);
}
