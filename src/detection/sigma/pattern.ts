// Sigma values as patterns: a Sigma string with its wildcards parsed into pieces (Sigma rules
// specification v2, "Escape Character"), and the value transforms of the modifiers appendix that work on
// pieces (windash, base64offset). Rendering a pattern as SQL is sql.ts.

export type Piece =
  {readonly kind: 'text'; readonly text: string} | {readonly kind: 'star'} | {readonly kind: 'one'} | {readonly kind: 'class'; readonly chars: string};
export type Pattern = readonly Piece[];

/**
 * A Sigma string as pieces: `*` any run, `?` one character, `\*` `\?` `\\` the plain character, a `\`
 * before anything else a plain backslash (specification, "Escape Character").
 */
export function parseSigmaString(value: string): Piece[] {
  const pieces: Piece[] = [];
  const text = (t: string): void => {
    const last = pieces[pieces.length - 1];
    if (last?.kind === 'text') pieces[pieces.length - 1] = {kind: 'text', text: last.text + t};
    else pieces.push({kind: 'text', text: t});
  };
  for (let i = 0; i < value.length; i++) {
    const c = value[i] as string;
    if (c === '\\') {
      const next = value[i + 1];
      if (next === '*' || next === '?' || next === '\\') {
        text(next);
        i++;
      } else text('\\');
    } else if (c === '*') pieces.push({kind: 'star'});
    else if (c === '?') pieces.push({kind: 'one'});
    else text(c);
  }
  return pieces;
}

export const hasWildcards = (pattern: Pattern): boolean => pattern.some((p) => p.kind !== 'text');
export const plainText = (pattern: Pattern): string => pattern.map((p) => (p.kind === 'text' ? p.text : '')).join('');

/** Characters `windash` makes interchangeable (modifiers appendix, "windash"). */
export const DASHES = ['-', '/', '\u2013', '\u2014', '\u2015'];

export function windash(pattern: Pattern): Piece[] {
  const out: Piece[] = [];
  for (const piece of pattern) {
    if (piece.kind !== 'text') {
      out.push(piece);
      continue;
    }
    let run = '';
    for (const c of piece.text) {
      if (DASHES.includes(c)) {
        if (run !== '') out.push({kind: 'text', text: run});
        run = '';
        out.push({kind: 'class', chars: DASHES.join('')});
      } else run += c;
    }
    if (run !== '') out.push({kind: 'text', text: run});
  }
  return out;
}

export const base64 = (bytes: Buffer): string => bytes.toString('base64');

/** `base64offset`: the three encodings of the value at byte offsets 0, 1 and 2, minus the unstable edges. */
export function base64Offsets(text: string): string[] {
  const value = Buffer.from(text, 'utf8');
  const out: string[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const encoded = base64(Buffer.concat([Buffer.alloc(shift), value]));
    const start = [0, 2, 3][shift] as number;
    const end = [0, 3, 2][(value.length + shift) % 3] as number;
    out.push(encoded.slice(start, encoded.length - end));
  }
  return out;
}
