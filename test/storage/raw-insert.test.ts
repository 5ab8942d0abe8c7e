// The C-API insert (src/storage/raw-insert.ts) must store exactly what sql.js's own Statement stores, for
// every kind of value a collector hands over, including text no well-behaved process has.
import type {Database, SqlJsStatic} from 'sql.js';
import {beforeAll, describe, expect, it} from 'vitest';

import {insertFlatRows} from '../../src/storage/bulk-insert.js';
import {prepareRawInsert} from '../../src/storage/raw-insert.js';
import {loadSqlJs, newSqlJsInstance} from '../../src/storage/sqljs.js';

let SQL: SqlJsStatic;
beforeAll(async () => {
  SQL = await loadSqlJs();
});

// `x` has no type, so it keeps a number as it was bound: an integer or a double.
const TABLE = 'CREATE TABLE t (k INTEGER NOT NULL, s TEXT, n INTEGER, r REAL, x)';
const columns = ['k', 's', 'n', 'r', 'x'].map((name) => ({name}));

/** Rows of awkward values: text sql.js and the C path must encode alike, numbers at every boundary. */
function hostileRows(): (string | number | null)[] {
  const texts = [
    '',
    'plain',
    'é ü 漢字 😀',
    'nul\u0000inside\u0000',
    'lone \uD800 high',
    'lone \uDFFF low',
    '\uDBFF',
    'pair then lone 😀\uD83D',
    'x'.repeat(300_000) + '\u{10FFFF}',
    'quote \' and " and ; DROP TABLE t; --',
  ];
  const numbers = [0, -0, 1, -1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 53, 1.5, -1e-300, Number.MAX_VALUE];
  const rows: (string | number | null)[] = [];
  for (let i = 0; i < 200; i++)
    rows.push(
      i,
      i % 7 === 0 ? null : (texts[i % texts.length] as string),
      numbers[i % numbers.length] as number,
      i % 5 === 0 ? null : i / 3,
      numbers[i % numbers.length] as number,
    );
  return rows;
}

/** The same rows inserted with sql.js's own Statement (the reference). */
function viaSqlJs(values: readonly (string | number | null)[]): Database {
  const db = new SQL.Database();
  db.exec(TABLE);
  const statement = db.prepare('INSERT INTO t (k, s, n, r, x) VALUES (?, ?, ?, ?, ?)');
  for (let i = 0; i < values.length; i += 5) statement.run(values.slice(i, i + 5) as (string | number | null)[]);
  statement.free();
  return db;
}

describe('inserts bound through SQLite’s C API', () => {
  it('store byte for byte what sql.js stores: hostile text, NULs, lone surrogates, long text, numbers at every boundary', () => {
    const values = hostileRows();
    const reference = viaSqlJs(values);
    const db = new SQL.Database();
    db.exec(TABLE);
    insertFlatRows(db, {name: 't', columns}, values);
    const dump = (d: Database): unknown => d.exec('SELECT k, typeof(s), hex(s), typeof(n), n, typeof(r), r, typeof(x), x FROM t ORDER BY k')[0]?.values;
    expect(dump(db)).toEqual(dump(reference));
    expect(dump(db)).toHaveLength(200);
    reference.close();
    db.close();
  });

  it('binds into another sql.js instance (the in-process rule lane’s, a throw-away import’s), found from the database, and into that one only', async () => {
    const lane = await newSqlJsInstance();
    const values = hostileRows();
    const reference = viaSqlJs(values);
    const db = new lane.module.Database();
    db.exec(TABLE);
    // Without the instance given, the database's own is found: the C path into that instance's memory.
    const found = prepareRawInsert(db, 'INSERT INTO t (k) VALUES (?)');
    expect(found).toBeDefined();
    found?.run([-1]);
    found?.free();
    expect(db.exec('SELECT k FROM t')[0]?.values).toEqual([[-1]]);
    db.exec('DELETE FROM t');
    const insert = prepareRawInsert(db, 'INSERT INTO t (k) VALUES (?)', lane);
    expect(insert).toBeDefined();
    insert?.free();
    insertFlatRows(db, {name: 't', columns}, values);
    const dump = (d: Database): unknown => d.exec('SELECT k, typeof(s), hex(s), typeof(n), n, typeof(r), r, typeof(x), x FROM t ORDER BY k')[0]?.values;
    expect(dump(db)).toEqual(dump(reference));
    // This thread's database is not the lane's.
    const own = new SQL.Database();
    own.exec(TABLE);
    expect(prepareRawInsert(own, 'INSERT INTO t (k) VALUES (?)', lane)).toBeUndefined();
    own.close();
    reference.close();
    db.close();
  });

  it('is the path insertFlatRows takes for this thread’s sql.js', () => {
    const db = new SQL.Database();
    db.exec(TABLE);
    const insert = prepareRawInsert(db, 'INSERT INTO t (k) VALUES (?)');
    expect(insert).toBeDefined();
    insert?.run([1]);
    insert?.free();
    expect(db.exec('SELECT k FROM t')[0]?.values).toEqual([[1]]);
    db.close();
  });

  it('reports SQLite’s own message for a refused row, and the table’s transaction is rolled back whole', () => {
    const db = new SQL.Database();
    db.exec(TABLE);
    const rows = [1, 'a', 1, 1, 1, 2, 'b', 2, 2, 2, null, 'c', 3, 3, 3];
    expect(() => insertFlatRows(db, {name: 't', columns}, rows)).toThrow(/NOT NULL constraint failed: t\.k/);
    expect(db.exec('SELECT count(*) FROM t')[0]?.values).toEqual([[0]]);
    expect(() => prepareRawInsert(db, 'INSERT INTO nowhere VALUES (?)')).toThrow(/no such table: nowhere/);
    db.close();
  });

  it('refuses a value sql.js cannot bind either', () => {
    const db = new SQL.Database();
    db.exec(TABLE);
    const insert = prepareRawInsert(db, 'INSERT INTO t (k) VALUES (?)');
    expect(() => insert?.run([{} as unknown as number])).toThrow(/cannot bind a value of type object/);
    insert?.free();
    db.close();
  });
});
