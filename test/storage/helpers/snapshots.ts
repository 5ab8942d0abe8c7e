// Synthetic scans and process records for storage tests: realistic shapes via completeProcessRow.
import {createHash} from 'node:crypto';
import {readFileSync} from 'node:fs';

import {completeProcessRow} from '../../../src/models/process-fixture.js';
import type {ProcessRecord} from '../../../src/models/process.js';
import type {ScanRecord} from '../../../src/models/scan.js';

/** A scan id as the collector makes them: epoch ms × 1000 + 0–999. */
export function scanIdAt(time: number, salt = 0): number {
  return time * 1000 + (salt % 1000);
}

export function makeScan(time: number, processCount: number, salt = 0): ScanRecord {
  return {
    id: scanIdAt(time, salt),
    hostname: 'test-host',
    host_id: null,
    os: 'Debian GNU/Linux 12',
    kernel: '6.1.0',
    arch: 'x64',
    boot_time: time - 86_400_000,
    boot_id: '6e1f7c1a-3b8e-4c52-9d0a-1f2e3d4c5b6a',
    start_time: time,
    end_time: time + 40,
    process_count: processCount,
    collector: 'procfs',
    tool_version: '0.1.0',
    ld_so_preload: null,
    decorations: null,
    tables: ['processes'],
    errors: [],
  };
}

const NAMES = ['bash', 'sshd', 'nginx', 'postgres', 'node', 'python3', 'cron', 'systemd'];

/** `count` processes of one scan, with argv of realistic lengths. */
export function makeProcesses(scan: ScanRecord, count: number): ProcessRecord[] {
  return Array.from({length: count}, (_, i) => {
    const name = NAMES[i % NAMES.length] as string;
    return completeProcessRow(
      {
        pid: 100 + i,
        ppid: i === 0 ? 1 : 100,
        name,
        command_line: [`/usr/bin/${name}`, '--config', `/etc/${name}/${name}.conf`, `--worker-id=${i}`, ...(i % 3 === 0 ? ['--log-level', 'info'] : [])],
        uid: i % 4 === 0 ? 0 : 1000,
      },
      {scanId: scan.id, now: scan.start_time + 10},
    );
  });
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
