// The matching cases that rule files cannot express on their own: the IOC list (configured data) and a
// non-empty /etc/ld.so.preload (a scan-level fact, not a process row).
import {describe, expect, it} from 'vitest';

import {flaggedPids, loadRuleFiles, runRule, snapshotDatabase, completeRows} from './rule-harness.js';

const rules = new Map(loadRuleFiles().map((rule) => [rule.id, rule]));
const rule = (id: string) => {
  const found = rules.get(id);
  if (found === undefined) throw new Error(`no rule ${id}`);
  return found;
};

const BAD = '2f4ea6d7a1f9a2bba1c4c6c1a8ef8d4bb0b2f6a10e8c0b6b3df1a1c2d3e4f5a6';
const rows = [
  {pid: 1, name: 'systemd', executable_path: '/usr/lib/systemd/systemd', uid: 0, ppid: 0},
  {pid: 2701, name: 'kworker', executable_path: '/tmp/.k', executable_hash: BAD},
  {pid: 2702, name: 'bash', executable_path: '/usr/bin/bash', executable_hash: 'a'.repeat(64)},
];

describe('ioc-hash-match', () => {
  it('flags executables whose hash is in ioc_sha256, whatever the case and spacing of the list entry', async () => {
    expect(await flaggedPids(rule('ioc-hash-match'), rows, {ioc_sha256: [` ${BAD.toUpperCase()} `, 'b'.repeat(64)]})).toEqual([2701]);
  });

  it('flags nothing with an empty list', async () => {
    expect(await flaggedPids(rule('ioc-hash-match'), rows, {ioc_sha256: []})).toEqual([]);
  });
});

describe('dynamic-linker-hijack and /etc/ld.so.preload', () => {
  it('reports a non-empty /etc/ld.so.preload once, on the lowest pid, with the content', async () => {
    const db = await snapshotDatabase(completeRows(rows), {}, {ld_so_preload: '/usr/local/lib/libprocesshider.so\n'});
    try {
      const result = runRule(db, rule('dynamic-linker-hijack').sql_query);
      expect(result).toEqual([
        expect.objectContaining({pid: 1, name: 'systemd', variable: '/etc/ld.so.preload', value: '/usr/local/lib/libprocesshider.so\n'}),
      ]);
    } finally {
      db.close();
    }
  });

  it('ignores an absent, blank or allow-listed /etc/ld.so.preload', async () => {
    const hijack = rule('dynamic-linker-hijack');
    expect(await flaggedPids(hijack, rows, {}, {ld_so_preload: null})).toEqual([]);
    expect(await flaggedPids(hijack, rows, {}, {ld_so_preload: ' \n\t'})).toEqual([]);
    expect(await flaggedPids(hijack, rows, {ld_so_preload_allow: ['/opt/agent/lib/libagent.so%']}, {ld_so_preload: '/opt/agent/lib/libagent.so\n'})).toEqual(
      [],
    );
  });
});
