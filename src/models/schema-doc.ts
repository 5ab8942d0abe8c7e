// docs/schema.md: the tables rules and exports see, generated from the table registry (tables.ts).
import type {ColumnSpec} from './columns.js';
import {TABLES} from './tables.js';

function table(columns: readonly ColumnSpec[]): string[] {
  return [
    '| column | type | null | description |',
    '|---|---|---|---|',
    ...columns.map((c) => `| \`${c.name}\` | ${c.docType} | ${c.nullable ? 'yes' : 'no'} | ${c.description.replaceAll('|', '\\|')} |`),
  ];
}

export function renderSchemaDoc(): string {
  const sections = TABLES.flatMap((t) => [`## \`${t.name}\``, '', ...t.docSections.flatMap((s) => [s.intro, '', ...table(s.columns), '']), '']);
  return `${[
    '# Data schema',
    '',
    '<!-- Generated from src/models by `npm run docs`; do not edit by hand. -->',
    '',
    'Every record DaemonEye writes (JSON, NDJSON, CSV, snapshot files) uses these snake_case names. Timestamps are',
    'epoch milliseconds, unknown values are `null`, booleans are JSON booleans (0/1 in SQL).',
    '',
    ...sections,
  ]
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}
