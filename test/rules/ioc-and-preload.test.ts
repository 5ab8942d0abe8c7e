// The matching cases that rule files cannot express on their own, through the real CLI: the IOC list
// (configured data, fed from a file of hashes) and a non-empty /etc/ld.so.preload (a scan-level fact).
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {completeProcessRow} from '../../src/models/process-fixture.js';
import type {Alert} from '../../src/models/alert.js';
import {createSnapshotDatabase, insertProcesses, insertScan} from '../../src/storage/database.js';
import {isolatedEnv, removeDir, runCli, tempDir} from '../helpers/cli.js';

const dir = tempDir();
afterAll(() => removeDir(dir));
const env = isolatedEnv(dir);

const BAD = '2f4ea6d7a1f9a2bba1c4c6c1a8ef8d4bb0b2f6a10e8c0b6b3df1a1c2d3e4f5a6';
const rows = [
  {pid: 1, name: 'systemd', executable_path: '/usr/lib/systemd/systemd', uid: 0, ppid: 0},
  {pid: 2701, name: 'kworker', executable_path: '/tmp/.k', executable_hash: BAD},
  {pid: 2702, name: 'bash', executable_path: '/usr/bin/bash', executable_hash: 'a'.repeat(64)},
];

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

interface CaseResult {
  readonly rule_id: string;
  readonly actual: readonly number[];
  readonly passed: boolean;
}

describe('ioc-hash-match', () => {
  const input = file('rows.json', JSON.stringify(rows));

  it('flags executables whose hash is in the ioc_sha256 list file, whatever the case and spacing', async () => {
    const iocs = file('iocs.txt', `# from incident 42\n  ${BAD.toUpperCase()}  \n${'b'.repeat(64)}\n`);
    const config = file('ioc.yaml', `detection:\n  lists:\n    ioc_sha256:\n      file: ${iocs}\n`);
    const result = await runCli(['rules', 'test', 'ioc-hash-match', '--input', input, '--config', config, '--format', 'json'], {env});
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as {results: CaseResult[]};
    expect(summary.results).toEqual([expect.objectContaining({rule_id: 'ioc-hash-match', actual: [2701], passed: true})]);
  });

  it('flags nothing without a list', async () => {
    const result = await runCli(['rules', 'test', 'ioc-hash-match', '--input', input, '--format', 'json'], {env});
    expect((JSON.parse(result.stdout) as {results: CaseResult[]}).results[0]?.actual).toEqual([]);
  });
});

describe('dynamic-linker-hijack and /etc/ld.so.preload', () => {
  async function snapshotWith(ldSoPreload: string | null): Promise<string> {
    const db = await createSnapshotDatabase();
    const now = 1_700_000_000_000;
    insertScan(db, {
      id: 5,
      hostname: 'host',
      host_id: null,
      os: null,
      kernel: null,
      arch: null,
      boot_time: null,
      boot_id: null,
      start_time: now,
      end_time: now,
      process_count: rows.length,
      collector: 'procfs',
      tool_version: '0.1.0',
      ld_so_preload: ldSoPreload,
      decorations: null,
      tables: ['processes'],
      errors: [],
    });
    insertProcesses(
      db,
      rows.map((row) => completeProcessRow(row, {scanId: 5, now})),
    );
    const path = join(dir, `preload-${String(ldSoPreload?.length ?? 'null')}.db`);
    writeFileSync(path, db.export());
    db.close();
    return path;
  }

  async function alerts(snapshot: string, config?: string): Promise<Alert[]> {
    const args = ['detect', '--input', snapshot, '--rule', 'dynamic-linker-hijack', '--format', 'json', ...(config === undefined ? [] : ['--config', config])];
    const result = await runCli(args, {env});
    expect(result.code).toBe(0);
    return (JSON.parse(result.stdout) as {alerts: Alert[]}).alerts;
  }

  it('reports a non-empty /etc/ld.so.preload once, on the lowest pid, with the content', async () => {
    const found = await alerts(await snapshotWith('/usr/local/lib/libprocesshider.so\n'));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({rule_id: 'dynamic-linker-hijack', severity: 'high', affected_processes: [1]});
    expect(JSON.stringify(found[0]?.alert_data)).toContain('libprocesshider.so');
  });

  it('ignores an absent, blank or allow-listed /etc/ld.so.preload', async () => {
    expect(await alerts(await snapshotWith(null))).toEqual([]);
    expect(await alerts(await snapshotWith(' \n\t'))).toEqual([]);
    const allow = file('allow.yaml', "detection:\n  lists:\n    ld_so_preload_allow:\n      values: ['/opt/agent/lib/libagent.so%']\n");
    expect(await alerts(await snapshotWith('/opt/agent/lib/libagent.so\n'), allow)).toEqual([]);
  });
});
