// How `config show` and `config validate` print (src/output/view.ts). They live here rather than beside
// their data in src/config/ because a view needs src/output/, a layer above the configuration.
import type {Config} from '../config/builder.js';
import {type ConfigEntry, configEntries, effectiveConfig} from '../config/show.js';
import type {FileValidation} from '../config/validate-file.js';
import type {View} from '../output/view.js';

/** How `config show` prints: the nested configuration as JSON, or one entry per key (NDJSON, table). */
export function configView(config: Config, withSources: boolean): View<ConfigEntry> {
  const entries = configEntries(config);
  const sources = Object.fromEntries(entries.map((entry) => [entry.key, entry.source]));
  return {
    rows: withSources ? entries : entries.map(({key, value}) => ({key, value}) as ConfigEntry),
    document: withSources ? {config: effectiveConfig(config), sources} : effectiveConfig(config),
    columns: [
      {header: 'KEY', get: (e) => e.key},
      ...(withSources ? [{header: 'SOURCE', get: (e: ConfigEntry) => e.source}] : []),
      {header: 'VALUE', get: (e) => e.value},
    ],
  };
}

/** How `config validate` prints: one record per file (NDJSON, table), or `{valid, files}` as JSON. */
export function configValidationView(results: readonly FileValidation[]): View<FileValidation> {
  return {
    rows: results,
    document: {valid: results.every((r) => r.valid), files: results},
    columns: [
      {header: 'FILE', get: (f) => f.file},
      {header: 'VALID', get: (f) => (f.valid ? 'yes' : 'no')},
      {header: 'PROBLEMS', get: (f) => f.errors.length, align: 'right'},
    ],
  };
}
