// Seeded mutants of a file for the mutation tests: truncations, bit flips, and for text files structure edits
// (a line removed, a line repeated) and planted lines. The seed is fixed, so a failure names a mutant that can
// be made again.

/** mulberry32: a small seeded generator, so every run makes the same mutants. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface Mutant {
  readonly name: string;
  readonly bytes: Buffer;
}

export interface MutantOptions {
  /** Flip bits only in the first `headerBytes` every other flip mutant (a binary format's header). */
  readonly headerBytes?: number;
  /** Text file: also remove, repeat and plant lines (each of `planted` is a line a hostile edit may add). */
  readonly text?: {readonly planted: readonly string[]};
}

/** `count` mutants of `original`: truncations, bit flips, and for text files line edits and planted lines. */
export function mutants(original: Buffer, seed: number, count: number, options: MutantOptions = {}): Mutant[] {
  const random = seeded(seed);
  const pick = (n: number): number => Math.floor(random() * n);
  const kinds = options.text === undefined ? 3 : 6;
  const out: Mutant[] = [];
  for (let i = 0; i < count; i++) {
    const kind = i % kinds;
    if (kind === 0) {
      const length = pick(original.length);
      out.push({name: `truncated to ${length} bytes`, bytes: original.subarray(0, length)});
      continue;
    }
    if (kind <= 2) {
      const bytes = Buffer.from(original);
      const flips: number[] = [];
      const span = kind === 1 && options.headerBytes !== undefined ? Math.min(original.length, options.headerBytes) : original.length;
      for (let f = 0, n = 1 + pick(8); f < n; f++) {
        const at = pick(span);
        const bit = pick(8);
        bytes[at] = (bytes[at] as number) ^ (1 << bit);
        flips.push(at * 8 + bit);
      }
      out.push({name: `bits ${flips.join(',')} flipped`, bytes});
      continue;
    }
    const lines = original.toString('utf8').split('\n');
    const at = pick(lines.length);
    if (kind === 3) {
      out.push({name: `line ${at + 1} removed`, bytes: Buffer.from([...lines.slice(0, at), ...lines.slice(at + 1)].join('\n'))});
    } else if (kind === 4) {
      out.push({name: `line ${at + 1} repeated`, bytes: Buffer.from([...lines.slice(0, at + 1), ...lines.slice(at)].join('\n'))});
    } else {
      const planted = options.text?.planted ?? [];
      const line = planted[pick(planted.length)] ?? '';
      out.push({
        name: `${JSON.stringify(line)} planted before line ${at + 1}`,
        bytes: Buffer.from([...lines.slice(0, at), line, ...lines.slice(at)].join('\n')),
      });
    }
  }
  return out;
}
