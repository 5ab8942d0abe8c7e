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
    '## One shape per field',
    '',
    'A field has the same shape in the output of every command (`scan`, `export`, `query`, `detect`,',
    "alerts' `alert_data`), whatever the format:",
    '',
    '- JSON and NDJSON: booleans are `true`/`false`; JSON columns (`command_line`, `platform_data`, `errors`,',
    '  `affected_processes`, `alert_data`) are arrays and objects, never JSON text. A `query` result column or a',
    "  rule's result row (in `alert_data.processes`) takes this shape when it keeps the column's name",
    '  (`SELECT file_exists` is a boolean; `SELECT file_exists AS fe` is the 0/1 SQL computed).',
    "- CSV (`scan`, `export`, `query`): the table's flat columns (for `processes`, every `platform_data` field in a",
    '  column of its own, as rules see them); booleans `true`/`false`; JSON columns as compact JSON text.',
    '- SQL (rules and `query`): booleans are 0/1 and JSON columns are JSON text, as SQLite stores them.',
    '',
    '## Text collected from the host',
    '',
    'Names, paths, argv, environment values and the other text a scan reads from the host are bytes, chosen by',
    'whoever runs the process. Every table writes them in one lossless form, so the same bytes are the same',
    'text in every table: UTF-8 characters as they are (tab and line feed included); a byte that is not UTF-8,',
    'or belongs to a control character, as `\\xHH`; a backslash that would read as such an escape as `\\\\`',
    '([scan.md](scan.md), "Text: one lossless form in every table").',
    '',
    ...sections,
  ]
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}
