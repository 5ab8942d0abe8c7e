// The plumbing between processes: fdinfo parsing, device numbers, peer resolution on hand-made ends, and on real
// processes joined by a pipe, a FIFO and a pseudo-terminal.
import {type ChildProcess, execFileSync, spawn} from 'node:child_process';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {deviceNumbers, type FdEnd, type FdFacts, fdPeerRows, MAX_ENDS_EVERY_FD_LISTED, MAX_PEERS_PER_CHANNEL, parseFdinfo} from '../../src/collect/fd-peers.js';
import {readFdLinks} from '../../src/collect/fds.js';
import {openFileRows} from '../../src/collect/open-files.js';
import {removeDir, tempDir} from '../helpers/cli.js';

const facts = (partial: Partial<FdFacts>): FdFacts => ({type: 'pipe', inode: 1, ptyIndex: null, access: null, device: null, ...partial});
const end = (pid: number, fd: number, partial: Partial<FdFacts>): FdEnd => ({pid, fd, facts: facts(partial)});

describe('parseFdinfo', () => {
  it('reads the access mode (octal flags) and a terminal master tty-index', () => {
    expect(parseFdinfo('pos:\t0\nflags:\t0100000\nmnt_id:\t15\n')).toEqual({access: 'r', ttyIndex: null});
    expect(parseFdinfo('pos:\t0\nflags:\t01\nmnt_id:\t15\n')).toEqual({access: 'w', ttyIndex: null});
    expect(parseFdinfo('pos:\t0\nflags:\t02100002\nmnt_id:\t24\nino:\t90\ntty-index:\t7\n')).toEqual({access: 'rw', ttyIndex: 7});
    expect(parseFdinfo('garbage')).toEqual({access: null, ttyIndex: null});
  });

  it('splits device numbers as glibc does (pts majors 136-143)', () => {
    expect(deviceNumbers(0x8803)).toEqual({major: 136, minor: 3});
    expect(deviceNumbers(0x502)).toEqual({major: 5, minor: 2});
    expect(deviceNumbers((0x89 << 8) | 0x10 | (0x1 << 20))).toEqual({major: 137, minor: 0x110});
  });
});

describe('fdPeerRows', () => {
  it('pairs the read and write ends of a pipe across processes, never within one', () => {
    const rows = fdPeerRows([
      end(10, 0, {inode: 5, access: 'r'}),
      end(11, 1, {inode: 5, access: 'w'}),
      end(10, 7, {inode: 5, access: 'w'}),
      end(12, 0, {inode: 5, access: 'r'}),
    ]);
    expect(rows.filter((row) => row.pid === 10).map((row) => [row.fd, row.peer_pid, row.peer_fd])).toEqual([
      [0, 11, 1],
      [7, 12, 0],
    ]);
    expect(rows.filter((row) => row.pid === 11).map((row) => row.peer_pid)).toEqual([10, 12]);
  });

  it('pairs FIFOs by device and inode, an rw end with every other, and terminals master to slave in one devpts instance', () => {
    const rows = fdPeerRows([
      end(20, 0, {type: 'fifo', inode: 9, device: 3, access: 'r'}),
      end(21, 1, {type: 'fifo', inode: 9, device: 3, access: 'rw'}),
      end(22, 1, {type: 'fifo', inode: 9, device: 4, access: 'w'}),
      end(30, 0, {type: 'pty', inode: 1, ptyIndex: 2, device: 50}),
      end(31, 5, {type: 'pty_master', inode: 2, ptyIndex: 2, device: 50}),
      end(32, 0, {type: 'pty', inode: 1, ptyIndex: 2, device: 51}),
      end(33, 0, {type: 'pty', inode: 1, ptyIndex: 2, device: 50}),
    ]);
    expect(rows.filter((row) => row.channel === 'fifo').map((row) => [row.pid, row.peer_pid])).toEqual([
      [20, 21],
      [21, 20],
    ]);
    expect(rows.filter((row) => row.channel === 'pty').map((row) => [row.pid, row.peer_pid])).toEqual([
      [30, 31],
      [31, 30],
      [31, 33],
      [33, 31],
    ]);
  });

  it('lists at most MAX_PEERS_PER_CHANNEL peers per end of a widely shared pipe', () => {
    // A build's jobserver pipe on stdin and stdout of a hundred jobs.
    const ends = Array.from({length: 100}, (_, i) => end(100 + i, i === 0 ? 0 : 1, {inode: 77, access: i === 0 ? 'r' : 'w'}));
    const rows = fdPeerRows(ends);
    expect(rows.filter((row) => row.pid === 100)).toHaveLength(MAX_PEERS_PER_CHANNEL);
    expect(rows.filter((row) => row.pid === 150)).toEqual([expect.objectContaining({peer_pid: 100})]);
  });

  it('a channel of many ends (inherited by hundreds of forks) lists its stdio ends only: rows stay linear', () => {
    // 500 processes holding the same 200 pipes at fds 3-202, and one of them on stdin as well.
    const ends: FdEnd[] = [];
    for (let p = 0; p < 500; p++) {
      for (let k = 0; k < 200; k++) ends.push(end(1000 + p, 3 + k, {inode: 9000 + k, access: 'rw'}));
      ends.push(end(1000 + p, 0, {inode: 9000, access: 'rw'}));
    }
    const rows = fdPeerRows(ends);
    expect(rows.every((row) => row.fd <= 2)).toBe(true);
    expect(rows).toHaveLength(500 * MAX_PEERS_PER_CHANNEL);
    // A channel of few ends still lists every fd.
    const small = Array.from({length: MAX_ENDS_EVERY_FD_LISTED}, (_, i) => end(200 + i, 7, {inode: 55, access: i === 0 ? 'r' : 'w'}));
    expect(fdPeerRows(small).filter((row) => row.pid === 200)).toHaveLength(MAX_ENDS_EVERY_FD_LISTED - 1);
  });

  it('pairs exactly as every end against every other would, on seeded random channels', () => {
    // The definition, end against every other end of its channel (quadratic: what fdPeerRows must agree with).
    const reference = (ends: readonly FdEnd[]): unknown[] => {
      const channelOf = ({facts: f}: FdEnd): string | null =>
        f.type === 'pipe' ? `pipe:${f.inode}` : f.type === 'fifo' ? `fifo:${f.device}:${f.inode}` : `pty:${f.device}:${f.ptyIndex}`;
      const reads = (access: string | null): boolean => access !== 'w';
      const writes = (access: string | null): boolean => access !== 'r';
      const rows: unknown[] = [];
      const channels = [...new Set(ends.map(channelOf))];
      for (const channel of channels) {
        const members = ends.filter((e) => channelOf(e) === channel).sort((a, b) => a.pid - b.pid || a.fd - b.fd);
        if (members.length < 2) continue;
        for (const e of members) {
          if (members.length > MAX_ENDS_EVERY_FD_LISTED && e.fd > 2) continue;
          const peers = members.filter((p) =>
            p.pid === e.pid
              ? false
              : e.facts.type === 'pipe' || e.facts.type === 'fifo'
                ? (reads(e.facts.access) && writes(p.facts.access)) || (writes(e.facts.access) && reads(p.facts.access))
                : (e.facts.type === 'pty') !== (p.facts.type === 'pty'),
          );
          for (const p of peers.slice(0, MAX_PEERS_PER_CHANNEL)) rows.push([e.pid, e.fd, p.pid, p.fd]);
        }
      }
      return rows;
    };
    let seed = 7;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const accesses = ['r', 'w', 'rw', null] as const;
    for (let round = 0; round < 300; round++) {
      const ends = Array.from({length: next(120)}, (): FdEnd => {
        const kind = next(3);
        const access = accesses[next(4)] ?? null;
        const partial: Partial<FdFacts> =
          kind === 0
            ? {type: 'pipe', inode: next(3), access}
            : kind === 1
              ? {type: 'fifo', inode: next(2), device: next(2), access}
              : {type: next(2) === 0 ? 'pty' : 'pty_master', inode: next(5), ptyIndex: next(2), device: next(2), access};
        // Few pids, many fds each: ends of one process on one channel, which never pair with each other.
        return end(next(12), next(60), partial);
      });
      const rows = fdPeerRows(ends).map((row) => [row.pid, row.fd, row.peer_pid, row.peer_fd]);
      expect(rows.sort()).toEqual(reference(ends).sort());
    }
  });
});

describe('on real processes', () => {
  const dir = tempDir();
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children) {
      try {
        process.kill(-(child.pid ?? 0), 'SIGKILL');
      } catch {
        // gone
      }
    }
    removeDir(dir);
  });

  const ends = (pid: number): FdEnd[] => {
    const links = readFdLinks('/proc', pid);
    return typeof links === 'string' ? [] : openFileRows(pid, links.links).ends;
  };
  const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('resolves a pipe, a FIFO and a pseudo-terminal between live processes', async () => {
    const fifo = join(dir, 'f');
    execFileSync('mkfifo', [fifo]);
    // sleep's stdout is a pipe read by cat, which writes into the FIFO that another cat reads; script runs a
    // shell on a new terminal whose master script holds.
    const chain = spawn('/bin/sh', ['-c', `cat ${fifo} > /dev/null & sleep 600 | cat > ${fifo}; wait`], {detached: true, stdio: 'ignore'});
    children.push(chain);
    const term = spawn('script', ['-qfc', 'sleep 600', '/dev/null'], {detached: true, stdio: ['pipe', 'ignore', 'ignore']});
    children.push(term);
    await wait(1500);
    const tree = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,args=']).toString();
    const below = (parent: number, pattern: RegExp): number[] =>
      tree
        .split('\n')
        .map((line) => line.trim().split(/\s+/))
        .filter((cols) => Number(cols[1]) === parent && pattern.test(cols.slice(2).join(' ')))
        .map((cols) => Number(cols[0]));
    const shell = chain.pid ?? 0;
    const [sleep] = below(shell, /^sleep 600/);
    const cats = below(shell, /^cat/);
    const scriptShell = below(term.pid ?? 0, /sleep 600|sh -c/)[0] ?? 0;
    const scriptSleep = below(scriptShell, /^sleep 600/)[0] ?? scriptShell;
    const all = [shell, sleep ?? 0, ...cats, term.pid ?? 0, scriptShell, scriptSleep].filter((pid) => pid > 0);
    const rows = fdPeerRows(all.flatMap(ends));
    const peersOf = (pid: number, fd: number, channel: string) =>
      rows.filter((r) => r.pid === pid && r.fd === fd && r.channel === channel).map((r) => r.peer_pid);
    // sleep writes the pipe a cat reads
    expect(cats.some((cat) => peersOf(sleep ?? 0, 1, 'pipe').includes(cat))).toBe(true);
    // the FIFO joins the two cats
    const fifoRows = rows.filter((r) => r.channel === 'fifo');
    expect(fifoRows.length).toBeGreaterThanOrEqual(2);
    expect(new Set(fifoRows.map((r) => r.pid))).toEqual(new Set(cats));
    // the terminal's process (stdin /dev/pts/N) has script, holding the master, as its peer
    expect(peersOf(scriptSleep, 0, 'pty')).toContain(term.pid);
  }, 30_000);
});
