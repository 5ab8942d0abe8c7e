// The rule cache (`<state dir>/rule-cache.json`): for rule files outside the built-in pack (the user's rules
// directory, detection.rules_paths, --rules), each valid file's SHA-256 and its parsed definition (for Sigma,
// the compiled SQL) under the SqlValidator's fingerprint and the fingerprint of the rule-format code. A run
// reuses an entry only when the file's bytes hash to the recorded digest and both fingerprints are this
// build's; anything else is parsed, compiled and validated in full. Validating SQL is most of the cost of
// loading rules (≈ 13 ms per KB of SQL: 144 compiled Sigma rules hold 185 KB), the same reason the built-in
// pack has its build-time index (builtin-index.ts). The cache is an optimisation only: a missing, corrupt
// or foreign file is ignored and rebuilt; it lives in the state directory (mode 0700), which only the user
// running DaemonEye can write.
import {createHash} from 'node:crypto';
import {BUILD_INFO} from '../build-info.js';
import {readStateFile, writeStateFile} from '../util/state-file.js';
import type {RuleDefinition, RuleFileValidation} from './rule-source.js';
import type {SqlReferences, SqlValidator} from './sql-validator.js';
import {parseJson} from '../util/json.js';

export const RULE_CACHE_FILE = 'rule-cache.json';
const CACHE_FORMAT = 2;
/** Files kept, most recently used first. */
export const RULE_CACHE_MAX_ENTRIES = 4096;
/** A larger file is not a cache this tool wrote: ignore it rather than parse it. */
const MAX_CACHE_FILE_BYTES = 64 * 1024 * 1024;

/** The fingerprint of the rule-format code (src/detection/code-fingerprint.ts): a new compiler never reuses an old compilation. */
export function ruleFormatFingerprint(): string {
  return BUILD_INFO.ruleFormatCode;
}

interface CacheEntry {
  readonly sha256: string;
  readonly definition: Omit<RuleDefinition, 'file'>;
  /** The tables and lists its SQL reads, so a run need not lex it (SqlValidator.references). */
  readonly references?: SqlReferences;
  seen: number;
}

interface CacheFile {
  readonly format: typeof CACHE_FORMAT;
  readonly validator: string;
  readonly code: string;
  readonly files: Record<string, CacheEntry>;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

export class RuleCache {
  private changed = false;

  private constructor(
    private readonly path: string,
    private readonly validator: SqlValidator,
    private readonly entries: Map<string, CacheEntry>,
  ) {}

  /** The cache at `path` for this validator: empty when missing, unreadable, corrupt or from another build. */
  static load(path: string, validator: SqlValidator): RuleCache {
    const entries = new Map<string, CacheEntry>();
    try {
      // Never through a link, only a file of this user (src/util/state-file.ts): the cache vouches for rules.
      const text = readStateFile(path, {what: 'rule cache', maxBytes: MAX_CACHE_FILE_BYTES});
      if (text !== undefined) {
        const data = parseJson(text.toString('utf8')) as Partial<CacheFile> | null;
        if (
          data?.format === CACHE_FORMAT &&
          data.validator === validator.fingerprint &&
          data.code === ruleFormatFingerprint() &&
          typeof data.files === 'object'
        ) {
          for (const [file, entry] of Object.entries(data.files ?? {})) {
            if (typeof entry?.sha256 === 'string' && typeof entry.definition?.sql_query === 'string' && typeof entry.seen === 'number')
              entries.set(file, entry);
          }
        }
      }
    } catch {
      // Missing, corrupt, too large or not to be trusted: start empty (rebuilt on save).
    }
    return new RuleCache(path, validator, entries);
  }

  /** The file's validation from the cache (its SQL verdict adopted by the validator), or undefined. */
  lookup(file: string, text: string): RuleFileValidation | undefined {
    const entry = this.entries.get(file);
    if (entry === undefined || entry.sha256 !== sha256(text)) return undefined;
    if (!this.validator.adoptValidVerdict(entry.definition.sql_query, this.validator.fingerprint, entry.references)) return undefined;
    entry.seen = Date.now();
    this.changed = true;
    return {file, valid: true, problems: [], sqlErrors: [], rule: {...entry.definition, file}};
  }

  /** Remember a valid file (invalid ones are always checked again). */
  remember(file: string, text: string, result: RuleFileValidation): void {
    if (!result.valid || result.rule === undefined) return;
    const {file: _file, ...definition} = result.rule;
    this.entries.set(file, {sha256: sha256(text), definition, references: this.validator.references(definition.sql_query), seen: Date.now()});
    this.changed = true;
  }

  /** Write the cache when it changed (atomically; a failure only costs the next run a full validation). */
  save(): void {
    if (!this.changed) return;
    const kept = [...this.entries.entries()].sort((a, b) => b[1].seen - a[1].seen).slice(0, RULE_CACHE_MAX_ENTRIES);
    const data: CacheFile = {format: CACHE_FORMAT, validator: this.validator.fingerprint, code: ruleFormatFingerprint(), files: Object.fromEntries(kept)};
    try {
      writeStateFile(this.path, `${JSON.stringify(data)}\n`, {what: 'rule cache'});
      this.changed = false;
    } catch {
      // An optimisation only: a read-only state directory must not fail the run.
    }
  }
}
