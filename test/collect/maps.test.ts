import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {collectLiveTables} from '../../src/collect/live-tables.js';
import {appendMapValues, deviceNumber, MEMORY_MAP_COLUMNS, parseMaps} from '../../src/collect/maps.js';
import {escapeLatin1} from '../../src/collect/text-encoding.js';
import type {ProcessRecord} from '../../src/models/process.js';
import {type FlatTableRows, tableDefinition} from '../../src/models/tables.js';

const MAPS = `55d1c2a4e000-55d1c2a50000 r--p 00000000 08:01 1835013                    /usr/bin/cat
7f3a1c000000-7f3a1c021000 rw-p 00000000 00:00 0
7f3a1d200000-7f3a1d228000 r-xp 00028000 08:01 1840100                    /tmp/.x/libevil.so (deleted)
7f3a1d400000-7f3a1d401000 r-xp 00000000 00:01 2049                       /memfd:payload (deleted)
7f3a1d600000-7f3a1d602000 r--p 00000000 08:01 1840200                    /opt/my lib/libspace.so
7ffd5b2d2000-7ffd5b2f3000 rw-p 00000000 00:00 0                          [stack]
7ffd5b3f0000-7ffd5b3f2000 r-xp 00000000 00:00 0                          [vdso]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
`;

describe('parseMaps', () => {
  const rows = parseMaps(77, MAPS);

  it('reads every line: range as hex text, permissions, offset, device, inode', () => {
    expect(rows).toHaveLength(8);
    expect(rows[0]).toEqual({
      pid: 77,
      start: '0x55d1c2a4e000',
      end: '0x55d1c2a50000',
      permissions: 'r--p',
      offset: 0,
      device: '08:01',
      inode: 1835013,
      path: '/usr/bin/cat',
      pseudo: false,
      deleted: false,
    });
    expect(rows[2]?.offset).toBe(0x28000);
    // 64-bit addresses beyond 2^53 stay exact as text.
    expect(rows[7]).toMatchObject({start: '0xffffffffff600000', path: '[vsyscall]', pseudo: true});
  });

  it('anonymous memory has a null path; pseudo paths are flagged; deleted files lose the marker', () => {
    expect(rows[1]).toMatchObject({path: null, pseudo: false, deleted: false, inode: 0});
    expect(rows[2]).toMatchObject({path: '/tmp/.x/libevil.so', deleted: true});
    expect(rows[3]).toMatchObject({path: '/memfd:payload', deleted: true});
    expect(rows[4]).toMatchObject({path: '/opt/my lib/libspace.so', deleted: false});
    expect(rows.filter((r) => r.pseudo).map((r) => r.path)).toEqual(['[stack]', '[vdso]', '[vsyscall]']);
  });

  it('skips malformed lines', () => {
    expect(parseMaps(1, 'not a map line\n\n')).toEqual([]);
  });
});

describe('appendMapValues', () => {
  it('gives values in the registry column order of process_memory_map after scan_id (which storage stamps)', () => {
    expect(tableDefinition('process_memory_map')?.columns.map((c) => c.name)).toEqual(['scan_id', ...MEMORY_MAP_COLUMNS]);
  });

  // The format as proc(5) gives it, as an independent oracle for the indexOf cutting. The path is
  // `[^\n]*`, not `.*`: the kernel escapes only newlines in it, and `.` would not match a carriage return.
  const ORACLE = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) ([0-9a-f]+:[0-9a-f]+) (\d+)(?: +([^\n]*))?$/;
  function oracle(text: string): unknown[][] {
    return text
      .split('\n')
      .map((line) => ORACLE.exec(line))
      .filter((m) => m !== null)
      .map((m) => {
        let path = m[7] === undefined || m[7] === '' ? null : m[7];
        const pseudo = path !== null && path.startsWith('[') && path.endsWith(']');
        // The kernel writes a newline in a path as \012 (and nothing else escaped).
        if (path !== null && !pseudo) path = path.replaceAll('\\012', '\n');
        const deleted = path !== null && !pseudo && path.endsWith(' (deleted)');
        if (deleted && path !== null) path = path.slice(0, -' (deleted)'.length);
        return [
          4,
          `0x${m[1]}`,
          `0x${m[2]}`,
          m[3],
          Number.parseInt(m[4] as string, 16),
          m[5],
          Number(m[6]),
          path === null ? null : escapeLatin1(path),
          pseudo ? 1 : 0,
          deleted ? 1 : 0,
        ];
      });
  }
  function rowsOf(text: string): unknown[][] {
    const values: unknown[] = [];
    const count = appendMapValues(4, text, values as never[]);
    return Array.from({length: count}, (_, i) => values.slice(i * MEMORY_MAP_COLUMNS.length, (i + 1) * MEMORY_MAP_COLUMNS.length));
  }

  it('agrees with the proc(5) line format on every readable maps file of this host', () => {
    let lines = 0;
    for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
      let text: string;
      try {
        text = readFileSync(`/proc/${name}/maps`, 'latin1');
      } catch {
        continue;
      }
      expect(rowsOf(text)).toEqual(oracle(text));
      lines += text.split('\n').length;
    }
    expect(lines).toBeGreaterThan(10);
  });

  it('agrees with it on damaged and hostile lines: truncated, mangled, odd spacing, paths with spaces and markers', () => {
    const lines = MAPS.split('\n').filter((l) => l !== '');
    const damaged: string[] = [];
    for (const line of lines) {
      for (let cut = 0; cut <= line.length; cut += 3) damaged.push(line.slice(0, cut));
      damaged.push(line.replace(' ', '  '), line.replace('-', ' '), line.replace(/ \d+ /, ' x1 '), line.replace(':', ''), line.toUpperCase(), `${line}\r`);
    }
    damaged.push(
      '7f00-7f01 r-xp 0 00:00 0     /tmp/a (deleted) (deleted)',
      '7f00-7f01 r-xp 0 00:00 0 [not pseudo',
      '7f00-7f01 r-xp 0 00:00 0 ',
      '-',
      ' ',
      '\n\n',
    );
    const text = damaged.join('\n');
    expect(rowsOf(text)).toEqual(oracle(text));
  });

  it('keeps a library whose name holds a carriage return or a Unicode line separator (a line-based reader would drop it)', () => {
    const text = Buffer.from('7f00-7f01 r-xp 00000000 08:01 77 /tmp/x\r\u2028y.so (deleted)\n', 'utf8').toString('latin1');
    expect(rowsOf(text)).toEqual([[4, '0x7f00', '0x7f01', 'r-xp', 0, '08:01', 77, '/tmp/x\\x0d\u2028y.so', 0, 1]]);
  });

  it("decodes the kernel's \\012 to a newline and writes every path in the one text form", () => {
    const line = (path: string): string => `7f00-7f01 r-xp 00000000 08:01 77 ${path}\n`;
    const path = (raw: string): unknown => rowsOf(Buffer.from(line(raw), 'latin1').toString('latin1'))[0]?.[7];
    expect(path('/tmp/a\\012b')).toBe('/tmp/a\nb');
    expect(path('/tmp/\x1b[31m\xff.so')).toBe('/tmp/\\x1b[31m\\xff.so');
    expect(path('/tmp/C:\\x41.so')).toBe('/tmp/C:\\x41.so');
    const long = `/tmp/${'d'.repeat(200)}/${'f'.repeat(250)}.so`;
    expect(path(long)).toBe(long);
  });

  it("asks the process's map_files link when a path holds a backslash: literal \\012 text and a newline are told apart", () => {
    const text = '00400000-00401000 r-xp 00000000 08:01 77 /tmp/lit\\012x\n7f00-7f01 r-xp 00000000 08:01 78 /tmp/nl\\012x\n';
    const asked: string[] = [];
    const exact: Record<string, string> = {'00400000-00401000': '/tmp/lit\\012x', '7f00-7f01': '/tmp/nl\nx'};
    const values: unknown[] = [];
    appendMapValues(2, text, values as never[], {
      exactPath: (start, end) => {
        asked.push(`${start}-${end}`);
        const found = exact[`${start}-${end}`];
        return found === undefined ? null : Buffer.from(found, 'latin1');
      },
      sameFile: () => false,
    });
    expect(asked).toEqual(['00400000-00401000', '7f00-7f01']);
    const width = MEMORY_MAP_COLUMNS.length;
    expect([values[7], values[width + 7]]).toEqual(['/tmp/lit\\012x', '/tmp/nl\nx']);
  });
});

/** The live tables of processes `pids` under a fake /proc, as a scan collects them. */
function collect(root: string, pids: readonly number[], tables: readonly string[]): ReturnType<typeof collectLiveTables> {
  return collectLiveTables({
    procRoot: root,
    processes: pids.map((pid) => ({pid, platform_data: {kernel_thread: false}}) as unknown as ProcessRecord),
    tables: new Set(tables),
    env: {names: new Set()},
  });
}

describe('process_libraries and process_memory_map from one read of /proc/PID/maps', () => {
  const root = mkdtempSync(join(tmpdir(), 'daemoneye-maps-'));
  afterAll(() => rmSync(root, {recursive: true, force: true}));
  mkdirSync(join(root, '41'));
  writeFileSync(
    join(root, '41', 'maps'),
    [
      '55d1c2a4e000-55d1c2a50000 r--p 00000000 08:01 100 /usr/bin/python3.11',
      '55d1c2a50000-55d1c2a90000 r-xp 00002000 08:01 100 /usr/bin/python3.11',
      '55d1c2a90000-55d1c2aa0000 r-xp 00042000 08:01 100 /usr/bin/python3.11',
      '7f3a1c000000-7f3a1c021000 rwxp 00000000 00:00 0',
      '7f3a1d200000-7f3a1d228000 r-xp 00000000 08:01 555 /tmp/libx.so (deleted)',
      '7f3a1d300000-7f3a1d328000 r-xp 00000000 08:01 556 /tmp/libx.so',
      '7f3a1d400000-7f3a1d401000 r-xp 00000000 00:01 2049 /memfd:payload (deleted)',
      '7f3a1d500000-7f3a1d600000 r--p 00000000 08:01 777 /usr/lib/locale/locale-archive',
      '7f3a1d600000-7f3a1d602000 rw-s 00000000 00:1a 9 /dev/shm/ring',
      '7ffd5b3f0000-7ffd5b3f2000 r-xp 00000000 00:00 0 [vdso]',
      '',
    ].join('\n'),
  );

  it('one row per file with an executable mapping: anonymous, pseudo and data-only mappings are left out', () => {
    const read = collect(root, [41, 42], ['process_libraries']);
    expect(read.rows.process_memory_map).toBeUndefined();
    expect(read.rows.process_libraries).toEqual([
      {pid: 41, path: '/usr/bin/python3.11', device: '08:01', inode: 100, start: '0x55d1c2a50000', end: '0x55d1c2aa0000', deleted: false},
      {pid: 41, path: '/tmp/libx.so', device: '08:01', inode: 555, start: '0x7f3a1d200000', end: '0x7f3a1d228000', deleted: true},
      {pid: 41, path: '/tmp/libx.so', device: '08:01', inode: 556, start: '0x7f3a1d300000', end: '0x7f3a1d328000', deleted: false},
      {pid: 41, path: '/memfd:payload', device: '00:01', inode: 2049, start: '0x7f3a1d400000', end: '0x7f3a1d401000', deleted: true},
    ]);
  });

  it('both tables from one read; a process that is gone is skipped', () => {
    const read = collect(root, [41, 42], ['process_memory_map', 'process_libraries']);
    const maps = read.rows.process_memory_map as FlatTableRows;
    expect(maps.rows).toBe(10);
    expect(maps.values).toHaveLength(10 * MEMORY_MAP_COLUMNS.length);
    expect(read.rows.process_libraries).toHaveLength(4);
    expect(read.unreadable).toEqual({process_memory_map: 0, process_libraries: 0});
  });
});

describe('deviceNumber', () => {
  it("gives stat's st_dev for the device /proc/PID/maps prints", () => {
    const line = readFileSync('/proc/self/maps', 'utf8')
      .split('\n')
      .find((l) => / \d+ +\/\S+$/.test(l) && !l.endsWith(' (deleted)')) as string;
    const fields = line.split(/\s+/);
    expect(deviceNumber(fields[3] as string)).toBe(statSync(fields.slice(5).join(' ')).dev);
  });

  it('encodes majors past 0xfff and minors past 0xff as glibc makedev() does', () => {
    expect(deviceNumber('fe:00')).toBe(0xfe00);
    expect(deviceNumber('103:12345')).toBe((0x12345 % 0x100) + 0x103 * 0x100 + Math.floor(0x12345 / 0x100) * 0x10_0000);
    expect(deviceNumber('1234:00')).toBe((0x1234 % 0x1000) * 0x100 + 2 ** 44);
  });
});

describe('process_libraries: a file really named "… (deleted)"', () => {
  const root = mkdtempSync(join(tmpdir(), 'daemoneye-literal-'));
  afterAll(() => rmSync(root, {recursive: true, force: true}));
  // /proc/7/root/srv holds "lib (deleted)": the very file a mapping names, and nothing named "gone.so (deleted)".
  mkdirSync(join(root, '7', 'root', 'srv'), {recursive: true});
  const literal = join(root, '7', 'root', 'srv', 'lib (deleted)');
  writeFileSync(literal, 'x');
  const {dev, ino} = statSync(literal);
  const device = `${(Math.floor(dev / 0x100) % 0x1000).toString(16)}:${((dev % 0x100) + Math.floor(dev / 0x10_0000) * 0x100).toString(16)}`;
  writeFileSync(
    join(root, '7', 'maps'),
    [
      `7f0000000000-7f0000001000 r-xp 00000000 ${device} ${ino} /srv/lib (deleted)`,
      `7f0000001000-7f0000002000 r-xp 00000000 ${device} ${ino + 1} /srv/lib (deleted)`,
      `7f0000002000-7f0000003000 r-xp 00000000 ${device} ${ino} /srv/gone.so (deleted)`,
      '',
    ].join('\n'),
  );

  it('keeps the full name when that very file (device and inode) sits at the marked path, else it is deleted', () => {
    const libraries = collect(root, [7], ['process_libraries']).rows.process_libraries as {path: string; inode: number; deleted: boolean}[];
    expect(libraries.map((l) => [l.path, l.inode, l.deleted])).toEqual([
      ['/srv/lib (deleted)', ino, false],
      ['/srv/lib', ino + 1, true],
      ['/srv/gone.so', ino, true],
    ]);
  });
});
