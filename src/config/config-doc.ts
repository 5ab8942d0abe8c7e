// docs/configuration.md, generated from the schema so it cannot drift (a test compares them).
import {ConfigSchema, SinkSchema} from './schema.js';
import {leafDocs} from './schema-walk.js';

function cell(value: unknown): string {
  if (value === undefined) return '(required)';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return `\`${text.replaceAll('|', '\\|')}\``;
}

export function renderConfigDoc(): string {
  const lines: string[] = [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run docs`; do not edit by hand. -->',
    '',
    'Layers, lowest first: embedded defaults, `/etc/daemoneye/config.yaml`, `$XDG_CONFIG_HOME/daemoneye/config.yaml`',
    '(or `~/.config/daemoneye/config.yaml`), `--config FILE`, environment variables, command-line flags.',
    'Missing system and user files are fine; an unreadable or malformed one is an error naming the file, line and column.',
    '',
    'Environment variables: `DAEMONEYE_` plus the upper-case key with `__` between levels, e.g.',
    '`DAEMONEYE_APP__LOG_LEVEL=debug` or `DAEMONEYE_DETECTION__RULE_TIMEOUT_MS=2000`. Values are read as YAML',
    'scalars, so `true`, `2000` and `[a, b]` have their types.',
    '',
    'String values in files may use `${VAR}` and `${VAR:-default}`; `$$` is a literal `$`. An unset variable',
    'without a default is an error. Substitution happens after parsing, so a value can never inject YAML.',
    '',
    '`daemoneye config show --sources` prints the effective value of every key and the layer that set it,',
    'with secrets (header values, HMAC secrets, passwords and tokens in URLs) redacted ([redaction.md](redaction.md)).',
    '',
    '| key | type | default | description |',
    '|---|---|---|---|',
  ];
  for (const leaf of leafDocs(ConfigSchema)) {
    lines.push(`| \`${leaf.key}\` | ${leaf.type} | ${cell(leaf.defaultValue)} | ${leaf.description.replaceAll('|', '\\|')} |`);
  }
  lines.push('', '## Alert sinks', '', 'Each entry of `alerting.sinks` is a mapping with `name`, `type` and the options of its type:', '');
  for (const option of SinkSchema.options) {
    const typeField = option.shape.type;
    const type = String((typeField._zod.def as unknown as {values: unknown[]}).values[0]);
    lines.push(`### \`${type}\``, '', '| option | type | default | description |', '|---|---|---|---|');
    for (const leaf of leafDocs(option)) {
      if (leaf.key === 'type') continue;
      lines.push(`| \`${leaf.key}\` | ${leaf.type} | ${cell(leaf.defaultValue)} | ${leaf.description.replaceAll('|', '\\|')} |`);
    }
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
