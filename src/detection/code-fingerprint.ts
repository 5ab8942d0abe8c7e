// Which code a recorded rule verdict depends on, and its fingerprint. The build-time rule index
// (builtin-index.ts) and the rule cache (rule-cache.ts) reuse a verdict only under the fingerprint of the code
// that reached it: the SQL validator's (every `sql-*` module and the regular-expression checks, with the
// parser's and the regex engine's versions) and the rule formats' (the modules that turn a rule file into
// SQL). The build (`npm run build`, scripts/build-info.ts) hashes their TypeScript sources into constants
// (src/build-info.ts); a run never hashes code. Compiled or bundled code is the compiler's or the bundler's
// reprint of the source, different in the npm install and the single executable, so only the source is one
// text both builds share.
import {createHash} from 'node:crypto';
import {readdirSync, readFileSync} from 'node:fs';
import {dirname, join, relative, sep} from 'node:path';

/**
 * The rule-format modules of `detectionDir` (src/detection/), relative to it, sorted: rule-format.ts (the
 * seam every rule format goes through) and every module of the directory it imports at run time, transitively
 * (`import type` left out: types compile to nothing). So a format module that is added, split or moved is
 * covered without being listed.
 */
export function ruleFormatSources(detectionDir: string): string[] {
  const found = new Set<string>();
  const queue = ['rule-format.ts'];
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (found.has(name)) continue;
    found.add(name);
    const text = readFileSync(join(detectionDir, name), 'utf8');
    for (const match of text.matchAll(/^(?:import|export)\s(?!type\s)[^'";]*'(\.{1,2}\/[^']+)\.js';/gm)) {
      const target = relative(detectionDir, join(detectionDir, dirname(name), `${match[1] as string}.ts`))
        .split(sep)
        .join('/');
      if (!target.startsWith('..')) queue.push(target);
    }
  }
  return [...found].sort();
}

/**
 * The validator's modules in `detectionDir` (src/detection/): every `sql-*.ts` beside the validator (the walk,
 * the lexer, the policy) and `regex.ts`, whose pattern checks it runs, by file name, sorted. A new `sql-*`
 * file is covered without being listed.
 */
export function validatorSources(detectionDir: string): string[] {
  return readdirSync(detectionDir)
    .filter((name) => (name.startsWith('sql-') || name === 'regex.ts') && name.endsWith('.ts') && !name.endsWith('.d.ts'))
    .sort();
}

/**
 * SHA-256 (hex) over each file's relative name and bytes, in the order given, then `extra` (dependency
 * versions). Throws when a file cannot be read: a build must not ship a fingerprint of missing code.
 */
export function sourcesFingerprint(dir: string, names: readonly string[], extra = ''): string {
  const hash = createHash('sha256');
  for (const name of names)
    hash
      .update(`${name}\0`)
      .update(readFileSync(join(dir, name)))
      .update('\0');
  return hash.update(extra).digest('hex');
}
