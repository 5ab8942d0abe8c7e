// ConfigValidator: checks a configuration document against the schema and reports *every* problem with
// its key path, where it came from, and (for unknown keys) the key that was probably meant.
import type {z} from 'zod';

import {redactConfigValue} from './redact.js';
import {ConfigSchema, type DaemonEyeConfig} from './schema.js';
import {schemaAt, shapeOf, unionTypes} from './schema-walk.js';

export interface ConfigIssue {
  /** Dotted key path, e.g. `alerting.sinks.0.url`. */
  readonly path: string;
  readonly message: string;
  /** The layer that set the value: a file path, `env DAEMONEYE_…`, `command line`. */
  readonly source?: string;
  /** `line:column` inside `source`, when it is a file. */
  readonly location?: string;
}

/** `SOURCE[:LINE:COL]: PATH: message`; a problem of the whole document (YAML syntax, not a mapping) has no path. */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.source === undefined ? '' : `${issue.source}${issue.location === undefined ? '' : `:${issue.location}`}: `;
  return `${where}${issue.path === '' ? '' : `${issue.path}: `}${issue.message}`;
}

export interface ValidationResult {
  readonly valid: boolean;
  readonly errors: readonly ConfigIssue[];
  /** The validated configuration with defaults applied, when valid. */
  readonly config?: DaemonEyeConfig;
}

export interface IssueContext {
  /** The layer that set a key path (longest known prefix wins). */
  readonly sourceOf?: (path: readonly (string | number)[]) => string | undefined;
  /** `line:column` of a key path inside a given source file. */
  readonly locate?: (source: string, path: readonly (string | number)[]) => string | undefined;
}

/** Edit distance, for did-you-mean suggestions. */
export function editDistance(a: string, b: string): number {
  const previous = Array.from({length: b.length + 1}, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0] as number;
    previous[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j] as number;
      previous[j] = Math.min(above + 1, (previous[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return previous[b.length] as number;
}

export function didYouMean(key: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  const text = JSON.stringify(value);
  return `${typeof value} ${text.length > 60 ? `${text.slice(0, 57)}...` : text}`;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let value = raw;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

export class ConfigValidator {
  constructor(private readonly schema: z.ZodType<DaemonEyeConfig> = ConfigSchema) {}

  validate(raw: unknown, context: IssueContext = {}): ValidationResult {
    const result = this.schema.safeParse(raw);
    if (result.success) return {valid: true, errors: [], config: result.data};
    const errors: ConfigIssue[] = [];
    for (const issue of result.error.issues) {
      const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      if (issue.code === 'unrecognized_keys') {
        const known = Object.keys(shapeOf(schemaAt(this.schema, path, raw) ?? this.schema) ?? {});
        for (const key of issue.keys) {
          const suggestion = didYouMean(key, known);
          errors.push(this.issue([...path, key], `unknown key${suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`}`, context));
        }
        continue;
      }
      errors.push(this.issue(path, this.message(issue, raw, path), context));
    }
    return {valid: false, errors};
  }

  private message(issue: z.core.$ZodIssue, raw: unknown, path: readonly (string | number)[]): string {
    // A message quotes the value it refuses: as `config show` would show it (a secret's never, a URL's without
    // its credentials), so an invalid webhook URL does not print its password.
    const actual = redactConfigValue(path, valueAt(raw, path));
    switch (issue.code) {
      case 'invalid_type':
        // A named list written as a plain YAML list: say the shape it takes.
        if (Array.isArray(actual) && path.length === 3 && path[0] === 'detection' && path[1] === 'lists')
          return 'expected a mapping, got a list: write {values: [a, b]} (or {file: /path/to/list.txt})';
        return `expected ${issue.expected === 'int' ? 'an integer' : issue.expected}, got ${describeValue(actual)}`;
      case 'invalid_value':
        return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(actual)}`;
      case 'invalid_union': {
        const types = unionTypes(schemaAt(this.schema, path.slice(0, -1), raw) ?? this.schema);
        const element = schemaAt(this.schema, path, raw);
        const options = types.length > 0 ? types : element === undefined ? [] : unionTypes(element);
        const type = actual !== null && typeof actual === 'object' ? valueAt(actual, ['type']) : actual;
        return options.length > 0 ? `type must be one of ${options.join(', ')}, got ${describeValue(type)}` : issue.message;
      }
      case 'invalid_format':
        return `${issue.message}, got ${describeValue(actual)}`;
      case 'too_small':
      case 'too_big':
        return `${issue.message.replace(/^Too (small|big): /, '')}, got ${Array.isArray(actual) ? `${actual.length} values` : describeValue(actual)}`;
      default:
        return issue.message;
    }
  }

  private issue(path: readonly (string | number)[], message: string, context: IssueContext): ConfigIssue {
    const source = context.sourceOf?.(path);
    const location = source === undefined ? undefined : context.locate?.(source, path);
    return {
      path: path.join('.'),
      message,
      ...(source === undefined ? {} : {source}),
      ...(location === undefined ? {} : {location}),
    };
  }
}
