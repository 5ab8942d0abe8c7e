import {describe, expect, it} from 'vitest';

import {parseEnviron, selectEnviron} from '../../src/collect/envs.js';
import {escapeLatin1} from '../../src/collect/text-encoding.js';
import {openFileRows} from '../../src/collect/open-files.js';

const selection = {names: new Set(['HISTFILE', 'LD_PRELOAD', 'DB_PASSWORD', 'http_proxy', 'PATH'])};

describe('parseEnviron', () => {
  it('keeps only the named variables, the first occurrence of each, exact case', () => {
    const environ = 'HOME=/root\0HISTFILE=/dev/null\0histfile=x\0LD_PRELOAD=/tmp/x.so\0HISTFILE=/second\0PATH=/usr/bin:/bin\0junk\0=novalue\0';
    expect(parseEnviron(9, environ, selection)).toEqual([
      {pid: 9, key: 'HISTFILE', value: '/dev/null'},
      {pid: 9, key: 'LD_PRELOAD', value: '/tmp/x.so'},
      {pid: 9, key: 'PATH', value: '/usr/bin:/bin'},
    ]);
  });

  it('keeps values as read: the registry redacts them by column kind (test/collect/redact.test.ts)', () => {
    const environ = 'DB_PASSWORD=hunter2\0http_proxy=http://bob:s3cret@proxy:3128\0';
    expect(parseEnviron(9, environ, selection).map((r) => r.value)).toEqual(['hunter2', 'http://bob:s3cret@proxy:3128']);
  });

  it('values and names in the one text form: control characters and bytes that are not UTF-8 escaped, newlines kept', () => {
    // environ read as latin1: one character per byte.
    const environ = Buffer.from('HISTFILE=/tmp/\x1b]0;x\x07\xff\nnext\0PATH=/a\\x7f:/b\0', 'latin1').toString('latin1');
    expect(parseEnviron(9, environ, selection).map((r) => r.value)).toEqual(['/tmp/\\x1b]0;x\\x07\\xff\nnext', '/a\\\\x7f:/b']);
  });
});

/** The definition: every entry split out, its name in the one text form, the first of each selected name. */
function reference(pid: number, environ: string, chosen: {names: ReadonlySet<string>}): {pid: number; key: string; value: string}[] {
  const rows: {pid: number; key: string; value: string}[] = [];
  const seen = new Set<string>();
  for (const entry of environ.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const key = escapeLatin1(entry.slice(0, eq));
    if (!chosen.names.has(key) || seen.has(key)) continue;
    seen.add(key);
    rows.push({pid, key, value: escapeLatin1(entry.slice(eq + 1))});
  }
  return rows;
}

describe('selectEnviron (what the walk keeps of an environ for process_envs)', () => {
  it('parses to the rows of the definition, as the whole text does, for duplicates, bytes that are not UTF-8, empty names and values, no selection', () => {
    const environs = [
      'HOME=/root\0HISTFILE=/dev/null\0histfile=x\0LD_PRELOAD=/tmp/x.so\0HISTFILE=/second\0PATH=/usr/bin:/bin\0junk\0=novalue\0',
      Buffer.from('HISTFILE=/tmp/\x1b]0;x\x07\xff\nnext\0PATH=\0\0\0PATH=again\0HIST\xffFILE=z', 'latin1').toString('latin1'),
      '',
      'gone',
      'unreadable',
      'PATH=a=b=c',
      'XPATH=1\0PATH\0PATH=\0a\0PATH=x\0HISTFILE=h=1\0 PATH=y',
      'MY VAR=1\0LD_PRELOAD=\0HISTFILE',
    ];
    // Names searched for directly (printable ASCII), and names that take the entry-by-entry path.
    const selections = [selection, {names: new Set<string>()}, {names: new Set(['HIST\\xffFILE'])}, {names: new Set(['MY VAR', 'PATH', 'HISTFILE'])}];
    selections.push({names: new Set(['PATH', 'A\\B', 'A=B'])}, {names: new Set(['PATH', 'MY\tVAR'])});
    for (const environ of environs) {
      for (const chosen of selections) {
        const kept = selectEnviron(environ, chosen);
        expect(parseEnviron(4, environ, chosen)).toEqual(reference(4, environ, chosen));
        expect(parseEnviron(4, kept, chosen)).toEqual(reference(4, environ, chosen));
        expect(kept.length).toBeLessThanOrEqual(environ.length);
      }
    }
    expect(selectEnviron('HOME=/root\0PATH=/bin\0PATH=/second\0', selection)).toBe('PATH=/bin');
  });
});

describe('openFileRows', () => {
  it('lists non-socket fds, with the deleted marker as a column', () => {
    expect(
      openFileRows(
        5,
        [
          {fd: 0, target: '/dev/pts/0', deleted: false},
          {fd: 3, target: 'socket:[123]', deleted: false},
          {fd: 4, target: '/tmp/gone.log (deleted)', deleted: true},
          {fd: 5, target: 'pipe:[456]', deleted: false},
          {fd: 6, target: 'anon_inode:[eventfd]', deleted: false},
          // A file really named so (readFdLinks found that very file at the full path).
          {fd: 7, target: '/srv/notes (deleted)', deleted: false},
          // Bytes read as latin1: an ESC and a byte that is not UTF-8 take the one text form.
          {fd: 8, target: '/tmp/\x1b[2J\xff (deleted)', deleted: true},
          // A /proc without this process: nothing can be stat'ed, so only the link text says what an fd is.
        ],
        '/nonexistent-proc',
      ).rows,
    ).toEqual([
      {pid: 5, fd: 0, path: '/dev/pts/0', deleted: false, type: null, inode: null, pty_index: null, access: null},
      {pid: 5, fd: 4, path: '/tmp/gone.log', deleted: true, type: null, inode: null, pty_index: null, access: null},
      {pid: 5, fd: 5, path: 'pipe:[456]', deleted: false, type: 'pipe', inode: 456, pty_index: null, access: null},
      {pid: 5, fd: 6, path: 'anon_inode:[eventfd]', deleted: false, type: 'anon_inode', inode: null, pty_index: null, access: null},
      {pid: 5, fd: 7, path: '/srv/notes (deleted)', deleted: false, type: null, inode: null, pty_index: null, access: null},
      {pid: 5, fd: 8, path: '/tmp/\\x1b[2J\\xff', deleted: true, type: null, inode: null, pty_index: null, access: null},
    ]);
  });
});
