// Small text helpers that must stay linear on any input: process names, argv, paths and file contents are
// the attacker's text, and a regular expression like /\/+$/ is quadratic on a long run of the character
// followed by another (it retries the run from every start).

/**
 * `text` without the run of `char` (one UTF-16 code unit) at its end: `trimEnd('/a//', '/')` is `'/a'`.
 * Linear in the length of `text`.
 */
export function trimEndChar(text: string, char: string): string {
  let end = text.length;
  while (end > 0 && text[end - 1] === char) end--;
  return end === text.length ? text : text.slice(0, end);
}

/** Characters that may stand right before a path written into a message. */
const BEFORE_NAME = new Set([' ', '\t', '\n', '(', '[', ',']);
/** Characters that may stand right after one (a `.` only where it ends a sentence: see mentionsName). */
const AFTER_NAME = new Set([' ', '\t', '\n', ')', ']', ',', ':', ';']);

/**
 * Whether `text` already names `name` (a file or a field), so a caller need not write it again in front:
 * `text` begins with it (followed by `:`, a space or nothing: `config.yaml:3:1: …`), or holds it quoted
 * (`"…"`, `'…'` or backquotes), or holds it as a word of its own (after a space, bracket or comma) followed by
 * a colon (the `file:line:` of an editor's location) or — for a name holding a `/`, which no word does — by
 * a space, bracket, comma, semicolon or a sentence's full stop. So a file called `f` or `a` is never taken
 * as named by `file` or `not a database`, nor by the path `/x/f`. Linear in the length of `text`. An empty
 * `name` is never named.
 */
export function mentionsName(text: string, name: string): boolean {
  if (name === '') return false;
  if (text.startsWith(name) && (text.length === name.length || text[name.length] === ':' || text[name.length] === ' ')) return true;
  for (const quote of ['"', "'", '`']) if (text.includes(`${quote}${name}${quote}`)) return true;
  const isPath = name.includes('/');
  for (let at = text.indexOf(name); at !== -1; at = text.indexOf(name, at + 1)) {
    const before = at === 0 ? undefined : text[at - 1];
    const end = at + name.length;
    const after = text[end];
    const beforeOk = before === undefined || BEFORE_NAME.has(before);
    const afterOk =
      after === ':' || (isPath && (after === undefined || AFTER_NAME.has(after) || (after === '.' && (end + 1 === text.length || text[end + 1] === ' '))));
    if (beforeOk && afterOk) return true;
  }
  return false;
}
