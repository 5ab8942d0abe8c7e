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

/**
 * The redacted effective configuration as a nested object: what a run uses, so a path left null in the files
 * (`app.state_dir`, `storage.path`, `alerting.state_dir`, `audit.ledger_path`: "null means …") shows the
 * directory or file it resolves to on this host, for this user and environment.
 */
export function effectiveConfig(config: Config): DaemonEyeConfig {
  const values = redactSecrets(config.values);
  const paths = config.paths;
  return {
    ...values,
    app: {...values.app, state_dir: paths.stateDir},
    storage: {...values.storage, path: paths.storeDir},
    alerting: {...values.alerting, state_dir: paths.alertsDir},
    audit: {...values.audit, ledger_path: paths.ledgerPath},
  };
}

/** One entry per leaf key, redacted, with its source layer. */
export function configEntries(config: Config): ConfigEntry[] {
  const pairs: [string, unknown][] = [];
  flatten(effectiveConfig(config), '', pairs);
  return pairs.map(([key, value]) => ({key, value, source: config.sourceOf(key)}));
}
