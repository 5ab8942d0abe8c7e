// How `tables` prints (src/output/view.ts): the list of tables, or one table's columns.
import type {View} from '../output/view.js';
import type {ColumnListing, TableListing} from './table-catalog.js';

/** How `tables` prints the list: a table on a terminal, records otherwise. */
export function tableListView(tables: readonly TableListing[]): View<TableListing> {
  return {
    rows: tables,
    columns: [
      {header: 'TABLE', get: (t) => t.name},
      {header: 'KIND', get: (t) => t.kind},
      {header: 'COLUMNS', get: (t) => t.columns, align: 'right'},
      {header: 'DESCRIPTION', get: (t) => t.description},
    ],
    csv: {header: ['name', 'kind', 'columns', 'description'], values: (t) => [t.name, t.kind, t.columns, t.description]},
  };
}

/** How `tables TABLE` prints the columns. */
export function columnListView(columns: readonly ColumnListing[]): View<ColumnListing> {
  return {
    rows: columns,
    columns: [
      {header: 'COLUMN', get: (c) => c.column},
      {header: 'TYPE', get: (c) => c.doc_type},
      {header: 'NULL', get: (c) => (c.nullable ? 'yes' : 'no')},
      {header: 'DESCRIPTION', get: (c) => c.description},
    ],
    csv: {
      header: ['table', 'column', 'type', 'doc_type', 'nullable', 'description'],
      values: (c) => [c.table, c.column, c.type, c.doc_type, c.nullable, c.description],
    },
  };
}
