import {describe, expect, it} from 'vitest';

import {registerUdfs} from '../../src/detection/udfs.js';
import {loadSqlJs} from '../../src/storage/sqljs.js';
import {trimEndChar} from '../../src/util/text.js';
import {expectLinearTime} from '../helpers/linear-time.js';

describe('trimEndChar', () => {
  it('drops the run of the character at the end only', () => {
    expect(trimEndChar('/usr/bin//', '/')).toBe('/usr/bin');
    expect(trimEndChar('/usr/bin', '/')).toBe('/usr/bin');
    expect(trimEndChar('///', '/')).toBe('');
    expect(trimEndChar('', '/')).toBe('');
    expect(trimEndChar('a sentence...', '.')).toBe('a sentence');
  });

  it('is linear on a long run of the character followed by another (a regex like /\\/+$/ is quadratic there)', () => {
    expectLinearTime((n) => {
      const text = `${'/'.repeat(n)}x`;
      return () => trimEndChar(text, '/');
    }, 200_000);
  });

  it('keeps the basename and dirname rule functions linear on such a path', async () => {
    const SQL = await loadSqlJs();
    const db = new SQL.Database();
    registerUdfs(db);
    try {
      expect(db.exec(`SELECT basename('/usr/bin//'), dirname('/usr/bin//')`)[0]?.values).toEqual([['bin', '/usr']]);
      expectLinearTime((n) => {
        const statement = db.prepare('SELECT basename(?), dirname(?)');
        const path = `${'/'.repeat(n)}x`;
        return () => {
          statement.bind([path, path]);
          statement.step();
          statement.reset();
        };
      }, 100_000);
    } finally {
      db.close();
    }
  });
});
