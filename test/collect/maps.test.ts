import {describe, expect, it} from 'vitest';

import {parseMaps} from '../../src/collect/maps.js';

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
  const rows = parseMaps(3, 77, MAPS);

  it('reads every line: range as hex text, permissions, offset, device, inode', () => {
    expect(rows).toHaveLength(8);
    expect(rows[0]).toEqual({
      scan_id: 3,
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
    expect(parseMaps(1, 1, 'not a map line\n\n')).toEqual([]);
  });
});
