import {describe, expect, it} from 'vitest';

import {
  formatIpv6,
  listeningRows,
  parseInetAddress,
  parseInetSockets,
  parseNetlinkSockets,
  parsePacketSockets,
  type SocketIndex,
  socketInode,
  socketRows,
} from '../../src/collect/sockets.js';

// Lines as a little-endian (x86-64) kernel prints them; the headers are the real ones.
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1135 1 000000008d2d42b9 100 0 0 10 0
   1: 0100007F:E886 0100007F:1F90 01 00000000:00000000 03:00000EC1 00000000  1000        0 77001 3 00000000217c4529
   2: 0100007F:E887 0100007F:1F90 06 00000000:00000000 03:00000EC1 00000000     0        0 0 3 00000000217c4529
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2001 1 0000000000000000 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 2002 1 0000000000000000 20 4 30 10 -1
   2: 000080FE00000000FF4B0F0238AFFEFE:0016 00000000000000000000000001000000:C000 01 00000000:00000000 00:00000000 00000000     0        0 2003 1 0000000000000000 20 4 30 10 -1
`;
const UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  100: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3001 2 0000000000000000 0
  101: 0100007F:A000 0100007F:0035 01 00000000:00000000 00:00000000 00000000     0        0 3002 2 0000000000000000 0
`;
const RAW = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
    1: 00000000:0001 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4001 2 0000000000000000 0
`;
const PACKET = `sk               RefCnt Type Proto  Iface R Rmem   User   Inode
0000000012345678 3      3    0003   2     1 0      0      6001
`;
const NETLINK = `sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode
000000007dd2ae36 0   0          00000000 0        0        0     2        0        7001
`;

describe('inet addresses', () => {
  it('decodes IPv4 in host byte order, on little- and big-endian hosts', () => {
    expect(parseInetAddress('0100007F:1F90', true)).toEqual({address: '127.0.0.1', port: 8080});
    expect(parseInetAddress('7F000001:1F90', false)).toEqual({address: '127.0.0.1', port: 8080});
    expect(parseInetAddress('0A00A8C0:0016', true)).toEqual({address: '192.168.0.10', port: 22});
  });

  it('decodes IPv6 word by word, RFC 5952 text, IPv4-mapped in dotted form', () => {
    expect(parseInetAddress('00000000000000000000000000000000:0000', true)).toEqual({address: '::', port: 0});
    expect(parseInetAddress('00000000000000000000000001000000:0000', true)).toEqual({address: '::1', port: 0});
    expect(parseInetAddress('0000000000000000FFFF00000100007F:1F90', true)).toEqual({address: '::ffff:127.0.0.1', port: 8080});
    expect(parseInetAddress('000080FE00000000FF4B0F0238AFFEFE:0016', true)).toEqual({address: 'fe80::20f:4bff:fefe:af38', port: 22});
    expect(parseInetAddress('nonsense', true)).toBeNull();
  });

  it('compresses the longest zero run, the first on a tie, never a single group', () => {
    expect(formatIpv6([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1])).toBe('2001:db8::1:0:0:1');
    expect(formatIpv6([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1])).toBe('2001:db8:0:1:1:1:1:1');
  });
});

describe('/proc/net socket tables', () => {
  it('reads tcp: states, addresses, ports, inodes', () => {
    const rows = parseInetSockets(TCP, 'tcp', true);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatchObject({inode: 1135, family: 'AF_INET', protocol: 6, local_address: '0.0.0.0', local_port: 2024, state: 'LISTEN'});
    expect(rows[1]).toMatchObject({
      inode: 77001,
      local_address: '127.0.0.1',
      local_port: 59526,
      remote_address: '127.0.0.1',
      remote_port: 8080,
      state: 'ESTABLISHED',
    });
    expect(rows[2]?.state).toBe('TIME_WAIT');
  });

  it('reads tcp6 as AF_INET6, mapped IPv4 included', () => {
    const rows = parseInetSockets(TCP6, 'tcp', true);
    expect(rows.map((r) => [r.family, r.local_address, r.local_port, r.state])).toEqual([
      ['AF_INET6', '::', 8080, 'LISTEN'],
      ['AF_INET6', '::ffff:127.0.0.1', 8080, 'ESTABLISHED'],
      ['AF_INET6', 'fe80::20f:4bff:fefe:af38', 22, 'ESTABLISHED'],
    ]);
    expect(rows[2]).toMatchObject({remote_address: '::1', remote_port: 49152});
  });

  it('reads udp (UNCONN or ESTABLISHED) and raw (the protocol in the port field)', () => {
    expect(parseInetSockets(UDP, 'udp', true).map((r) => [r.protocol, r.socket_type, r.local_port, r.state])).toEqual([
      [17, 'DGRAM', 68, 'UNCONN'],
      [17, 'DGRAM', 40960, 'ESTABLISHED'],
    ]);
    expect(parseInetSockets(RAW, 'raw', true)).toEqual([
      expect.objectContaining({inode: 4001, protocol: 1, socket_type: 'RAW', local_port: 0, state: 'UNCONN'}),
    ]);
  });

  it('reads packet (EtherType, interface index) and netlink sockets', () => {
    expect(parsePacketSockets(PACKET)).toEqual([
      expect.objectContaining({inode: 6001, family: 'AF_PACKET', protocol: 3, socket_type: 'RAW', local_address: '2'}),
    ]);
    expect(parseNetlinkSockets(NETLINK)).toEqual([expect.objectContaining({inode: 7001, family: 'AF_NETLINK', protocol: 0})]);
  });

  it('skips malformed lines instead of failing', () => {
    expect(parseInetSockets('header\ngarbage line\n   0: zz:zz\n', 'tcp', true)).toEqual([]);
  });
});

describe('joining fds with the index', () => {
  const index: SocketIndex = new Map();
  for (const s of [...parseInetSockets(TCP, 'tcp', true), ...parseInetSockets(UDP, 'udp', true), ...parseInetSockets(RAW, 'raw', true)])
    index.set(s.inode, {...s, net_ns: 9});

  it('turns socket fds into rows, keeps unknown sockets with a null family, ignores other fds', () => {
    expect(socketInode('socket:[77001]')).toBe(77001);
    expect(socketInode('pipe:[1]')).toBeNull();
    const rows = socketRows(
      42,
      [
        {fd: 0, target: '/dev/null'},
        {fd: 3, target: 'socket:[77001]'},
        {fd: 4, target: 'socket:[999999]'},
        {fd: 5, target: 'socket:[1135]'},
        {fd: 6, target: 'socket:[3001]'},
        {fd: 7, target: 'socket:[4001]'},
      ],
      index,
      8,
    );
    expect(rows.map((r) => [r.fd, r.socket, r.family, r.state, r.net_ns])).toEqual([
      [3, 77001, 'AF_INET', 'ESTABLISHED', 9],
      [4, 999999, null, null, 8],
      [5, 1135, 'AF_INET', 'LISTEN', 9],
      [6, 3001, 'AF_INET', 'UNCONN', 9],
      [7, 4001, 'AF_INET', 'UNCONN', 9],
    ]);
    expect(listeningRows(rows).map((r) => [r.fd, r.protocol, r.address, r.port])).toEqual([
      [5, 6, '0.0.0.0', 2024],
      [6, 17, '0.0.0.0', 68],
    ]);
  });
});
