// docs/schema.md: the tables rules and exports see, generated from the models.
import type {ColumnSpec} from './columns.js';
import {ALERT_TABLE_COLUMNS} from './alert.js';
import {DERIVED_PROCESS_COLUMNS, PLATFORM_DATA_COLUMNS, PROCESS_RECORD_COLUMNS} from './process.js';
import {SCAN_TABLE_COLUMNS} from './scan.js';

function table(columns: readonly ColumnSpec[]): string[] {
  return [
    '| column | type | null | description |',
    '|---|---|---|---|',
    ...columns.map((c) => `| \`${c.name}\` | ${c.docType} | ${c.nullable ? 'yes' : 'no'} | ${c.description.replaceAll('|', '\\|')} |`),
  ];
}

export function renderSchemaDoc(): string {
  return `${[
    '# Data schema',
    '',
    '<!-- Generated from src/models by `npm run docs`; do not edit by hand. -->',
    '',
    'Every record DaemonEye writes (JSON, NDJSON, CSV, snapshot files) uses these snake_case names. Timestamps are',
    'epoch milliseconds, unknown values are `null`, booleans are JSON booleans (0/1 in SQL).',
    '',
    '## `processes`',
    '',
    'One row per process per scan. The first columns are the `ProcessRecord` (the JSON record `scan` prints):',
    '',
    ...table(PROCESS_RECORD_COLUMNS),
    '',
    'Derived columns, for `LIKE`, `instr` and name comparisons in rules:',
    '',
    ...table(DERIVED_PROCESS_COLUMNS),
    '',
    "The Linux collector's `platform_data` fields, each also a column of its own (null from other collectors):",
    '',
    ...table(PLATFORM_DATA_COLUMNS),
    '',
    '## `scans`',
    '',
    'One row per scan: host facts and collection results.',
    '',
    ...table(SCAN_TABLE_COLUMNS),
    '',
    '## `alerts`',
    '',
    'Filled by `detect --store`; the same shape `detect` prints.',
    '',
    ...table(ALERT_TABLE_COLUMNS),
  ].join('\n')}\n`;
}
