import {Flags} from '@oclif/core';

import {listRules, type RuleListing} from '../../src/detection/rules-admin.js';
import {csvLine, renderJson, renderNdjsonLine, renderTable} from '../../src/output/render.js';
import {DaemonEyeCommand} from '../_base/base-command.js';
import {formatFlag} from '../_base/flags.js';

export default class RulesList extends DaemonEyeCommand<typeof RulesList> {
  static override summary = 'List the detection rules and whether each is enabled.';
  static override description =
    'Built-in rules, rules in the user rules directory, detection.rules_paths and --rules, with enable/disable from configuration applied.';
  static override examples = ['<%= config.bin %> rules list', "<%= config.bin %> rules list --format json | jq '.[] | select(.enabled == false) | .id'"];
  static override flags = {
    format: formatFlag(['table', 'json', 'ndjson', 'csv'] as const),
    rules: Flags.string({summary: 'A further directory or file of rules (repeatable).', multiple: true}),
  };

  async run(): Promise<void> {
    const config = this.loadConfig();
    const rules = listRules({config: config.values, rulesPaths: this.flags.rules ?? []});
    const format = this.outputFormat(this.flags.format);
    const fields = ['id', 'name', 'severity', 'category', 'tags', 'enabled', 'source_type', 'format', 'status'] as const;
    if (format === 'json') this.write(renderJson(rules));
    else if (format === 'ndjson') for (const rule of rules) this.write(renderNdjsonLine(rule));
    else if (format === 'csv')
      this.write(
        [
          csvLine([...fields, 'source_path']),
          ...rules.map((r) => csvLine([...fields.map((f) => (f === 'tags' ? r.tags.join(' ') : r[f])), r.source_path])),
        ].join(''),
      );
    else
      this.write(
        renderTable(
          rules,
          fields.map((f) => ({
            header: f.toUpperCase(),
            get: (r: RuleListing) => (f === 'tags' ? r.tags.join(' ') : f === 'enabled' ? (r.enabled ? 'yes' : 'no') : (r[f] ?? '')),
          })),
          process.stdout.columns,
        ),
      );
    this.logger.info(`${rules.length} rules, ${rules.filter((r) => r.enabled).length} enabled`);
  }
}
