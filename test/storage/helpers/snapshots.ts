// Synthetic scans and process records for storage tests: realistic shapes via completeProcessRow.
import {createHash} from 'node:crypto';
import {readFileSync} from 'node:fs';

import type {CollectedRow, ProcessLibraryRow, ProcessOpenSocketRow} from '../../../src/models/live-tables.js';
import {completeProcessRow} from '../../../src/models/process-fixture.js';
import type {ProcessRecord} from '../../../src/models/process.js';
import type {ScanRecord} from '../../../src/models/scan.js';
import {createSnapshotDatabase, insertProcesses, insertScan} from '../../../src/storage/database.js';
import {insertTableRows, type TableRowsByName, writeSnapshotBytes} from '../../../src/storage/snapshot-file.js';

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

/** A TCP listener's process_open_sockets row, as a collector makes it. */
export function socket(pid: number, port: number): CollectedRow<ProcessOpenSocketRow> {
  const row = {fd: 3, socket: 9000 + port, family: 'AF_INET', protocol: 6, socket_type: 'STREAM', local_address: '0.0.0.0'} as const;
  return {...row, pid, local_port: port, remote_address: '0.0.0.0', remote_port: 0, state: 'LISTEN', path: null, net_ns: 4026531840};
}

/** A process_libraries row, as a collector makes it. */
export function library(pid: number, path: string, deleted: boolean): CollectedRow<ProcessLibraryRow> {
  return {pid, path, device: '08:01', inode: 77, start: '0x7f0000000000', end: '0x7f0000001000', deleted};
}

/** The tables the scans of multiScanFile collected. */
export const COLLECTED_LIVE = ['processes', 'process_open_sockets', 'listening_ports', 'process_libraries'];

/** One scan per entry, each with its collected rows (no scan_id: insertTableRows stamps it), in one file. */
export async function multiScanFile(path: string, scans: readonly {scan: ScanRecord; tables: TableRowsByName}[]): Promise<string> {
  const db = await createSnapshotDatabase();
  try {
    for (const {scan, tables} of scans) {
      insertScan(db, scan);
      insertProcesses(db, makeProcesses(scan, 2));
      insertTableRows(db, tables, scan.id);
    }
    writeSnapshotBytes(path, db.export());
    return path;
  } finally {
    db.close();
  }
}
