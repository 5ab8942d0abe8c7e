import {writeFileSync} from 'node:fs';
import {join} from 'node:path';

import fc from 'fast-check';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {escapeLatin1} from '../../src/collect/text-encoding.js';
import {parseUnixTable, resolveUnixTable, UNIX_PATH_MAX, type UnixEvidence, type UnixVerdict} from '../../src/collect/unix-sockets.js';
import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {firstLine, LiveProcesses} from './live-processes.js';

const HEADER = 'Num       RefCount Protocol Flags    Type St Inode Path\n';
const TYPES = {STREAM: '0001', DGRAM: '0002', SEQPACKET: '0005'} as const;

interface Line {
  readonly inode: number;
  readonly type?: keyof typeof TYPES;
  readonly listening?: boolean;
  readonly st?: string;
  /** The path's bytes as latin1 text, undefined for an unbound socket. */
  readonly path?: string;
  readonly pointer?: string;
}

/** One socket as unix_seq_show prints it: `%pK: %08X %08X %08X %04X %02X %5lu`, then ` path` when bound. */
function line({inode, type = 'STREAM', listening = false, st = '01', path, pointer = '00000000cda5fad4'}: Line): string {
  const head = `${pointer}: 00000002 00000000 ${listening ? '00010000' : '00000000'} ${TYPES[type]} ${st} ${String(inode).padStart(5)}`;
  return `${path === undefined ? head : `${head} ${path}`}\n`;
}

/** The text of a forged line, as a path would carry it after a newline. */
const forgedLine = (inode: number, type: keyof typeof TYPES = 'DGRAM'): string => line({inode, type, pointer: '0000000000000000'}).slice(0, -1);

const noEvidence: UnixEvidence = {listedElsewhere: () => false, certain: new Set(), verdict: () => 'unknown'};

function resolve(text: string, evidence: Partial<UnixEvidence> = {}) {
  return resolveUnixTable(parseUnixTable(text), {...noEvidence, ...evidence});
}

const summary = (text: string, evidence: Partial<UnixEvidence> = {}) => resolve(text, evidence).sockets.map((s) => [s.inode, s.socket_type, s.state, s.path]);

describe('/proc/net/unix in the kernel layout', () => {
  it('reads the listening flag, connected state, paths with spaces, abstract names and unbound sockets', () => {
    const text =
      HEADER +
      line({inode: 5001, listening: true, path: '/run/dbus/system_bus_socket'}) +
      line({inode: 5002, st: '03'}) +
      line({inode: 5003, type: 'DGRAM', path: '@abstract name with spaces'}) +
      line({inode: 5004, type: 'SEQPACKET', path: '/tmp/my sock'}) +
      line({inode: 123456789, type: 'DGRAM', path: '@00001'});
    expect(summary(text)).toEqual([
      [5001, 'STREAM', 'LISTEN', '/run/dbus/system_bus_socket'],
      [5002, 'STREAM', 'ESTABLISHED', null],
      [5003, 'DGRAM', 'UNCONN', '@abstract name with spaces'],
      [5004, 'SEQPACKET', 'UNCONN', '/tmp/my sock'],
      [123456789, 'DGRAM', 'UNCONN', '@00001'],
    ]);
  });

  it('reads a 32-bit kernel (8-digit pointers) and skips a file without the layout', () => {
    expect(summary(HEADER + line({inode: 7, pointer: 'c0ffee00', path: '/x'}))).toEqual([[7, 'STREAM', 'UNCONN', '/x']]);
    expect(summary('')).toEqual([]);
    expect(summary(HEADER)).toEqual([]);
    expect(summary(`${HEADER}not a socket\n`)).toEqual([]);
  });

  it('text after a newline in a path that is not a line of the layout stays in the path', () => {
    const text = HEADER + line({inode: 5001, path: '/tmp/a\nb c'}) + line({inode: 5002, path: '/tmp/\n'}) + line({inode: 5003});
    expect(summary(text)).toEqual([
      [5001, 'STREAM', 'UNCONN', '/tmp/a\nb c'],
      [5002, 'STREAM', 'UNCONN', '/tmp/\n'],
      [5003, 'STREAM', 'UNCONN', null],
    ]);
    // Near misses of the layout are text too: wrong padding of the inode, lower-case hex, a protocol not 0.
    const near = [forgedLine(61).replace('    61', '61'), forgedLine(62).replace('00000002', '0000000a'), forgedLine(63).replace(' 00000000 ', ' 00000001 ')];
    expect(
      summary(HEADER + line({inode: 5001, path: `/t\n${near[0]}`}) + line({inode: 5002, path: `@\n${near[1]}`}) + line({inode: 5003, path: `@\n${near[2]}`})),
    ).toEqual([
      [5001, 'STREAM', 'UNCONN', `/t\n${near[0]}`],
      [5002, 'STREAM', 'UNCONN', `@\n${near[1]}`],
      [5003, 'STREAM', 'UNCONN', `@\n${near[2]}`],
    ]);
  });

  it('a path of 108 bytes is whole, and a line after it cannot be forged', () => {
    const long = `/tmp/${'d'.repeat(60)}/${'s'.repeat(UNIX_PATH_MAX - 66)}`;
    expect(long).toHaveLength(UNIX_PATH_MAX);
    const table = parseUnixTable(HEADER + line({inode: 5001, path: long}) + line({inode: 5002, path: '/x'}));
    expect(table.lines.map((l) => l.doubtful)).toEqual([false, false]);
    expect(resolveUnixTable(table, noEvidence).sockets.map((s) => s.path)).toEqual([long, '/x']);
  });

  it('control characters and bytes that are not UTF-8 in a path take the one text form', () => {
    expect(summary(HEADER + line({inode: 5001, path: '/tmp/\x1b[2J\xff\r'}))).toEqual([[5001, 'STREAM', 'UNCONN', '/tmp/\\x1b[2J\\xff\\x0d']]);
  });
});

describe('/proc/net/unix: a path that forges a line', () => {
  // The attack: an AF_PACKET socket (inode 9001, listed in /proc/net/packet) and a unix socket bound to a
  // path whose newline starts a line claiming 9001 as AF_UNIX.
  const attack = HEADER + line({inode: 5001, listening: true, path: '/run/a'}) + line({inode: 9100, type: 'DGRAM', path: `/tmp/s\n${forgedLine(9001)}`});

  it('the forged line is doubtful: it lies within 108 bytes of the path before it', () => {
    expect(parseUnixTable(attack).lines.map((l) => [l.inode, l.doubtful])).toEqual([
      [5001, false],
      [9100, true],
      [9001, true],
    ]);
  });

  it('claiming an inode a path-free table lists: dropped, and the path it sits in is whole', () => {
    const resolved = resolve(attack, {listedElsewhere: (inode) => inode === 9001});
    expect(resolved.forged).toBe(1);
    expect(resolved.sockets.map((s) => [s.inode, s.path])).toEqual([
      [5001, '/run/a'],
      [9100, `/tmp/s\n${forgedLine(9001)}`],
    ]);
  });

  it("claiming another socket's inode that a line no path can reach claims: dropped, the real line stands", () => {
    const text =
      HEADER + line({inode: 5001, listening: true, path: '/run/dbus/system_bus_socket'}) + line({inode: 9100, path: `@\n${forgedLine(5001, 'SEQPACKET')}`});
    const table = parseUnixTable(text);
    const certain = new Set(table.lines.filter((l) => !l.doubtful).map((l) => l.inode));
    const resolved = resolveUnixTable(table, {...noEvidence, certain});
    expect(resolved.forged).toBe(1);
    expect(resolved.sockets.map((s) => [s.inode, s.socket_type, s.state, s.path])).toEqual([
      [5001, 'STREAM', 'LISTEN', '/run/dbus/system_bus_socket'],
      [9100, 'STREAM', 'UNCONN', `@\n${forgedLine(5001, 'SEQPACKET')}`],
    ]);
  });

  it('claiming a socket of a family no table lists (vsock, …): the fd says it is not AF_UNIX, so dropped', () => {
    const text = HEADER + line({inode: 9100, path: `/s\n${forgedLine(9002)}`});
    expect(resolve(text, {verdict: (inode) => (inode === 9002 ? 'other' : 'unix')}).sockets.map((s) => [s.inode, s.path])).toEqual([
      [9100, `/s\n${forgedLine(9002)}`],
    ]);
    // With nothing known of 9002 (no fd holds it, or the kernel is older than 5.7) the line stands.
    expect(resolve(text).sockets.map((s) => [s.inode, s.path])).toEqual([
      [9100, '/s'],
      [9002, null],
    ]);
  });

  it('two doubtful lines of one inode that nothing tells apart: AF_UNIX, with only what both say', () => {
    const text = HEADER + line({inode: 9100, path: `/a\n${forgedLine(9200, 'DGRAM')}`}) + line({inode: 9200, type: 'DGRAM', st: '03', path: '/b'});
    const resolved = resolve(text);
    expect(resolved.ambiguous).toBe(1);
    expect(resolved.sockets.map((s) => [s.inode, s.family, s.socket_type, s.state, s.path])).toEqual([
      [9100, 'AF_UNIX', 'STREAM', 'UNCONN', '/a'],
      [9200, 'AF_UNIX', 'DGRAM', null, null],
    ]);
  });

  it('an abstract name forges the same way (no file system needed): NUL bytes print as @', () => {
    const text = HEADER + line({inode: 9100, type: 'DGRAM', path: `@a@\n${forgedLine(9001)}`});
    expect(resolve(text, {listedElsewhere: (inode) => inode === 9001}).sockets.map((s) => s.path)).toEqual([`@a@\n${forgedLine(9001)}`]);
  });
});

describe('/proc/net/unix against any hostile paths (property)', () => {
  // Sockets with random paths (any byte but NUL, up to 108), some of which forge a line claiming another
  // socket: a packet socket, or a unix socket. With the evidence a scan has (the packet table, the lines no
  // path can reach, each fd's fdinfo), no socket is ever reported as something it is not.
  const byte = fc.integer({min: 1, max: 255});
  const text = (maxLength: number): fc.Arbitrary<string> =>
    fc.array(fc.oneof(byte, fc.constant(0x0a), fc.constant(0x40)), {maxLength}).map((b) => Buffer.from(b).toString('latin1'));
  const socket = fc.record({
    type: fc.constantFrom('STREAM', 'DGRAM', 'SEQPACKET') as fc.Arbitrary<keyof typeof TYPES>,
    listening: fc.boolean(),
    bound: fc.boolean(),
    // Up to 107 bytes with the leading `/`: sun_path's 108 at most.
    plain: text(UNIX_PATH_MAX - 1),
    // A forged line (58 bytes) between two bits of text, all within 108 bytes.
    forge: fc.option(fc.record({target: fc.nat(), prefix: text(20), suffix: text(20)}), {nil: undefined}),
  });

  it('reports each AF_UNIX socket truthfully or leaves what it cannot tell empty, and never a packet socket as AF_UNIX', () => {
    fc.assert(
      fc.property(fc.array(socket, {minLength: 1, maxLength: 8}), fc.integer({min: 1, max: 3}), (sockets, packetCount) => {
        const unixInodes = sockets.map((_, i) => 7000 + i);
        const packetInodes = Array.from({length: packetCount}, (_, i) => 8000 + i);
        const claimable = [...unixInodes, ...packetInodes];
        const truth = new Map<number, {type: string; state: string; path: string | null}>();
        let file = HEADER;
        sockets.forEach((s, i) => {
          const inode = unixInodes[i] as number;
          let path: string | undefined = s.bound ? `/${s.plain}` : undefined;
          if (s.forge !== undefined) path = `/${s.forge.prefix}\n${forgedLine(claimable[s.forge.target % claimable.length] as number)}${s.forge.suffix}`;
          truth.set(inode, {type: s.type, state: s.listening ? 'LISTEN' : 'UNCONN', path: path === undefined ? null : escapeLatin1(path)});
          file += line({inode, type: s.type, listening: s.listening, path});
        });
        const table = parseUnixTable(file);
        const certain = new Set(table.lines.filter((l) => !l.doubtful).map((l) => l.inode));
        const verdict = (inode: number): UnixVerdict => (truth.has(inode) ? 'unix' : packetInodes.includes(inode) ? 'other' : 'unknown');
        const resolved = resolveUnixTable(table, {listedElsewhere: (inode) => packetInodes.includes(inode), certain, verdict});
        const reported = new Map(resolved.sockets.map((s) => [s.inode, s]));
        for (const inode of packetInodes) expect(reported.has(inode)).toBe(false);
        expect([...reported.keys()].sort()).toEqual([...truth.keys()].sort());
        for (const [inode, real] of truth) {
          const got = reported.get(inode);
          if (resolved.ambiguous === 0) {
            expect([inode, got?.socket_type, got?.state, got?.path]).toEqual([inode, real.type, real.state, real.path]);
            continue;
          }
          // A forged line claiming a unix socket whose own line is doubtful too: that socket keeps what both
          // lines say, and the path holding the forged line is cut at it. Never another socket's value.
          if (got?.socket_type !== null) expect(got?.socket_type).toBe(real.type);
          if (got?.state !== null) expect(got?.state).toBe(real.state);
          if (got?.path !== null) expect(real.path?.startsWith(got?.path ?? '')).toBe(true);
        }
      }),
      {seed: 2201, numRuns: 300},
    );
  });
});

// The attack, for real: a process holding an AF_PACKET socket binds unix sockets (one on a file, one
// abstract) to names whose newline starts a line of /proc/net/unix claiming the packet socket's inode as
// AF_UNIX, and a third to a path of the full 108 bytes. Needs root (AF_PACKET); CI runs as root.
const ATTACKER = `
import ctypes, os, socket, struct, sys, time
d = sys.argv[1]
pkt = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
pino = os.fstat(pkt.fileno()).st_ino
width = len(open('/proc/net/unix').read().split('\\n')[1].split(':')[0])
forged = '0' * width + ': 00000002 00000000 00000000 0002 01 %5d' % pino
on_file = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
on_file.bind(os.path.join(d, 's\\n' + forged).encode())
abstract = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
abstract.bind(b'\\0a\\n' + forged.encode())
# 108 bytes, no terminating NUL (Python refuses a path that long, so bind(2) directly).
long_path = (d + '/' + 'L' * (108 - len(d) - 1)).encode()
long_sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
address = struct.pack('H', socket.AF_UNIX) + long_path
assert ctypes.CDLL(None).bind(long_sock.fileno(), address, len(address)) == 0
long_sock.listen(1)
print(pino, forged, flush=True)
time.sleep(3600)
`;

describe('the forged-socket attack, end to end', () => {
  const isRoot = process.getuid?.() === 0;
  const dir = tempDir();
  const env = isolatedEnv(dir);
  const live = new LiveProcesses();
  let pid = 0;
  let packetInode = 0;
  let forged = '';

  beforeAll(async () => {
    if (!isRoot) return;
    const script = join(dir, 'attacker.py');
    writeFileSync(script, ATTACKER);
    const child = live.spawn('python3', [script, dir], {stdio: ['ignore', 'pipe', 'inherit']});
    const ready = await firstLine(child);
    pid = child.pid as number;
    packetInode = Number(ready.slice(0, ready.indexOf(' ')));
    forged = ready.slice(ready.indexOf(' ') + 1);
  }, 30_000);

  afterAll(() => {
    live.killAll();
    removeDir(dir);
  });

  it.skipIf(!isRoot)('process_open_sockets reports the packet socket as AF_PACKET and each unix path whole', async () => {
    // The kernel's file does carry the forged line. (Its stdio, fds 0-2, are the test runner's pipes: left out.)
    const procNetUnix = (await import('node:fs')).readFileSync('/proc/net/unix', 'latin1');
    expect(procNetUnix).toContain(`\n${forged}\n`);
    const sql = `SELECT fd, socket, family, socket_type, state, path FROM process_open_sockets WHERE pid = ${pid} AND fd > 2 ORDER BY fd`;
    const result = await runCli(['query', sql, '--format', 'ndjson', '--no-audit'], {env});
    expect(result.code, result.stderr).toBe(0);
    const rows = parseNdjson(result.stdout);
    expect(rows.map((r) => [r.family, r.socket_type, r.path])).toEqual([
      ['AF_PACKET', 'RAW', null],
      ['AF_UNIX', 'DGRAM', `${dir}/s\n${forged}`],
      ['AF_UNIX', 'DGRAM', `@a\n${forged}`],
      ['AF_UNIX', 'STREAM', `${dir}/${'L'.repeat(108 - dir.length - 1)}`],
    ]);
    expect(rows[0]?.socket).toBe(packetInode);
    expect(rows[3]?.state).toBe('LISTEN');
  });

  it.skipIf(!isRoot)('detect raises raw-packet-socket on it, and the scan says a line was forged', async () => {
    const detect = await runCli(['detect', '--rule', 'raw-packet-socket', '--format', 'ndjson', '--no-audit'], {env});
    const alerts = parseNdjson(detect.stdout) as {rule_id: string; alert_data: {processes: {pid: number; family: string}[]}}[];
    const ours = alerts.filter((a) => a.rule_id === 'raw-packet-socket' && a.alert_data.processes.some((p) => p.pid === pid));
    expect(ours, detect.stderr).toHaveLength(1);
    expect(ours[0]?.alert_data.processes.find((p) => p.pid === pid)?.family).toBe('AF_PACKET');
    const snapshot = join(dir, 'scan.db');
    const scan = await runCli(['scan', '--no-hash', '--output', snapshot, '--tables', 'process_open_sockets', '--no-audit'], {env});
    expect(scan.code, scan.stderr).toBe(0);
    const errors = await runCli(['query', 'SELECT errors FROM scans', '--input', snapshot, '--format', 'ndjson', '--no-audit'], {env});
    expect(errors.stdout).toMatch(/process_open_sockets: \d+ lines? of \/proc\/net\/unix forged by a socket path holding a newline/);
  });
});
