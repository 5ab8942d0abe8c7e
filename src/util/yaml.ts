// The yaml module, loaded on first use: it takes ≈ 20–40 ms to load, and most runs (no configuration file,
// only indexed built-in rules) never parse YAML. Its Node build is CommonJS, so a synchronous require gives
// the same module a static import would.
import {createRequire} from 'node:module';

import type * as Yaml from 'yaml';

let yamlModule: typeof Yaml | undefined;

export function yaml(): typeof Yaml {
  yamlModule ??= createRequire(import.meta.url)('yaml') as typeof Yaml;
  return yamlModule;
}
