import {describe, expect, it} from 'vitest';

import {registerUdfs} from '../../src/detection/udfs.js';
import {loadSqlJs} from '../../src/storage/sqljs.js';
import {mentionsName, trimEndChar} from '../../src/util/text.js';
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

describe('mentionsName', () => {
  it('finds a name the text begins with, quotes, or holds as a path of its own', () => {
    expect(mentionsName('config.yaml:3:1: bad key', 'config.yaml')).toBe(true);
    expect(mentionsName('cannot read "a b.db" (check it)', 'a b.db')).toBe(true);
    expect(mentionsName('cannot open /tmp/x.db: it is locked', '/tmp/x.db')).toBe(true);
    expect(mentionsName('written to /tmp/x.db.', '/tmp/x.db')).toBe(true);
    expect(mentionsName('seq must be a positive integer', 'seq')).toBe(true);
    expect(mentionsName('invalid configuration: big.yaml:2:3: too long', 'big.yaml')).toBe(true);
  });

  it('does not take a name found inside a word, a sentence or another path for the name', () => {
    // A file called `f` (or `a`, `snapshot`) is not named by the words and paths that contain it.
    expect(mentionsName('is a FIFO (named pipe), not a regular file: a snapshot file is never read from one', 'f')).toBe(false);
    expect(mentionsName('not a SQLite database', 'a')).toBe(false);
    expect(mentionsName('written by /var/x/f', 'f')).toBe(false);
    expect(mentionsName('written by /var/x/f.old', '/var/x/f')).toBe(false);
    expect(mentionsName('read /tmp/x.db.bak instead', '/tmp/x.db')).toBe(false);
    expect(mentionsName('snapshots differ', 'snapshot')).toBe(false);
    expect(mentionsName('the snapshot is old', 'snapshot')).toBe(false);
    expect(mentionsName('anything', '')).toBe(false);
  });
});
