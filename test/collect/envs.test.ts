// The environ selector (src/collect/envs.ts): what it keeps of an environ, whatever chunks the bytes come in.
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';

import {EnvironSelector, envRows, type SelectedEnviron, selectEnviron} from '../../src/collect/envs.js';
import {escapeBytes, escapeLatin1} from '../../src/collect/text-encoding.js';
import {openFileRows} from '../../src/collect/open-files.js';

const selection = {names: new Set(['HISTFILE', 'LD_PRELOAD', 'DB_PASSWORD', 'http_proxy', 'PATH'])};
const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

/**
 * The definition, over the whole text split on NUL: each selected name's first value and, when it differs, its
 * last; LD_PRELOAD's first and last joined by `:`; every distinct LD_AUDIT. `whole`: the last piece (no NUL
 * after it) is an entry; else it is the piece a read limit cut, and dropped.
 */
function reference(environ: Buffer, names: ReadonlySet<string>, whole = true): SelectedEnviron {
  const pieces = environ.toString('latin1').split('\0');
  if (!whole) pieces.pop();
  const first = new Map<string, string>();
  const last = new Map<string, string>();
  const preload: string[] = [];
  const audit: string[] = [];
  for (const entry of pieces) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const raw = entry.slice(0, eq);
    const value = entry.slice(eq + 1);
    if (raw === 'LD_PRELOAD') preload.push(value);
    if (raw === 'LD_AUDIT' && !audit.includes(value)) audit.push(value);
    const key = escapeLatin1(raw);
    if (!names.has(key)) continue;
    if (first.has(key)) last.set(key, value);
    else first.set(key, value);
  }
  const entries = [...first].flatMap(([key, value]) => {
    const later = last.get(key);
    return [{key, value: escapeLatin1(value)}, ...(later === undefined || later === value ? [] : [{key, value: escapeLatin1(later)}])];
  });
  const [firstPreload, lastPreload] = [preload[0], preload[preload.length - 1]];
  return {
    entries,
    ldPreload: firstPreload === undefined ? null : bytes(firstPreload === lastPreload ? firstPreload : `${firstPreload}:${lastPreload}`),
    ldAudit: audit.length === 0 ? null : bytes(audit.join(':')),
  };
}

/** The selector fed `environ` cut at `cuts` (offsets), ended `whole` or not. */
function fedInChunks(environ: Buffer, names: ReadonlySet<string>, cuts: readonly number[], whole = true): SelectedEnviron {
  const selector = new EnvironSelector({names});
  let from = 0;
  for (const cut of [...new Set(cuts)].filter((c) => c > 0 && c < environ.length).sort((a, b) => a - b)) {
    // Each chunk in a buffer of its own, larger than the chunk, overwritten after the call (the shared read buffer's way).
    const chunk = Buffer.alloc(cut - from + 7, 0x41);
    environ.copy(chunk, 0, from, cut);
    selector.push(chunk, cut - from);
    chunk.fill(0x5a);
    from = cut;
  }
  selector.push(environ.subarray(from));
  return selector.end(whole);
}

describe('EnvironSelector', () => {
  it('keeps the selected names exactly (case-sensitive), skips entries without a name or a `=`', () => {
    const environ = bytes('HOME=/root\0HISTFILE=/dev/null\0histfile=x\0LD_PRELOAD=/tmp/x.so\0PATH=/usr/bin:/bin\0junk\0=novalue\0XLD_PRELOAD=/no.so\0');
    const kept = selectEnviron(environ, selection);
    expect(envRows(9, kept.entries)).toEqual([
      {pid: 9, key: 'HISTFILE', value: '/dev/null'},
      {pid: 9, key: 'LD_PRELOAD', value: '/tmp/x.so'},
      {pid: 9, key: 'PATH', value: '/usr/bin:/bin'},
    ]);
    expect(kept.ldPreload?.toString()).toBe('/tmp/x.so');
    expect(kept.ldAudit).toBeNull();
  });

  it('a name set twice: its first value (getenv, Python, musl) and its last (bash, dash, glibc ld.so); every LD_AUDIT', () => {
    // Checked with a hand-built execve on glibc 2.36: ld.so loads the LAST LD_PRELOAD and every LD_AUDIT, bash
    // and dash take the last HISTFILE, getenv(3) returns the first.
    const environ = bytes(
      'LD_PRELOAD=\0HISTFILE=/root/.h\0LD_AUDIT=\0LD_PRELOAD=/tmp/mid.so\0LD_AUDIT=/tmp/a.so\0HISTFILE=/dev/null\0LD_PRELOAD=/tmp/evil.so\0LD_AUDIT=\0',
    );
    const kept = selectEnviron(environ, selection);
    expect(kept.entries).toEqual([
      {key: 'LD_PRELOAD', value: ''},
      {key: 'LD_PRELOAD', value: '/tmp/evil.so'},
      {key: 'HISTFILE', value: '/root/.h'},
      {key: 'HISTFILE', value: '/dev/null'},
    ]);
    expect(kept.ldPreload?.toString()).toBe(':/tmp/evil.so');
    expect(kept.ldAudit?.toString()).toBe(':/tmp/a.so');
    // Set twice to the same value: one entry, one value.
    expect(selectEnviron(bytes('PATH=/bin\0PATH=/bin\0LD_PRELOAD=/a.so\0LD_PRELOAD=/a.so'), selection)).toEqual({
      entries: [
        {key: 'PATH', value: '/bin'},
        {key: 'LD_PRELOAD', value: '/a.so'},
      ],
      ldPreload: bytes('/a.so'),
      ldAudit: null,
    });
  });

  it('a name repeated 100,000 times holds two values, not 100,000', () => {
    const environ = bytes(`${Array.from({length: 100_000}, (_, i) => `HISTFILE=/h${i}`).join('\0')}\0`);
    expect(selectEnviron(environ, selection).entries).toEqual([
      {key: 'HISTFILE', value: '/h0'},
      {key: 'HISTFILE', value: '/h99999'},
    ]);
  });

  it('values and names in the one text form: control characters, ESC and bytes that are not UTF-8 escaped, newlines kept', () => {
    const environ = bytes('HISTFILE=/tmp/\x1b]0;x\x07\xff\nnext\0PATH=/a\\x7f:/b\0HIST\xffFILE=z\0LD_PRELOAD=/tmp/\x1b[2J.so');
    const kept = selectEnviron(environ, {names: new Set(['HISTFILE', 'PATH', 'HIST\\xffFILE'])});
    expect(kept.entries).toEqual([
      {key: 'HISTFILE', value: '/tmp/\\x1b]0;x\\x07\\xff\nnext'},
      {key: 'PATH', value: '/a\\\\x7f:/b'},
      {key: 'HIST\\xffFILE', value: 'z'},
    ]);
    expect(escapeBytes(kept.ldPreload as Buffer)).toBe('/tmp/\\x1b[2J.so');
  });

  it('hostile shapes: an entry of 1 MiB, NUL runs, entries without `=`, an empty environ', () => {
    const big = `HUGE=${'x'.repeat(1024 * 1024)}`;
    const environ = bytes(`${'\0'.repeat(100_000)}${big}\0${'noequals'.repeat(10_000)}\0\0\0HISTFILE=/dev/null\0${'\0'.repeat(1000)}`);
    expect(selectEnviron(environ, selection).entries).toEqual([{key: 'HISTFILE', value: '/dev/null'}]);
    expect(selectEnviron(bytes(`${big}\0PATH=/bin`), {names: new Set(['HUGE', 'PATH'])}).entries.map((e) => [e.key, e.value.length])).toEqual([
      ['HUGE', 1024 * 1024],
      ['PATH', 4],
    ]);
    expect(selectEnviron(Buffer.alloc(0), selection)).toEqual({entries: [], ldPreload: null, ldAudit: null});
    expect(selectEnviron(bytes('\0\0\0'), selection)).toEqual({entries: [], ldPreload: null, ldAudit: null});
  });

  it('cut by a read limit: the entry the cut split is not kept (its value would be a piece); whole, the last entry without a NUL is', () => {
    const environ = bytes('PATH=/bin\0LD_PRELOAD=/tmp/evil.so\0HISTFILE=/dev/nu');
    expect(fedInChunks(environ, selection.names, [7, 20], false)).toEqual({
      entries: [
        {key: 'PATH', value: '/bin'},
        {key: 'LD_PRELOAD', value: '/tmp/evil.so'},
      ],
      ldPreload: bytes('/tmp/evil.so'),
      ldAudit: null,
    });
    expect(fedInChunks(environ, selection.names, [7, 20], true).entries).toContainEqual({key: 'HISTFILE', value: '/dev/nu'});
    // Cut inside LD_PRELOAD's name or value: not seen at all.
    expect(fedInChunks(bytes('PATH=/bin\0LD_PRE'), selection.names, [3], false).ldPreload).toBeNull();
    expect(fedInChunks(bytes('PATH=/bin\0LD_PRELOAD=/tm'), selection.names, [12], false).ldPreload).toBeNull();
  });

  it('the same as the whole text, for every way of cutting it into chunks (names and values split anywhere)', () => {
    const names = ['HISTFILE', 'LD_PRELOAD', 'PATH', 'A', 'HIST\\xffFILE', 'MY VAR', 'A\\\\B', 'Ä'];
    const piece = fc.constantFrom(
      'HISTFILE=/dev/null',
      'HISTFILE=/root/.h',
      'LD_PRELOAD=/tmp/e.so',
      'LD_PRELOAD=',
      'LD_AUDIT=/a.so',
      'LD_AUDIT=/b.so',
      'PATH=/usr/bin:/bin',
      'PATH',
      'A=1',
      'A=',
      'AB=2',
      '=x',
      '',
      'HIST\xffFILE=v',
      'MY VAR=1',
      'A\\B=z',
      '\xc3\x84=umlaut',
      'X'.repeat(300),
      `LONGNAME${'N'.repeat(100)}=v`,
    );
    fc.assert(
      fc.property(
        fc.array(fc.oneof(piece, fc.string({maxLength: 40})), {maxLength: 30}),
        fc.boolean(),
        fc.array(fc.nat(), {maxLength: 12}),
        fc.subarray(names),
        fc.boolean(),
        (entries, trailingNul, cuts, chosen, whole) => {
          const environ = bytes(entries.join('\0') + (trailingNul ? '\0' : ''));
          const offsets = cuts.map((c) => (environ.length === 0 ? 0 : c % (environ.length + 1)));
          const set = new Set(chosen);
          expect(fedInChunks(environ, set, offsets, whole)).toEqual(reference(environ, set, whole));
        },
      ),
      {numRuns: 2000},
    );
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
