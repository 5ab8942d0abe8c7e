// The flags that override a configuration key, declared once: flag name, the dotted key it sets, and the
// flag itself, whose summary is the key's description in the configuration schema (src/config/schema.ts)
// with the key named. A command takes them with `configFlags(...)`; the base command's loadConfig() lays
// every one it was given over the configuration, so no command maps a flag onto a key by hand and a setting
// has one name in the schema and one on the command line.
import {Flags} from '@oclif/core';

import {LOG_FORMATS, LOG_LEVELS, ConfigSchema} from '../../src/config/schema.js';
import {leafDocs} from '../../src/config/schema-walk.js';

const DESCRIPTIONS = new Map(leafDocs(ConfigSchema).map((leaf) => [leaf.key, leaf.description] as const));

/** `<description> (default: <key>).`: the help line of a flag that overrides `key`. Throws for a key the schema lacks. */
export function configSummary(key: string): string {
  const description = DESCRIPTIONS.get(key);
  if (description === undefined || description === '') throw new Error(`configuration flag: ${key} is not a described key of the configuration schema`);
  return `${description} (default: ${key}).`;
}

/** One declaration: the key a flag sets, and the flag, made from its summary. */
function overriding<F>(key: string, make: (summary: string) => F): {readonly key: string; readonly flag: F} {
  return {key, flag: make(configSummary(key))};
}

/** Every flag that overrides a configuration key, by flag name. */
export const CONFIG_FLAGS = {
  'log-level': overriding('app.log_level', (summary) => Flags.option({summary, options: LOG_LEVELS, helpGroup: 'GLOBAL'})()),
  'log-format': overriding('app.log_format', (summary) => Flags.option({summary, options: LOG_FORMATS, helpGroup: 'GLOBAL'})()),
  'metrics-file': overriding('telemetry.metrics_file', (summary) => Flags.string({summary, helpGroup: 'GLOBAL'})),
  collector: overriding('collection.collector', (summary) => Flags.option({summary, options: ['auto', 'procfs', 'systeminformation'] as const})()),
  hash: overriding('collection.hash', (summary) => Flags.boolean({summary, allowNo: true})),
  'hash-cache': overriding('collection.hash_cache', (summary) => Flags.boolean({summary, allowNo: true})),
  'hash-max-bytes': overriding('collection.hash_max_bytes', (summary) => Flags.integer({summary, min: 1, max: 2 ** 40})),
  'cpu-sample': overriding('collection.cpu_sample_ms', (summary) => Flags.integer({summary, min: 0, max: 60_000})),
  'hidden-check': overriding('collection.hidden_check', (summary) => Flags.boolean({summary, allowNo: true})),
  redact: overriding('collection.redaction.enabled', (summary) => Flags.boolean({summary, allowNo: true})),
} as const;

export type ConfigFlagName = keyof typeof CONFIG_FLAGS;
type FlagOf<N extends ConfigFlagName> = (typeof CONFIG_FLAGS)[N]['flag'];

/** The declared flags `names`, to spread into a command's `static flags`. */
export function configFlags<const N extends ConfigFlagName>(...names: readonly N[]): {[K in N]: FlagOf<K>} {
  return Object.fromEntries(names.map((name) => [name, CONFIG_FLAGS[name].flag])) as {[K in N]: FlagOf<K>};
}

/**
 * The configuration keys set by the flags a command declares (`declared`: its flags and base flags by name)
 * and was given (`values`), as `cliArgs` for loadConfig. A flag counts only when it is the declared object
 * itself: a command's own flag of the same name is its own business.
 */
export function applyConfigFlags(declared: Readonly<Record<string, unknown>>, values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const cliArgs: Record<string, unknown> = {};
  for (const [name, {key, flag}] of Object.entries(CONFIG_FLAGS)) {
    if (declared[name] === flag && values[name] !== undefined) cliArgs[key] = values[name];
  }
  return cliArgs;
}
