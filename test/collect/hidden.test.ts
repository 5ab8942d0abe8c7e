// The hidden-process checks on real processes: the pid sweep against a listing that leaves one out, and
// thread ids mapped to their thread group. (Mounts over /proc entries: test/commands/scan-hidden.test.ts.)
import {readdirSync} from 'node:fs';

import {afterAll, describe, expect, it} from 'vitest';

import {mountEvidence, pidExists, readPidMax, sweepPidSpace} from '../../src/collect/hidden.js';
import {LiveProcesses, SLEEP} from './live-processes.js';

const live = new LiveProcesses();
afterAll(() => live.killAll());

function listed(): Set<number> {
  return new Set(
    readdirSync('/proc')
      .filter((n) => /^\d+$/.test(n))
      .map(Number),
  );
}

describe('sweepPidSpace', () => {
  it('finds a live process missing from the listing, readable by path', () => {
    const child = live.spawn(SLEEP, ['600']);
    const pid = child.pid!;
    const seen = listed();
    seen.delete(pid);
    const result = sweepPidSpace({procRoot: '/proc', listed: seen, pidMax: readPidMax('/proc')});
    const found = result.unlisted.find((u) => u.pid === pid);
    expect(found?.evidence).toContain(`kill(${pid}, 0) succeeds and /proc/${pid}/status is readable by path`);
    expect(result.probed).toBe(readPidMax('/proc'));
  });

  it('threads of a listed process are expected; threads of an unlisted one name their thread group once', () => {
    const threadIds = readdirSync(`/proc/${process.pid}/task`).map(Number);
    expect(threadIds.length).toBeGreaterThan(1); // node runs helper threads
    const all = listed();
    const withUs = sweepPidSpace({procRoot: '/proc', listed: all, pidMax: readPidMax('/proc')});
    expect(withUs.unlisted.map((u) => u.pid)).not.toContain(process.pid);
    expect(withUs.threads).toBeGreaterThanOrEqual(threadIds.length - 1);
    all.delete(process.pid);
    const withoutUs = sweepPidSpace({procRoot: '/proc', listed: all, pidMax: readPidMax('/proc')});
    const ours = withoutUs.unlisted.filter((u) => u.pid === process.pid);
    expect(ours).toHaveLength(1);
    expect(ours[0]?.evidence).toMatch(/thread \d+ answers kill\(\d+, 0\) and its \/proc\/\d+\/status names Tgid/);
  });

  it('uses the probe it is given: nothing alive, nothing found', () => {
    expect(sweepPidSpace({procRoot: '/proc', listed: new Set(), pidMax: 1000, exists: () => false}).unlisted).toEqual([]);
  });
});

describe('pidExists and evidence', () => {
  it('kill(pid, 0): our own pid exists, a pid past pid_max does not', () => {
    expect(pidExists(process.pid)).toBe(true);
    expect(pidExists(readPidMax('/proc') + 1)).toBe(false);
  });

  it('mountEvidence lists the mounts, then the children', () => {
    const mount = {mountId: 42, parentId: 23, device: '254:0', root: '/tmp/e', mountPoint: '/proc/7', options: 'rw', fsType: 'ext4', source: '/dev/vda'};
    expect(mountEvidence([mount], [8, 9])).toBe('/proc/7 covered by /tmp/e of /dev/vda (ext4, mount 42); children: 8, 9');
  });
});
