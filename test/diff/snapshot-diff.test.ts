import {describe, expect, it} from 'vitest';

import {type DiffResult, type DiffSide, diffSnapshots, osqueryDifferential} from '../../src/diff/snapshot-diff.js';
import {completeProcessRow, type PartialProcessRow} from '../../src/models/process-fixture.js';
import type {ScanRecord} from '../../src/models/scan.js';

const H1 = 'a'.repeat(64);
const H2 = 'b'.repeat(64);

function side(id: number, rows: PartialProcessRow[], listening: DiffSide['listening'] = null): DiffSide {
  const scan = {id, hostname: 'web1', start_time: id * 1000, end_time: id * 1000} as ScanRecord;
  return {source: `scan-${id}.db`, scan, processes: rows.map((r) => completeProcessRow(r, {scanId: id, now: id * 1000})), listening};
}

const BEFORE = side(1, [
  {pid: 1, ppid: 0, name: 'init', executable_path: '/sbin/init', entity_id: 'e1', executable_hash: H1},
  {pid: 10, ppid: 1, name: 'nginx', executable_path: '/usr/sbin/nginx', entity_id: 'e10', executable_hash: H1},
  {pid: 20, ppid: 1, name: 'cron', executable_path: '/usr/sbin/cron', entity_id: 'e20'},
]);

describe('diffSnapshots', () => {
  it('processes added and removed by entity id, not by pid (a reused pid is a new process)', () => {
    const after = side(2, [
      {pid: 1, ppid: 0, name: 'init', executable_path: '/sbin/init', entity_id: 'e1', executable_hash: H1},
      {pid: 10, ppid: 1, name: 'nginx', executable_path: '/usr/sbin/nginx', entity_id: 'e10', executable_hash: H1},
      {pid: 20, ppid: 1, name: 'cron', executable_path: '/usr/sbin/cron', entity_id: 'e20-reused'},
    ]);
    const diff = diffSnapshots(BEFORE, after);
    expect(diff.results.filter((r) => r.name === 'processes').map((r) => [r.action, r.columns.pid, r.columns.entity_id])).toEqual([
      ['added', 20, 'e20-reused'],
      ['removed', 20, 'e20'],
    ]);
  });

  it('new executables, changed hashes of known paths, new parent → child pairs; osquery-shaped lines', () => {
    const after = side(2, [
      {pid: 1, ppid: 0, name: 'init', executable_path: '/sbin/init', entity_id: 'e1', executable_hash: H1},
      {pid: 10, ppid: 1, name: 'nginx', executable_path: '/usr/sbin/nginx', entity_id: 'e10b', executable_hash: H2},
      {pid: 30, ppid: 10, name: 'sh', executable_path: '/bin/sh', entity_id: 'e30', command_line: ['sh', '-c', 'id']},
      {pid: 31, ppid: 30, name: 'x', executable_path: '/tmp/x', entity_id: 'e31', executable_hash: H2},
    ]);
    const diff = diffSnapshots(BEFORE, after);
    const byName = (name: string) => diff.results.filter((r) => r.name === name).map((r) => [r.action, r.columns]);
    expect(byName('new_executables')).toEqual([
      ['added', {executable_path: '/bin/sh', executable_hash: null, pids: [30]}],
      ['added', {executable_path: '/tmp/x', executable_hash: H2, pids: [31]}],
    ]);
    expect(byName('executable_hashes')).toEqual([['changed', {executable_path: '/usr/sbin/nginx', old_hashes: [H1], executable_hash: H2, pids: [10]}]]);
    expect(byName('parent_child').map(([, c]) => [(c as Record<string, unknown>).parent_executable, (c as Record<string, unknown>).child_executable])).toEqual([
      ['/bin/sh', '/tmp/x'],
      ['/usr/sbin/nginx', '/bin/sh'],
    ]);
    expect(diff.results[0]).toMatchObject({collection_time: 2000, host: {hostname: 'web1'}});
    expect(osqueryDifferential(diff.results[0] as DiffResult)).toMatchObject({hostIdentifier: 'web1', unixTime: 2, epoch: 0, counter: 0, numerics: true});
    expect(diff.counts['new_executables:added']).toBe(2);
    expect(diff.compared_listening_ports).toBe(false);
  });

  it('listening ports only when both scans hold them: opened and closed, with the owner', () => {
    const ports = (list: [number, number][]) => list.map(([pid, port]) => ({pid, port, protocol: 6, family: 'AF_INET' as const, address: '0.0.0.0'}));
    const before = {...BEFORE, listening: ports([[10, 80]])};
    const after = side(2, [{pid: 10, ppid: 1, name: 'nginx', executable_path: '/usr/sbin/nginx', entity_id: 'e10'}], ports([[10, 4444]]));
    const diff = diffSnapshots(before, after);
    expect(diff.results.filter((r) => r.name === 'listening_ports').map((r) => [r.action, r.columns.port, r.columns.executable_path])).toEqual([
      ['added', 4444, '/usr/sbin/nginx'],
      ['removed', 80, '/usr/sbin/nginx'],
    ]);
    expect(diffSnapshots(BEFORE, after).results.some((r) => r.name === 'listening_ports')).toBe(false);
  });

  it('no change, no results', () => {
    expect(diffSnapshots(BEFORE, {...BEFORE, scan: {...BEFORE.scan, id: 9}}).results).toEqual([]);
  });
});
