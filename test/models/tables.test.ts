import {describe, expect, it} from 'vitest';

import {PREDICATE_COLUMNS, PROCESS_TRAITS_VIEW} from '../../src/detection/rule-predicates.js';
import {knownTables} from '../../src/detection/sql-validator.js';
import {renderSchemaDoc} from '../../src/models/schema-doc.js';
import {columnSpec, indexName, TABLES, tableDefinition} from '../../src/models/tables.js';
import {createSnapshotDatabase, selectAll} from '../../src/storage/database.js';
import {EXPORT_TABLES} from '../../src/storage/export.js';

describe('the table registry', () => {
  it('drives the snapshot DDL: every table with every column and its indexes', async () => {
    const db = await createSnapshotDatabase();
    try {
      for (const table of TABLES) {
        const columns = selectAll(db, `SELECT name FROM pragma_table_info('${table.name}')`).map((r) => r.name);
        expect(columns, table.name).toEqual(table.columns.map((c) => c.name));
        const indexes = selectAll(db, `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND name NOT LIKE 'sqlite_%'`, [table.name]).map(
          (r) => r.name,
        );
        expect(indexes.sort(), table.name).toEqual(table.indexes.map((index) => indexName(table.name, index)).sort());
      }
    } finally {
      db.close();
    }
  });

  it('is what the validator, export and docs/schema.md know', () => {
    const known = knownTables();
    // Every registry table, and each data table again as `baseline_<table>` (detect --baseline) with the same columns.
    const baseline = TABLES.filter((t) => t.name !== 'alerts').map((t) => `baseline_${t.name}`);
    // Plus the shared predicates' view: processes' columns and the predicates (src/detection/rule-predicates.ts).
    expect([...known.keys()].sort()).toEqual([...TABLES.map((t) => t.name), ...baseline, PROCESS_TRAITS_VIEW].sort());
    expect([...(known.get(PROCESS_TRAITS_VIEW) ?? [])]).toEqual([...(known.get('processes') ?? []), ...PREDICATE_COLUMNS]);
    for (const table of TABLES) expect([...(known.get(table.name) ?? [])]).toEqual(table.columns.map((c) => c.name));
    for (const table of TABLES.filter((t) => t.name !== 'alerts')) expect(known.get(`baseline_${table.name}`)).toEqual(known.get(table.name));
    expect([...EXPORT_TABLES].sort()).toEqual(TABLES.map((t) => t.name).sort());
    const doc = renderSchemaDoc();
    for (const table of TABLES) {
      expect(doc).toContain(`## \`${table.name}\``);
      for (const column of table.columns) expect(doc).toContain(`| \`${column.name}\` |`);
    }
  });

  it('exposes each column type (JSON, boolean, SQL type) for output shaping', () => {
    expect(columnSpec('processes', 'command_line')).toMatchObject({json: true, sqlType: 'TEXT'});
    expect(columnSpec('processes', 'exe_deleted')).toMatchObject({boolean: true, sqlType: 'INTEGER'});
    expect(columnSpec('processes', 'nope')).toBeUndefined();
    expect(tableDefinition('nope')).toBeUndefined();
  });
});
