import {describe, expect, it} from 'vitest';

import {describeMount, mountsOverProcEntries, parseMountinfo} from '../../src/collect/mountinfo.js';

// Lines in the kernel's format (fs/proc_namespace.c show_mountinfo), optional fields included.
const MOUNTINFO = [
  '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
  '23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw',
  '24 23 0:22 / /proc/sys/fs/binfmt_misc rw,relatime shared:13 - autofs systemd-1 rw',
  '42 23 254:0 /tmp/tmp.abc /proc/4242 rw,relatime shared:1 - ext4 /dev/vda rw,discard',
  '43 23 0:30 /fake\\040cmdline /proc/900/cmdline rw - tmpfs tmpfs rw',
  '44 22 0:31 / /mnt/proc/77 rw - tmpfs tmpfs rw',
  'garbage line',
  '',
].join('\n');

describe('parseMountinfo', () => {
  it('mountinfo_fields: splits at the "-" separator whatever the optional fields', () => {
    const entries = parseMountinfo(MOUNTINFO);
    expect(entries).toHaveLength(6);
    expect(entries[3]).toEqual({
      mountId: 42,
      parentId: 23,
      device: '254:0',
      root: '/tmp/tmp.abc',
      mountPoint: '/proc/4242',
      options: 'rw,relatime',
      fsType: 'ext4',
      source: '/dev/vda',
    });
  });

  it('mountinfo_octal_escapes: \\040 in a path is a space', () => {
    expect(parseMountinfo(MOUNTINFO)[4]?.root).toBe('/fake cmdline');
  });

  it("hostile names (a FUSE mount is a user's choice): octal escapes are bytes again, and described in the one text form", () => {
    const [entry] = parseMountinfo(Buffer.from('45 23 0:40 /a\\134012 /proc/5\\012x rw - fuse.a\\134x1b src\\377\x1b rw\n', 'latin1').toString('latin1'));
    expect(entry).toMatchObject({root: '/a\\012', mountPoint: '/proc/5\nx', fsType: 'fuse.a\\x1b', source: 'src\xff\x1b'});
    // `/proc/5<LF>x` is not the entry of pid 5.
    expect(mountsOverProcEntries([entry!]).size).toBe(0);
    expect(describeMount(entry!)).toBe('/proc/5\nx covered by /a\\012 of src\\xff\\x1b (fuse.a\\\\x1b, mount 45)');
  });

  it('mountinfo_no_optional_fields and malformed lines', () => {
    expect(parseMountinfo('1 0 0:1 / / rw - rootfs rootfs rw\nnot a mount\n1 2 3')).toHaveLength(1);
  });
});

describe('mountsOverProcEntries', () => {
  it('keeps mounts on /proc/PID and under it, by pid; not procfs itself, /proc/sys, or other trees', () => {
    const byPid = mountsOverProcEntries(parseMountinfo(MOUNTINFO));
    expect([...byPid.keys()].sort((a, b) => a - b)).toEqual([900, 4242]);
    expect(byPid.get(900)?.[0]?.mountPoint).toBe('/proc/900/cmdline');
    expect(describeMount(byPid.get(4242)![0]!)).toBe('/proc/4242 covered by /tmp/tmp.abc of /dev/vda (ext4, mount 42)');
  });

  it('a procfs mounted elsewhere (a test root) is matched under its own path', () => {
    const entries = parseMountinfo('50 1 0:40 /x /srv/proc/12 rw - tmpfs tmpfs rw\n');
    expect([...mountsOverProcEntries(entries, '/srv/proc').keys()]).toEqual([12]);
    expect(mountsOverProcEntries(entries).size).toBe(0);
  });
});
