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
import {join} from 'node:path';

/** The rule-format modules, relative to src/detection/ (the SQL validator has its own fingerprint). */
export const RULE_FORMAT_SOURCES: readonly string[] = [
  'regex.ts',
  'rule-file.ts',
  'rule-format.ts',
  'sigma/casefold.ts',
  'sigma/compile.ts',
  'sigma/condition.ts',
  'sigma/fields.ts',
  'sigma/format.ts',
];

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
