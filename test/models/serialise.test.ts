import {describe, expect, it} from 'vitest';

import {csvCells, serialiseResultRow, serialiseRow} from '../../src/models/serialise.js';
import {tableDefinition, TABLES} from '../../src/models/tables.js';

describe('serialise: one shape per field', () => {
  it('a column name means the same kind of value in every table that has it (so result columns are typed by name)', () => {
    const kinds = new Map<string, Set<string>>();
    for (const {columns} of TABLES)
      for (const c of columns) kinds.set(c.name, new Set([...(kinds.get(c.name) ?? []), c.boolean ? 'boolean' : c.json ? 'json' : 'plain']));
    const conflicting = [...kinds].filter(([, set]) => set.size > 1 && (set.has('boolean') || set.has('json')));
    expect(conflicting).toEqual([]);
  });

  it('SQL rows become records: 0/1 → booleans, JSON text → values; other columns untouched', () => {
    expect(serialiseRow('processes', {pid: 3, file_exists: 0, accessible: 1, command_line: '["a","b c"]', platform_data: null, extra: 1})).toEqual({
      pid: 3,
      file_exists: false,
      accessible: true,
      command_line: ['a', 'b c'],
      platform_data: null,
      extra: 1,
    });
    expect(serialiseRow('scans', {errors: '[]'})).toEqual({errors: []});
    expect(serialiseResultRow({kernel_thread: 1, affected_processes: '[1,2]', n: 0, cmdline: '[x]'})).toEqual({
      kernel_thread: true,
      affected_processes: [1, 2],
      n: 0,
      cmdline: '[x]',
    });
    // Text that is not JSON stays text: a computed column that happens to share a JSON column's name.
    expect(serialiseResultRow({command_line: 'not json'})).toEqual({command_line: 'not json'});
  });

  it('CSV cells: booleans true/false, JSON text kept', () => {
    const columns = (tableDefinition('processes')?.columns ?? []).filter((c) => ['pid', 'file_exists', 'command_line'].includes(c.name));
    expect(columns.map((c) => c.name)).toEqual(['pid', 'command_line', 'file_exists']);
    expect(csvCells(columns, [1, '["a"]', 0])).toEqual([1, '["a"]', false]);
  });
});
