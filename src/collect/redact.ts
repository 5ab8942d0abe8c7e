// Secret redaction in argv: values of secret-bearing flags and URL passwords become `[REDACTED]` in
// place, so the record still shows that a secret was passed (detection sees the flag) but not the secret.
import {REDACTED, redactUrlCredentials} from '../config/redact.js';

export interface RedactionOptions {
  /** Long flag names without dashes (`password`, `token`): `--password X`, `--password=X`, `--db-password=X`. */
  readonly flags: readonly string[];
  /** Per tool (basename of argv[0]), short flags whose value is a secret: `mysql -pX`, `mysql -p X`. */
  readonly shortFlags: Readonly<Record<string, readonly string[]>>;
}

/** A compiled redactor: build it once per scan, apply it to every argv. */
export type ArgvRedactor = (argv: readonly string[]) => string[];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function toolName(argv0: string): string {
  const base = argv0.slice(argv0.lastIndexOf('/') + 1);
  return base.startsWith('-') ? base.slice(1) : base;
}

export function createArgvRedactor(options: RedactionOptions): ArgvRedactor {
  const names = options.flags.filter((name) => name !== '').map((name) => escapeRegExp(name.replace(/^-+/, '')));
  // `--name`, `-name` or a compound ending in it (`--db-password`, `--mysql_password`), not `--no-name`.
  const flagPattern = names.length === 0 ? null : new RegExp(`^(--?(?!no-)(?:[a-z0-9]+[-_])*(?:${names.join('|')}))(=.*)?$`, 'i');
  const shortFlags = new Map(Object.entries(options.shortFlags).map(([tool, flags]) => [tool, flags.filter((flag) => /^-[^-]/.test(flag))]));

  return (argv) => {
    const out = argv.slice();
    const tool = argv.length > 0 ? toolName(argv[0] ?? '') : '';
    const toolFlags = shortFlags.get(tool) ?? [];
    if (out.length > 0 && (out[0] ?? '').includes('://')) out[0] = redactUrlCredentials(out[0] ?? '');
    for (let i = 1; i < out.length; i++) {
      const arg = out[i] ?? '';
      if (arg.includes('://')) out[i] = redactUrlCredentials(arg);
      if (!arg.startsWith('-') || arg === '--') {
        continue;
      }
      const long = flagPattern?.exec(arg);
      if (long !== null && long !== undefined) {
        if (long[2] !== undefined) {
          out[i] = `${long[1]}=${REDACTED}`;
        } else if (i + 1 < out.length && !(out[i + 1] ?? '').startsWith('--')) {
          out[i + 1] = REDACTED;
          i++;
        }
        continue;
      }
      for (const flag of toolFlags) {
        if (arg === flag) {
          if (i + 1 < out.length) {
            out[i + 1] = REDACTED;
            i++;
          }
          break;
        }
        if (arg.startsWith(flag) && arg.length > flag.length) {
          out[i] = `${flag}${REDACTED}`;
          break;
        }
      }
    }
    return out;
  };
}
