// The pure parts of Parquet export: partition values that cannot climb out of the lake, the path layout, and
// the exact type mapping of every registry column.
import {describe, expect, it} from 'vitest';

import {fleetColumns, fleetTimeColumn} from '../../src/models/fleet-table.js';
import {TABLES} from '../../src/models/tables.js';
import {hostPartition, parquetPath, parquetType, partitionValue} from '../../src/storage/parquet-export.js';

describe('Parquet layout', () => {
  it('keeps partition values to one safe path segment', () => {
    expect(partitionValue('web-01.example.com')).toBe('web-01.example.com');
    expect(partitionValue('../../etc')).toBe('.._.._etc');
    expect(partitionValue('..')).toBe('_');
    expect(partitionValue('.')).toBe('_');
    expect(partitionValue('')).toBe('_');
    expect(partitionValue('a/b\nc=d ü')).toBe('a_b_c_d__');
    expect(hostPartition({host_id: null, hostname: 'h/1'})).toBe('h_1');
    expect(hostPartition({host_id: 'ab'.repeat(16), hostname: 'h'})).toBe('ab'.repeat(16));
  });

  it('files a scan by table, UTC date of its start and host', () => {
    const scan = {id: 42, start_time: Date.UTC(2026, 11, 5, 23, 59, 59), host_id: null, hostname: 'web 1'};
    expect(parquetPath('processes', scan)).toBe('table=processes/date=2026-12-05/host_key=web_1/42.parquet');
  });

  it('maps every column of every table to the Parquet type of its values', () => {
    for (const table of TABLES) {
      const columns = fleetColumns(table);
      expect(columns.map((c) => c.name)).toContain('hostname');
      expect(columns.map((c) => c.name)).toContain(fleetTimeColumn(table));
      for (const column of columns) {
        const expected = column.boolean ? 'BOOLEAN' : column.sqlType === 'INTEGER' ? 'INT64' : column.sqlType === 'REAL' ? 'DOUBLE' : 'STRING';
        expect(parquetType(column), `${table.name}.${column.name}`).toBe(expected);
      }
      expect(new Set(columns.map((c) => c.name)).size, `${table.name}: no column twice`).toBe(columns.length);
    }
  });
});
