import {Flags} from '@oclif/core';

import {configEntries, effectiveConfig} from '../../src/config/show.js';
import {renderJson, renderNdjsonLine, renderTable} from '../../src/output/render.js';
import {DaemonEyeCommand} from '../_base/base-command.js';
import {formatFlag} from '../_base/flags.js';

export default class ConfigShow extends DaemonEyeCommand<typeof ConfigShow> {
  static override summary = 'Print the effective configuration, secrets redacted.';
  static override description =
    'Every key after all layers (defaults, system file, user file, --config, environment, flags). With --sources, the layer that set each key.';
  static override examples = [
    '<%= config.bin %> config show',
    '<%= config.bin %> config show --sources --format json | jq .sources',
    'DAEMONEYE_APP__LOG_LEVEL=debug <%= config.bin %> config show --sources',
  ];
  static override flags = {
    format: formatFlag(['json', 'ndjson', 'table'] as const),
    sources: Flags.boolean({summary: 'Show which layer set each key.'}),
  };

  async run(): Promise<void> {
    const config = this.loadConfig();
    const format = this.outputFormat(this.flags.format);
    const entries = configEntries(config);
    if (format === 'json') {
      const sources = Object.fromEntries(entries.map((entry) => [entry.key, entry.source]));
      this.write(renderJson(this.flags.sources ? {config: effectiveConfig(config), sources} : effectiveConfig(config)));
    } else if (format === 'ndjson') {
      for (const entry of entries) this.write(renderNdjsonLine(this.flags.sources ? entry : {key: entry.key, value: entry.value}));
    } else {
      const columns = [
        {header: 'KEY', get: (e: (typeof entries)[number]) => e.key},
        ...(this.flags.sources ? [{header: 'SOURCE', get: (e: (typeof entries)[number]) => e.source}] : []),
        {header: 'VALUE', get: (e: (typeof entries)[number]) => e.value},
      ];
      this.write(renderTable(entries, columns, process.stdout.columns));
    }
  }
}
