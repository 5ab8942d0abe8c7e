// Global flags before the command, as git and kubectl take them: `daemoneye --config x.yaml detect` runs
// `detect --config x.yaml`. oclif reads the first word as the command id, so the entry point moves leading
// global flags (the base command's flags, with their values) behind the rest of the line before oclif sees it.

/** How a base flag reads: `option` flags take a value (`--config FILE` or `--config=FILE`), booleans none. */
export interface GlobalFlagSpec {
  readonly type: 'option' | 'boolean';
}

/**
 * `argv` (without node and the script) with its leading global flags moved after the command and its own
 * arguments, or argv unchanged when it starts with anything else (`--help`, `--version`, a command). The moved
 * flags go before a `--` (everything after it stays positional). A value-taking flag at the very end, with
 * nothing to take, is left where it is for oclif to refuse.
 */
export function hoistGlobalFlags(argv: readonly string[], flags: Readonly<Record<string, GlobalFlagSpec>>): string[] {
  const moved: string[] = [];
  let index = 0;
  while (index < argv.length) {
    const token = argv[index] as string;
    const match = /^--([a-z][a-z-]*)(=.*)?$/.exec(token);
    const spec = match === null ? undefined : flags[match[1] as string];
    if (match === null || spec === undefined) break;
    if (spec.type === 'boolean' || match[2] !== undefined) {
      moved.push(token);
      index += 1;
    } else {
      if (index + 1 >= argv.length) break;
      moved.push(token, argv[index + 1] as string);
      index += 2;
    }
  }
  if (moved.length === 0 || index >= argv.length) return [...argv];
  const rest = argv.slice(index);
  const end = rest.indexOf('--');
  return end < 0 ? [...rest, ...moved] : [...rest.slice(0, end), ...moved, ...rest.slice(end)];
}
