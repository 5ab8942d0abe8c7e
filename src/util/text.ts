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
