// The rule functions over long texts (src/detection/udfs.ts): REGEXP reads a text of several kilobytes from
// sql.js's memory, decodes it once per database and keeps its results; every answer must be the one the
// plain path gives, whatever the texts share (length, head, tail), whatever they hold (non-ASCII, NUL,
// invalid UTF-8), and however many pass through the cache.
import type {Database} from 'sql.js';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {compileRegex} from '../../src/detection/regex.js';
import {LONG_TEXT_BYTES, LongTextCache, registerUdfs} from '../../src/detection/udfs.js';
import {loadSqlJs} from '../../src/storage/sqljs.js';

let db: Database;
let cache: LongTextCache | undefined;
beforeAll(async () => {
  const SQL = await loadSqlJs();
  db = new SQL.Database();
  cache = registerUdfs(db);
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, x)');
});
afterAll(() => db.close());

/** Every row's `x REGEXP pattern` (and with flags), in id order. */
function matches(pattern: string, flags = ''): (number | null)[] {
  const sql = flags === '' ? 'SELECT x REGEXP ? FROM t ORDER BY id' : 'SELECT regexp_flags(?, ?, x) FROM t ORDER BY id';
  const statement = db.prepare(sql);
  statement.bind(flags === '' ? [pattern] : [pattern, flags]);
  const values: (number | null)[] = [];
  while (statement.step()) values.push(statement.get()[0] as number | null);
  statement.free();
  return values;
}

function fill(values: (string | null)[]): void {
  db.exec('DELETE FROM t');
  const insert = db.prepare('INSERT INTO t (id, x) VALUES (?, ?)');
  values.forEach((value, id) => insert.run([id, value]));
  insert.free();
}

const long = LONG_TEXT_BYTES * 3;

describe('REGEXP over long texts', () => {
  it('answers each of many long texts that share their length, head and tail as the engine does', () => {
    // Same length, same first and last 32 bytes, one character different in the middle: the cache must
    // compare the bytes, not a key.
    const texts = ['curl', 'wget', 'bash', 'nc x', null, 'curl'].map((word) =>
      word === null ? null : `${'a'.repeat(long / 2)}${word}${'b'.repeat(long / 2)}`,
    );
    fill(texts);
    const before = cache?.decoded ?? 0;
    for (const pattern of ['curl', 'wget|nc\\s', '^a+bash', 'b{10}$', 'zzz']) {
      const regex = compileRegex(pattern);
      const expected = texts.map((text) => (text === null ? null : regex.test(text) ? 1 : 0));
      // Twice: the second pass is answered from the results kept with each text.
      expect(matches(pattern), pattern).toEqual(expected);
      expect(matches(pattern), pattern).toEqual(expected);
    }
    // Ten calls per text, four distinct long texts (the sixth repeats the first): each decoded once.
    expect(cache?.decoded).toBe(before + 4);
  });

  it('decodes non-ASCII, NUL and invalid UTF-8 as sql.js does for short texts', () => {
    const body = 'é✓𝄞 ';
    const text = body.repeat(long / body.length);
    const nul = `${'x'.repeat(long)}\u0000after`;
    fill([text, nul]);
    expect(matches('𝄞 é')).toEqual([1, 0]);
    expect(matches('^(é✓𝄞 )+$')).toEqual([1, 0]);
    // sql.js ends a text at its first NUL: the text after it is not seen, long or short.
    expect(matches('after')).toEqual([0, 0]);
    db.exec('DELETE FROM t');
    db.exec(`INSERT INTO t (id, x) VALUES (1, CAST(x'${'61'.repeat(long)}ff62' AS TEXT)), (2, CAST(x'61ff62' AS TEXT))`);
    expect(matches('a\\x{fffd}b')).toEqual([1, 1]);
  });

  it('takes flags, numbers and NULL as the plain path does, and reports a bad pattern as the rule error', () => {
    fill([`${'A'.repeat(long)}Curl`, '12345']);
    expect(matches('curl', 'i')).toEqual([1, 0]);
    expect(matches('curl')).toEqual([0, 0]);
    expect(matches('^123')).toEqual([0, 1]);
    expect(db.exec('SELECT x REGEXP NULL, NULL REGEXP x FROM t ORDER BY id')[0]?.values).toEqual([
      [null, null],
      [null, null],
    ]);
    expect(() => db.exec("SELECT x REGEXP '(?=a)' FROM t")).toThrow(/lookahead/);
    expect(() => db.exec("SELECT regexp_flags('a', 'g', x) FROM t")).toThrow(/flags are any of i, m, s/);
  });

  it('answers forty long texts that differ only in their first and last bytes', () => {
    const texts = Array.from({length: 40}, (_unused, i) => `${String(i).padStart(3, '0')}${'z'.repeat(long)}${i % 3 === 0 ? 'hit' : 'miss'}`);
    fill(texts);
    const expected = texts.map((text) => (text.endsWith('hit') ? 1 : 0));
    expect(matches('hit$')).toEqual(expected);
    expect(matches('hit$')).toEqual(expected);
  });
});

describe('text results longer than the stack of sql.js', () => {
  it('come back whole from every text function, and the database answers afterwards', {timeout: 60_000}, () => {
    // sql.js's own create_function copies a text result onto its 5 MiB WebAssembly stack: an 8 MB one wrote
    // over the heap ("memory access out of bounds", then no query of the database ran again). Characters of the
    // Basic Multilingual Plane only, so SQLite's length() and JavaScript's agree.
    const size = 6 * 1024 * 1024;
    const text = `/usr/bin/${'a'.repeat(size)}é`;
    fill([text]);
    for (const fn of ['shell_unquote', 'shell_normalize', 'visible_text', 'casefold', 'basename', 'dirname']) {
      const [row] = db.exec(`SELECT length(y), substr(y, -2) FROM (SELECT ${fn}(x) AS y FROM t LIMIT -1 OFFSET 0)`)[0]?.values ?? [];
      const expected = fn === 'dirname' ? '/usr/bin' : fn === 'basename' ? `${'a'.repeat(size)}é` : text;
      expect(row, fn).toEqual([expected.length, expected.slice(-2)]);
    }
    expect(db.exec("SELECT shell_unquote('a''b''c'), casefold('ÉTÉ'), visible_text(NULL)")[0]?.values).toEqual([['abc', 'été', null]]);
    expect(db.exec('SELECT count(*) FROM t')[0]?.values).toEqual([[1]]);
  });
});

describe('LongTextCache', () => {
  it('keeps the most recently used texts within its bytes and decodes each once while held', () => {
    const cache = new LongTextCache(3 * (4 * long));
    let decoded = 0;
    const bytes = (i: number): Uint8Array => Buffer.from(`${'q'.repeat(long)}${i}`);
    const decode = (i: number) => (): string => {
      decoded++;
      return `${'q'.repeat(long)}${i}`;
    };
    for (const i of [1, 2, 3, 1, 2, 3]) expect(cache.get(bytes(i), decode(i)).text.endsWith(String(i))).toBe(true);
    expect(decoded).toBe(3);
    // A fourth text drops the least recently used (1); 3 stays.
    cache.get(bytes(4), decode(4));
    cache.get(bytes(3), decode(3));
    expect(decoded).toBe(4);
    cache.get(bytes(1), decode(1));
    expect(decoded).toBe(5);
  });
});
