// `config show`: the effective configuration, key by key, with the layer that set each one and every
// secret redacted. How it prints is src/app/config-view.ts.
import type {Config} from './builder.js';
import {redactSecrets} from './redact.js';
import type {DaemonEyeConfig} from './schema.js';

export interface ConfigEntry {
  readonly key: string;
  readonly value: unknown;
  readonly source: string;
}

function flatten(value: unknown, prefix: string, out: [string, unknown][]): void {
  const isObjectList = Array.isArray(value) && value.length > 0 && value.every((item) => item !== null && typeof item === 'object');
  if (value !== null && typeof value === 'object' && (!Array.isArray(value) || isObjectList) && Object.keys(value).length > 0) {
    for (const [key, item] of Object.entries(value)) flatten(item, prefix === '' ? key : `${prefix}.${key}`, out);
    return;
  }
  out.push([prefix, value]);
}

/** The redacted effective configuration as a nested object. */
export function effectiveConfig(config: Config): DaemonEyeConfig {
  return redactSecrets(config.values);
}

/** One entry per leaf key, redacted, with its source layer. */
export function configEntries(config: Config): ConfigEntry[] {
  const pairs: [string, unknown][] = [];
  flatten(effectiveConfig(config), '', pairs);
  return pairs.map(([key, value]) => ({key, value, source: config.sourceOf(key)}));
}
