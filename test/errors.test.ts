import {describe, expect, it} from 'vitest';

import {combineExitCodes, DaemonEyeError, ERROR_CODES, ExitCode, fileError, mentionsName, strongerExitCode} from '../src/errors.js';

describe('DaemonEyeError', () => {
  it('every code has a kind from the reference API categories and an exit code from the table', () => {
    for (const spec of Object.values(ERROR_CODES)) {
      expect(['configuration', 'database', 'detection', 'alerting', 'crypto', 'validation', 'io']).toContain(spec.kind);
      expect([1, 2, 3]).toContain(spec.exit);
    }
  });

  it('renders one line with file and hint, and JSON with kind and code', () => {
    const error = new DaemonEyeError('INPUT_CORRUPT', 'not a SQLite database', {file: '/tmp/x.db', hint: 'give a file written by daemoneye scan --output'});
    expect(error.toOneLine()).toBe('/tmp/x.db: not a SQLite database (give a file written by daemoneye scan --output)');
    expect(error.toJSON()).toEqual({kind: 'database', code: 'INPUT_CORRUPT', message: error.toOneLine(), file: '/tmp/x.db'});
    expect(error.exitCode).toBe(ExitCode.UsageOrInput);
  });

  it('maps file-system errors: reading is an input error, writing a runtime error', () => {
    const enoent = Object.assign(new Error('x'), {code: 'ENOENT'});
    expect(fileError(enoent, '/a', 'read').exitCode).toBe(2);
    expect(fileError(enoent, '/a', 'write').exitCode).toBe(3);
    expect(fileError(Object.assign(new Error('x'), {code: 'EACCES'}), '/a', 'write').code).toBe('PERMISSION_DENIED');
  });

  it('exit-code precedence is 2 over 1 over 3 over 0', () => {
    expect(strongerExitCode(0, 3)).toBe(3);
    expect(strongerExitCode(3, 1)).toBe(1);
    expect(strongerExitCode(1, 2)).toBe(2);
    expect(strongerExitCode(2, 3)).toBe(2);
    expect(combineExitCodes([])).toBe(0);
    expect(combineExitCodes([3, 1, 0])).toBe(1);
  });
});

describe('DaemonEyeError names its file', () => {
  it('even when the file name is a word or letter its message contains', () => {
    // A FIFO called `f` was reported as "is a FIFO …" with no name: `file` contains "f".
    for (const file of ['f', 'a', 'snapshot', 'db']) {
      const error = new DaemonEyeError('INPUT_UNREADABLE', 'is a FIFO (named pipe), not a regular file: a snapshot file is never read from one (not a db)', {
        file,
      });
      expect(error.toOneLine().startsWith(`${file}: `)).toBe(true);
    }
  });

  it('is not named twice when the message begins with it', () => {
    const error = new DaemonEyeError('CONFIG_INVALID', 'rules.yaml:3:1: unknown key', {file: 'rules.yaml'});
    expect(error.toOneLine()).toBe('rules.yaml:3:1: unknown key');
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
