import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {DaemonEyeError} from '../../src/errors.js';
import type {Alert} from '../../src/models/alert.js';
import {PROCESS_TABLE_COLUMN_NAMES} from '../../src/models/process.js';
import {completeProcessRow} from '../../src/models/process-fixture.js';
import {exportData, type ExportConfig} from '../../src/storage/export.js';
import {writeSnapshotFile} from '../../src/storage/snapshot-file.js';
import {appendToStore, storeFileName} from '../../src/storage/store.js';
import {parseNdjson, removeDir, tempDir} from '../helpers/cli.js';
import {makeProcesses, makeScan} from './helpers/snapshots.js';

/** The reads here are of files this test wrote: no warning is expected, none is checked. */
const noWarning = (): void => undefined;

const root = tempDir();
afterAll(() => removeDir(root));
const T0 = Date.UTC(2026, 9, 1);
const HOUR = 3_600_000;
const scans = [0, 1, 2, 3].map((i) => makeScan(T0 + i * HOUR, 10, i));
const store = join(root, 'store');
const single = join(root, 'single.db');

const alert: Alert = {
  id: '0b7e5f7a-1c2d-4e3f-8a9b-0c1d2e3f4a5b',
  alert_time: T0 + 5,
  rule_id: 'test-rule',
  title: 'Test rule',
  description: 'matched',
  severity: 'high',
  scan_id: scans[0]!.id,
  affected_processes: [101, 102],
  process_count: 2,
  alert_data: {processes: [{pid: 101}, {pid: 102}]},
  rule_execution_time_ms: 3,
  dedupe_key: 'test-rule:sshd',
  host: null,
  attack_techniques: ['T1059.004'],
  attack_tactics: ['execution'],
};

async function run(
  config: Omit<ExportConfig, 'input'> & {input?: string},
): Promise<{out: string; result: Awaited<ReturnType<typeof exportData>>; problems: DaemonEyeError[]}> {
  let out = '';
  const problems: DaemonEyeError[] = [];
  const result = await exportData({input: store, ...config}, {onWarning: noWarning, write: (chunk) => (out += chunk), onProblem: (p) => problems.push(p)});
  return {out, result, problems};
}

beforeAll(async () => {
  for (const scan of scans) await appendToStore(store, scan, makeProcesses(scan, 10), {alerts: scan === scans[0] ? [alert] : []});
  const tricky = completeProcessRow(
    {pid: 7, name: 'evil', command_line: ['sh', '-c', 'echo "a,b"\nrm -rf /tmp/x', '\u009b31m', '\u2028'], cwd: '/tmp/with,comma'},
    {scanId: scans[0]!.id, now: T0},
  );
  await writeSnapshotFile(single, scans[0]!, [tricky]);
});

/** A record without the `host` export adds (src/storage/export.ts). */
const withoutHost = ({host: _host, ...record}: Record<string, unknown>): Record<string, unknown> => record;

describe('export', () => {
  it('writes every process of a store as NDJSON records equal to what was stored', async () => {
    const {out, result} = await run({});
    const records = parseNdjson(out);
    expect(records.map(withoutHost)).toEqual(scans.flatMap((scan) => makeProcesses(scan, 10)));
    // Each row carries its scan's host object.
    expect(records[0]?.host).toEqual({
      id: null,
      hostname: 'test-host',
      boot_id: scans[0]!.boot_id,
      os: scans[0]!.os,
      kernel: scans[0]!.kernel,
      arch: scans[0]!.arch,
      decorations: {},
    });
    expect(result).toMatchObject({table: 'processes', format: 'ndjson', rows: 40, filesRead: 4, problems: []});
  });

  it('filters by time, pid, name and scan id', async () => {
    expect(parseNdjson((await run({since: T0 + HOUR, until: T0 + 2 * HOUR})).out).map((r) => r.scan_id)).toEqual([
      ...Array(10).fill(scans[1]!.id),
      ...Array(10).fill(scans[2]!.id),
    ]);
    expect(parseNdjson((await run({pid: 103})).out)).toHaveLength(4);
    expect(parseNdjson((await run({name: 'bash', scanId: scans[3]!.id})).out).map((r) => [r.name, r.scan_id])).toEqual([
      ['bash', scans[3]!.id],
      ['bash', scans[3]!.id],
    ]);
    expect((await run({pid: 99999})).out).toBe('');
  });

  it('exports scans and alerts in their model shapes', async () => {
    expect(parseNdjson((await run({table: 'scans'})).out).map(withoutHost)).toEqual(scans);
    expect(parseNdjson((await run({table: 'alerts'})).out)).toEqual([alert]);
    expect(parseNdjson((await run({table: 'alerts', pid: 102})).out)).toEqual([alert]);
    expect(parseNdjson((await run({table: 'alerts', pid: 103})).out)).toEqual([]);
  });

  it('writes one JSON array', async () => {
    const {out} = await run({format: 'json', scanId: scans[2]!.id});
    expect((JSON.parse(out) as Record<string, unknown>[]).map(withoutHost)).toEqual(makeProcesses(scans[2]!, 10));
    expect((await run({format: 'json', pid: 99999})).out).toBe('[]\n');
  });

  it('writes CSV with a header and RFC 4180 quoting', async () => {
    const {out} = await run({input: single, format: 'csv'});
    const [header, ...rest] = out.split('\r\n');
    // The flat `processes` table columns, as `scan --format csv` prints them (src/models/serialise.ts).
    expect(header).toBe([...PROCESS_TABLE_COLUMN_NAMES, 'host_id', 'hostname'].join(','));
    expect(header).toMatch(/^id,scan_id,collection_time,pid,ppid,name,executable_path,command_line,.*,platform_data,cmdline,.*,user_name,uid,/);
    const body = rest.join('\r\n');
    expect(body).toContain('"[""sh"",""-c"",""echo \\""a,b\\""\\nrm -rf /tmp/x""');
    expect(body).toContain(',true,true,');
    expect(out.endsWith('\r\n')).toBe(true);
  });

  it('escapes characters a terminal would interpret', async () => {
    const {out} = await run({input: single});
    expect(out).not.toMatch(/[\u0080-\u009f\u2028]/);
    expect(out).toContain('\\u009b31m');
    expect(parseNdjson(out)[0]?.command_line).toEqual(['sh', '-c', 'echo "a,b"\nrm -rf /tmp/x', '\u009b31m', '\u2028']);
  });

  it('writes --output atomically, mode 0600', async () => {
    const path = join(root, 'out.ndjson');
    const {out, result} = await run({outputPath: path});
    expect(out).toBe('');
    expect(result.outputPath).toBe(path);
    expect(parseNdjson(readFileSync(path, 'utf8'))).toHaveLength(40);
  });

  it('leaves no output file when the input is unusable', async () => {
    const bad = join(root, 'bad.db');
    writeFileSync(bad, 'SQLite format 3\u0000 but not really');
    const path = join(root, 'never.ndjson');
    await expect(run({input: bad, outputPath: path})).rejects.toThrow(DaemonEyeError);
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(root).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('skips a corrupt file of a store, reporting it', async () => {
    const dir = join(root, 'one-bad');
    for (const scan of scans.slice(0, 2)) await appendToStore(dir, scan, makeProcesses(scan, 2));
    const bad = join(dir, storeFileName(makeScan(T0 + HOUR / 2, 1, 9)));
    writeFileSync(bad, Buffer.alloc(100, 1));
    const {out, result, problems} = await run({input: dir});
    expect(parseNdjson(out)).toHaveLength(4);
    expect(result.problems).toHaveLength(1);
    expect(problems[0]?.toOneLine()).toContain(bad);
  });

  it('refuses filters that do not apply to the table', async () => {
    await expect(run({table: 'scans', pid: 1})).rejects.toThrow(/--pid does not apply to --table scans/);
    await expect(run({table: 'alerts', name: 'x'})).rejects.toThrow(/--name does not apply to --table alerts/);
    await expect(run({since: T0 + HOUR, until: T0})).rejects.toThrow(/--since is later than --until/);
  });
});
