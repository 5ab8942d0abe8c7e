// Output formats and their defaults: table on a TTY, NDJSON when piped (docs/architecture.md, "Conventions").
export const OUTPUT_FORMATS = ['json', 'ndjson', 'table', 'csv', 'text', 'junit', 'tree', 'navigator', 'ecs', 'ocsf'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The format to use: the one asked for, else table on a terminal, else the piped default. */
export function resolveFormat(requested: string | undefined, options: {isTTY: boolean; pipedDefault?: OutputFormat; ttyDefault?: OutputFormat}): OutputFormat {
  if (requested !== undefined) return requested as OutputFormat;
  return options.isTTY ? (options.ttyDefault ?? 'table') : (options.pipedDefault ?? 'ndjson');
}

/** True when colour may be used on a stream: a TTY and no NO_COLOR. */
export function colourEnabled(stream: {isTTY?: boolean}, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '') && env.TERM !== 'dumb';
}
