import {describe, expect, it} from 'vitest';

import {completeProcessRow, type PartialProcessRow} from '../../src/models/process-fixture.js';
import type {Alert} from '../../src/models/alert.js';
import {buildProcessTree, treePids, type TreeSocket} from '../../src/tree/process-tree.js';
import {renderProcessTree, socketText} from '../../src/tree/tree-view.js';

const at = (rows: PartialProcessRow[]) => rows.map((row) => completeProcessRow(row, {scanId: 1, now: 1_700_000_000_000}));

const FOREST = at([
  {pid: 1, ppid: 0, name: 'init', executable_path: '/sbin/init', command_line: ['/sbin/init'], start_time: 1000},
  {pid: 10, ppid: 1, name: 'sshd', executable_path: '/usr/sbin/sshd', command_line: ['/usr/sbin/sshd', '-D'], start_time: 2000},
  {pid: 20, ppid: 10, name: 'bash', executable_path: '/usr/bin/bash', command_line: ['-bash'], start_time: 3000},
  {pid: 21, ppid: 20, name: 'x', executable_path: '/tmp/x', command_line: ['x'], exe_deleted: true, start_time: 4000},
  {pid: 22, ppid: 20, name: 'y', executable_path: '/memfd:y', command_line: ['y'], exe_memfd: true, start_time: 4000},
  {pid: 30, ppid: 1, name: 'cron', executable_path: '/usr/sbin/cron', command_line: ['cron'], start_time: 2000},
  {pid: 40, ppid: 999, name: 'orphan', command_line: ['orphan'], start_time: 5000},
]);

function alert(pids: number[], severity: Alert['severity'], rule: string): Alert {
  return {affected_processes: pids, severity, rule_id: rule} as unknown as Alert;
}

describe('buildProcessTree', () => {
  it('nests by ppid, roots for ppid 0 and for parents outside the snapshot, children by pid', () => {
    const roots = buildProcessTree(FOREST);
    expect(roots.map((r) => r.pid)).toEqual([1, 40]);
    expect(roots[0]?.children.map((c) => c.pid)).toEqual([10, 30]);
    expect(treePids(roots)).toEqual([1, 10, 20, 21, 22, 30, 40]);
  });

  it('marks deleted, memfd and alerted processes (worst severity, every rule)', () => {
    const roots = buildProcessTree(FOREST, {alerts: [alert([21], 'medium', 'b-rule'), alert([21, 22], 'high', 'a-rule')]});
    const bash = roots[0]?.children[0]?.children[0];
    expect(bash?.children[0]).toMatchObject({pid: 21, marks: ['deleted', 'alert'], alert: {severity: 'high', rules: ['a-rule', 'b-rule']}});
    expect(bash?.children[1]).toMatchObject({pid: 22, marks: ['memfd', 'alert']});
  });

  it('--pid: that subtree whole, and only the chain of its ancestors', () => {
    const roots = buildProcessTree(FOREST, {focusPids: [20]});
    expect(treePids(roots)).toEqual([1, 10, 20, 21, 22]);
    expect(treePids(buildProcessTree(FOREST, {focusPids: [10]}))).toEqual([1, 10, 20, 21, 22]);
    expect(treePids(buildProcessTree(FOREST, {focusPids: [30, 40]}))).toEqual([1, 30, 40]);
    expect(buildProcessTree(FOREST, {focusPids: [12345]})).toEqual([]);
  });

  it('a parent that started after its child is a reused pid: the child is a root', () => {
    const rows = at([
      {pid: 5, ppid: 0, start_time: 1000},
      {pid: 6, ppid: 5, start_time: 500},
    ]);
    expect(buildProcessTree(rows).map((r) => r.pid)).toEqual([5, 6]);
  });

  it('a ppid cycle in a hand-made snapshot is broken, every process shown once', () => {
    const rows = at([
      {pid: 7, ppid: 8, start_time: null},
      {pid: 8, ppid: 7, start_time: null},
    ]);
    expect(treePids(buildProcessTree(rows)).sort()).toEqual([7, 8]);
  });
});

describe('renderProcessTree', () => {
  it('draws branches with pid, user, marks before the executable and argv', () => {
    const text = renderProcessTree(buildProcessTree(FOREST, {alerts: [alert([21], 'high', 'r')]}));
    expect(text).toBe(
      [
        '1 user /sbin/init',
        '├─ 10 user /usr/sbin/sshd -D',
        '│  └─ 20 user /usr/bin/bash -bash',
        '│     ├─ 21 user [deleted] [alert high: r] /tmp/x x',
        '│     │  └╌ alert r: pid 21',
        '│     └─ 22 user [memfd] /memfd:y y',
        '└─ 30 user /usr/sbin/cron cron',
        '40 user /usr/bin/orphan orphan',
        '',
      ].join('\n'),
    );
  });

  it('escapes control characters and cuts each line to the width, marks kept', () => {
    const rows = at([{pid: 2, ppid: 0, name: 'evil', exe_deleted: true, command_line: ['evil\u001b[2J', 'a'.repeat(200)]}]);
    const text = renderProcessTree(buildProcessTree(rows), {width: 60});
    expect(text).not.toContain('\u001b');
    expect(text).toContain('\\x1b[2J');
    expect(text).toContain('[deleted]');
    expect([...text.trimEnd()].length).toBeLessThanOrEqual(60);
  });

  it('sockets under their process', () => {
    const sockets = new Map<number, TreeSocket[]>([
      [
        10,
        [
          {
            fd: 3,
            family: 'AF_INET',
            protocol: 6,
            local_address: '0.0.0.0',
            local_port: 22,
            remote_address: '0.0.0.0',
            remote_port: 0,
            state: 'LISTEN',
            path: null,
          },
          {
            fd: 4,
            family: 'AF_INET6',
            protocol: 6,
            local_address: '::1',
            local_port: 22,
            remote_address: '::1',
            remote_port: 5000,
            state: 'ESTABLISHED',
            path: null,
          },
        ],
      ],
    ]);
    const text = renderProcessTree(buildProcessTree(FOREST, {focusPids: [10], sockets}));
    expect(text).toContain(
      '└─ 10 user /usr/sbin/sshd -D\n   ├╌ socket fd 3 tcp 0.0.0.0:22 LISTEN\n   ├╌ socket fd 4 tcp6 [::1]:22 → [::1]:5000 ESTABLISHED\n   └─ 20 ',
    );
    expect(
      socketText({
        fd: 5,
        family: 'AF_UNIX',
        protocol: 0,
        local_address: null,
        local_port: null,
        remote_address: null,
        remote_port: null,
        state: null,
        path: '/run/x.sock',
      }),
    ).toBe('fd 5 unix /run/x.sock');
  });
});

describe('hand-made shapes of any size', () => {
  it('builds a chain 20,000 levels deep and a parent of 30,000 children (no recursion, no copy per child)', () => {
    const [base] = at([{pid: 1, ppid: 0}]) as [ReturnType<typeof completeProcessRow>];
    const chain = Array.from({length: 20_000}, (_, i) => ({...base, pid: i + 1, ppid: i}));
    const deep = buildProcessTree(chain);
    expect(treePids(deep)).toHaveLength(20_000);
    let depth = 0;
    for (let node = deep[0]; node !== undefined; node = node.children[0]) depth += 1;
    expect(depth).toBe(20_000);
    const wide = buildProcessTree([base, ...Array.from({length: 30_000}, (_, i) => ({...base, pid: 30_001 - i, ppid: 1}))]);
    expect(wide).toHaveLength(1);
    expect(wide[0]?.children.map((c) => c.pid)).toEqual(Array.from({length: 30_000}, (_, i) => i + 2));
  });
});
