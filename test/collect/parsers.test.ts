import {describe, expect, it} from 'vitest';

import {
  cgroupPrefixes,
  containerFromCgroup,
  decodeTtyNr,
  isKernelThread,
  parseBootTimeSeconds,
  parseCgroup,
  parseCmdline,
  parseExeLink,
  parseNamespaceLink,
  parseOsRelease,
  parsePasswd,
  parseStat,
  parseStatus,
  parseUptimeSeconds,
} from '../../src/collect/parsers.js';
import {splitCmdlineBytes} from '../../src/collect/parsers.js';

// Fixture lines in the kernel's exact format (fs/proc/array.c), fields after comm as in proc(5).
const SLEEP_STAT =
  '4242 (sleep) S 4200 4242 4200 34816 4242 4194304 93 0 0 0 7 3 0 0 20 0 1 0 123456 8630272 224 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 140732369186693 140732369186800 0\n';
const KTHREADD_STAT =
  '2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 1 0 0 20 0 1 0 22 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n';

describe('parseStat', () => {
  it('stat_plain: reads the fields by position', () => {
    const stat = parseStat(SLEEP_STAT);
    expect(stat).toEqual({
      pid: 4242,
      comm: 'sleep',
      state: 'S',
      ppid: 4200,
      processGroup: 4242,
      sessionId: 4200,
      ttyNr: 34816,
      flags: 4194304,
      utimeTicks: 7,
      stimeTicks: 3,
      nice: 0,
      threads: 1,
      startTicks: 123456,
      rssPages: 224,
      // env_end - env_start (fields 51 and 50): the bytes /proc/PID/environ reads.
      environBytes: 107,
    });
    expect(isKernelThread(stat!)).toBe(false);
  });

  it('stat_environ_bytes: env_end - env_start, null on a kernel that does not give them (before 3.5: 44 fields)', () => {
    expect(parseStat(KTHREADD_STAT)?.environBytes).toBe(0);
    expect(parseStat(SLEEP_STAT.split(' ').slice(0, 44).join(' '))?.environBytes).toBeNull();
  });

  it('stat_with_paren_in_comm: splits after the last parenthesis', () => {
    const stat = parseStat(SLEEP_STAT.replace('(sleep)', '(a) S 1 (b c))'));
    expect(stat?.comm).toBe('a) S 1 (b c)');
    expect(stat?.state).toBe('S');
    expect(stat?.ppid).toBe(4200);
    expect(stat?.startTicks).toBe(123456);
  });

  it('stat_with_spaces_in_comm: keeps the spaces', () => {
    const stat = parseStat(SLEEP_STAT.replace('(sleep)', '(my  evil proc)'));
    expect(stat?.comm).toBe('my  evil proc');
    expect(stat?.ppid).toBe(4200);
  });

  it('stat_empty_comm and stat_comm_with_newline', () => {
    expect(parseStat(SLEEP_STAT.replace('(sleep)', '()'))?.comm).toBe('');
    expect(parseStat(SLEEP_STAT.replace('(sleep)', '(a\nb)'))?.comm).toBe('a\nb');
  });

  it('a comm that mimics the fields after it (15 bytes of `) R 1 1 1 0 -1`) shifts nothing', () => {
    const stat = parseStat(SLEEP_STAT.replace('(sleep)', '() R 1 1 1 0 -1)'));
    expect(stat?.comm).toBe(') R 1 1 1 0 -1');
    expect([stat?.state, stat?.ppid]).toEqual(['S', 4200]);
  });

  it('stat_kernel_thread: PF_KTHREAD in flags', () => {
    const stat = parseStat(KTHREADD_STAT);
    expect(stat?.ppid).toBe(0);
    expect(isKernelThread(stat!)).toBe(true);
  });

  it('stat_zombie: state Z parses', () => {
    expect(parseStat(SLEEP_STAT.replace(') S ', ') Z '))?.state).toBe('Z');
  });

  it('stat_truncated or garbage: null, never a half-filled record', () => {
    expect(parseStat('')).toBeNull();
    expect(parseStat('4242 (sleep) S 1 2')).toBeNull();
    expect(parseStat('not a stat line')).toBeNull();
  });
});

describe('parseStatus', () => {
  it('status_setuid: real, effective ids, tracer and RSS', () => {
    const text =
      'Name:\tpasswd\nUmask:\t0022\nState:\tS (sleeping)\nTracerPid:\t977\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\nVmRSS:\t    3400 kB\nThreads:\t1\n';
    expect(parseStatus(text)).toEqual({uids: [1000, 0, 0, 0], gids: [1000, 1000, 1000, 1000], tracerPid: 977, rssBytes: 3400 * 1024});
  });

  it('status_hostile_name: the kernel escapes a newline in Name (`\\n`), so a comm of `\\nUid:\\t0…` forges no Uid line', () => {
    // What /proc/PID/status shows for prctl(PR_SET_NAME, "\nUid:\t0\t0\t0\t0") (measured on Linux 6.18).
    const text = 'Name:\t\\nUid:\t0\t0\t0\t0\nUmask:\t0022\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n';
    expect(parseStatus(text).uids).toEqual([1000, 1000, 1000, 1000]);
  });

  it('status_kernel_thread: no VmRSS', () => {
    expect(parseStatus('Name:\tkthreadd\nTracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n').rssBytes).toBeNull();
  });
});

describe('parseCmdline', () => {
  it('cmdline_exact: NUL-split, empty argument and newline kept', () => {
    expect(parseCmdline('sh\0-c\0echo "a b"\0\0line1\nline2\0ünï€\0')).toEqual(['sh', '-c', 'echo "a b"', '', 'line1\nline2', 'ünï€']);
  });

  it('cmdline_empty_kernel_thread: no argv', () => {
    expect(parseCmdline('')).toEqual([]);
  });

  it('cmdline_setproctitle: no trailing NUL, spaces not re-split', () => {
    expect(parseCmdline('sshd: alice@pts/0')).toEqual(['sshd: alice@pts/0']);
  });

  it('cmdline_single_empty_argument', () => {
    expect(parseCmdline('\0')).toEqual(['']);
  });
});

describe('parseExeLink', () => {
  it('exe_plain', () => {
    expect(parseExeLink('/usr/bin/sleep')).toEqual({path: '/usr/bin/sleep', markedDeleted: false, memfd: false});
  });
  it('exe_deleted: marker stripped', () => {
    expect(parseExeLink('/tmp/x/sleep (deleted)')).toEqual({path: '/tmp/x/sleep', markedDeleted: true, memfd: false});
  });
  it('exe_named_deleted_and_deleted: only the last marker is stripped', () => {
    expect(parseExeLink('/tmp/x (deleted) (deleted)').path).toBe('/tmp/x (deleted)');
  });
  it('exe_memfd', () => {
    expect(parseExeLink('/memfd:payload (deleted)')).toEqual({path: '/memfd:payload', markedDeleted: true, memfd: true});
  });
});

describe('cgroup', () => {
  const id = '3f4e8a5c7b9d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f';
  const docker = `0::/system.slice/docker-${id}.scope\n`;
  const kubepods = '12:memory:/kubepods/burstable/pod1234/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n0::/\n';
  const crio = '0::/kubepods.slice/kubepods-pod1.slice/crio-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.scope\n';
  const host = '0::/user.slice/user-1000.slice/session-2.scope\n';

  it('cgroup_v2_docker: path and container id', () => {
    expect(parseCgroup(docker)).toEqual({cgroup: `/system.slice/docker-${id}.scope`, containerId: id, containerRuntime: 'docker'});
  });
  it('cgroup_v1_kubepods: specific v1 path wins over a bare unified /', () => {
    expect(parseCgroup(kubepods)).toEqual({
      cgroup: '/kubepods/burstable/pod1234/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
      containerId: '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
      containerRuntime: 'kubernetes',
    });
  });
  it('cgroup_crio', () => {
    expect(parseCgroup(crio).containerId).toBe('a'.repeat(64));
  });
  it('cgroup_runtime: the runtime of each cgroup layout, the name for LXC and systemd-nspawn', () => {
    const other = 'b'.repeat(64);
    const cases: [string, string | null][] = [
      [docker, 'docker'],
      [`0::/docker/${other}\n`, 'docker'],
      [crio, 'cri-o'],
      [`0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod9.slice/cri-containerd-${other}.scope\n`, 'containerd'],
      [`0::/system.slice/nerdctl-${other}.scope\n`, 'containerd'],
      [`0::/machine.slice/libpod-${other}.scope/container\n`, 'podman'],
      [kubepods, 'kubernetes'],
      [host, null],
    ];
    expect(cases.map(([text]) => containerFromCgroup(text)?.runtime ?? null)).toEqual(cases.map(([, runtime]) => runtime));
    expect(containerFromCgroup('0::/lxc.payload.web01/init.scope\n')).toEqual({runtime: 'lxc', id: 'web01'});
    expect(containerFromCgroup('0::/machine.slice/systemd-nspawn@build\\x2dbox.service/payload\n')).toEqual({runtime: 'systemd-nspawn', id: 'build-box'});
    expect(containerFromCgroup('0::/machine.slice/machine-qemu\\x2d1\\x2dvm.scope/libvirt\n')).toBeNull();
  });
  it('cgroup_host: no container', () => {
    expect(parseCgroup(host)).toEqual({cgroup: '/user.slice/user-1000.slice/session-2.scope', containerId: null, containerRuntime: null});
    expect(parseCgroup('0::/\n')).toEqual({cgroup: '/', containerId: null, containerRuntime: null});
    expect(parseCgroup('4:memory:/process_api/cca80ef6158c5a01836b066c74b3fc2d\n').containerId).toBeNull();
  });

  it('a cgroup name with a newline forges no line on a v2 host: the path runs to the final newline', () => {
    // mkdir $'x\n0::' and then docker-<id>.scope under it, in a subtree the user was delegated.
    const forged = `0::/user.slice/user-1000.slice/user@1000.service/x\n0::/docker-${id}.scope\n`;
    expect(parseCgroup(forged, ['0::'])).toEqual({
      cgroup: `/user.slice/user-1000.slice/user@1000.service/x\n0::/docker-${id}.scope`,
      containerId: id,
      containerRuntime: 'docker',
    });
    // Without the host's prefixes the repeated id says the file cannot be split: the path is unknown.
    expect(parseCgroup(forged).cgroup).toBeNull();
  });

  it('control characters and bytes that are not UTF-8 in a cgroup name take the one text form', () => {
    expect(parseCgroup('0::/a\x1b[2J\xff\n', ['0::']).cgroup).toBe('/a\\x1b[2J\\xff');
  });

  it('on a hybrid host a forged line that fits two readings leaves the path unknown', () => {
    const prefixes = cgroupPrefixes('1:name=systemd:/init.scope\n0::/init.scope\n');
    expect(prefixes).toEqual(['1:name=systemd:', '0::']);
    const plain = '1:name=systemd:/user.slice/session-3.scope\n0::/user.slice/session-3.scope\n';
    expect(parseCgroup(plain, prefixes).cgroup).toBe('/user.slice/session-3.scope');
    const forged = '1:name=systemd:/u/x\n0::/u/x\n0::/evil\n';
    expect(parseCgroup(forged, prefixes)).toEqual({cgroup: null, containerId: null, containerRuntime: null});
    // A file that does not fit the host's prefixes is not guessed at either.
    expect(parseCgroup('7:cpu:/a\n', prefixes).cgroup).toBeNull();
    expect(cgroupPrefixes('0::/a\n0::/b\n')).toBeNull();
  });
});

describe('small parsers', () => {
  it('namespace links', () => {
    expect(parseNamespaceLink('pid:[4026531836]')).toBe(4026531836);
    expect(parseNamespaceLink('garbage')).toBeNull();
  });

  it('tty_nr decoding', () => {
    expect(decodeTtyNr(0)).toBeNull();
    expect(decodeTtyNr(34816)).toBe('pts/0'); // 136:0
    expect(decodeTtyNr((136 << 8) | 5)).toBe('pts/5');
    expect(decodeTtyNr((137 << 8) | 2)).toBe('pts/258');
    expect(decodeTtyNr((136 << 8) | (1 << 20))).toBe('pts/256'); // minor's high bits
    expect(decodeTtyNr((4 << 8) | 1)).toBe('tty1');
    expect(decodeTtyNr((4 << 8) | 64)).toBe('ttyS0');
    expect(decodeTtyNr((5 << 8) | 1)).toBe('console');
  });

  it('passwd: first entry per uid', () => {
    const users = parsePasswd('root:x:0:0:root:/root:/bin/bash\n# comment\nnobody:x:65534:65534::/:/usr/sbin/nologin\ntoor:x:0:0::/:/bin/sh\nbad line\n');
    expect(users.get(0)).toBe('root');
    expect(users.get(65534)).toBe('nobody');
    expect(users.size).toBe(2);
  });

  it('boot time, uptime, os-release', () => {
    expect(parseBootTimeSeconds('cpu  1 2 3\nbtime 1795609596\nprocesses 10\n')).toBe(1795609596);
    expect(parseBootTimeSeconds('cpu 1\n')).toBeNull();
    expect(parseUptimeSeconds('1267.33 2400.10\n')).toBe(1267.33);
    expect(parseOsRelease('NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')).toBe('Debian GNU/Linux 12 (bookworm)');
    expect(parseOsRelease('NAME=Alpine\nVERSION_ID=3.20\n')).toBe('Alpine 3.20');
  });
});

describe('splitCmdlineBytes', () => {
  it('splitCmdlineBytes keeps empty arguments and bytes exactly', () => {
    expect(splitCmdlineBytes(Buffer.from('a\0\0\xff\0', 'latin1')).map((b) => [...b])).toEqual([[0x61], [], [0xff]]);
    expect(splitCmdlineBytes(Buffer.alloc(0))).toEqual([]);
  });
});
