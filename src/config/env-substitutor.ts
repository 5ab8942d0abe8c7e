// EnvironmentSubstitutor: `${VAR}` and `${VAR:-default}` inside string values of a parsed YAML document.
// Substituting after parsing (not in the raw text) means a variable's value can never inject YAML.
import {DaemonEyeError} from '../errors.js';

const PATTERN = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface SubstitutionContext {
  /** The file the values came from, named in errors. */
  readonly file?: string;
  /** Locates a key path in the file as `line:column`, for errors. */
  readonly locate?: (path: readonly (string | number)[]) => string | undefined;
}

export class EnvironmentSubstitutor {
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  /** Returns a copy of `value` with every string substituted; `$$` stands for a literal `$`. */
  substitute<T>(value: T, context: SubstitutionContext = {}): T {
    return this.walk(value, [], context) as T;
  }

  substituteString(text: string, path: readonly (string | number)[] = [], context: SubstitutionContext = {}): string {
    return text.replace(PATTERN, (match: string, name: string | undefined, fallback: string | undefined) => {
      if (match === '$$') return '$';
      const value = this.env[name as string];
      if (value !== undefined && value !== '') return value;
      if (fallback !== undefined) return fallback;
      const where = context.locate?.(path);
      const file = context.file === undefined ? '' : `${context.file}${where === undefined ? '' : `:${where}`}: `;
      throw new DaemonEyeError('CONFIG_ENV_MISSING', `${file}${path.join('.')}: environment variable ${name as string} is not set`, {
        ...(context.file === undefined ? {} : {file: context.file}),
        hint: `set ${name as string}, or write \${${name as string}:-default}`,
      });
    });
  }

  private walk(value: unknown, path: (string | number)[], context: SubstitutionContext): unknown {
    if (typeof value === 'string') return this.substituteString(value, path, context);
    if (Array.isArray(value)) return value.map((item, index) => this.walk(item, [...path, index], context));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) out[key] = this.walk(item, [...path, key], context);
      return out;
    }
    return value;
  }
}
