// Event store: writing a 10,000-process snapshot, exporting 100,000 rows against `sqlite3 -json` on the
// same file, a time-range export over a 200-scan store against a 20-scan store (same files in range), and
// the peak RSS of exporting the whole 200-scan store. Synthetic records via completeProcessRow.
import {copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

import {completeProcessRow} from '../src/models/process-fixture.js';
import type {ProcessRecord} from '../src/models/process.js';
import type {ScanRecord} from '../src/models/scan.js';
import {listStoreFiles, serializeSnapshot, storeFileName, writeSnapshotBytes, writeSnapshotFile} from '../src/storage/index.js';
import {BIN, median, report, type Timing, timeCommand} from './lib.js';

const NAMES = ['bash', 'sshd', 'nginx', 'postgres', 'node', 'python3', 'containerd-shim', 'systemd-journal'];

export function scanAt(time: number, count: number, salt: number): ScanRecord {
  return {
    id: time * 1000 + (salt % 1000),
    hostname: 'bench-host',
    host_id: null,
    os: 'Debian GNU/Linux 12',
    kernel: '6.1.0',
    arch: 'x64',
    boot_time: time - 86_400_000,
    boot_id: null,
    start_time: time,
    end_time: time + 150,
    process_count: count,
    collector: 'procfs',
    tool_version: '0.1.0',
    ld_so_preload: null,
    decorations: null,
    tables: ['processes'],
    errors: [],
  };
}

/** Processes with argv of realistic lengths (a few short flags to long JVM/node command lines). */
export function processesOf(scan: ScanRecord, count: number): ProcessRecord[] {
  return Array.from({length: count}, (_, i) => {
    const name = NAMES[i % NAMES.length] as string;
    const extra = i % 10 === 0 ? Array.from({length: 20}, (_, k) => `--option-${k}=/opt/${name}/lib/module-${k}.jar`) : [];
    return completeProcessRow(
      {pid: 2 + i, name, command_line: [`/usr/bin/${name}`, '--config', `/etc/${name}/${name}.conf`, `--worker=${i}`, ...extra], uid: i % 3 === 0 ? 0 : 1000},
      {scanId: scan.id, now: scan.start_time + 20},
    );
  });
}

export function timeInProcess(label: string, runs: number, fn: () => Promise<void> | void): Promise<Timing> {
  return (async () => {
    const samples: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i <= runs; i++) {
      const start = process.hrtime.bigint();
      const startCpu = process.cpuUsage();
      await fn();
      const used = process.cpuUsage(startCpu);
      if (i > 0) {
        samples.push(Number(process.hrtime.bigint() - start) / 1e6);
        cpu.push((used.user + used.system) / 1000);
      }
    }
    return {label, medianMs: median(samples), minMs: Math.min(...samples), runs, cpuMs: median(cpu)};
  })();
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'daemoneye-bench-store-'));
  try {
    // 1. Writing a 10,000-process snapshot, against writing the same records as NDJSON.
    const scan10k = scanAt(Date.UTC(2026, 0, 1), 10_000, 1);
    const records10k = processesOf(scan10k, 10_000);
    const ndjson = await timeInProcess('write 10,000 records as NDJSON (baseline)', 5, () =>
      writeFileSync(join(dir, 'records.ndjson'), records10k.map((r) => `${JSON.stringify(r)}\n`).join('')),
    );
    const snapshot = await timeInProcess('writeSnapshotFile, 10,000 processes', 5, async () => {
      await writeSnapshotFile(join(dir, 'snapshot-10k.db'), scan10k, records10k);
    });
    report('store: write a 10,000-process snapshot', [ndjson, snapshot], ndjson);

    // 2. Exporting 100,000 rows as NDJSON, against sqlite3 -json on the same file (start-up included).
    const scan100k = scanAt(Date.UTC(2026, 0, 2), 100_000, 2);
    const big = join(dir, 'snapshot-100k.db');
    writeSnapshotBytes(big, await serializeSnapshot(scan100k, processesOf(scan100k, 100_000)));
    const sqlite = timeCommand('sqlite3 -json (all columns)', 'sqlite3', ['-json', big, 'SELECT * FROM processes'], {runs: 3});
    const exported = timeCommand('daemoneye export (ndjson)', process.execPath, [BIN, 'export', '--input', big], {runs: 3});
    report('store: export 100,000 rows', [sqlite, exported], sqlite);

    // 3. A time-range export over 200 scans against 20 scans, the same 10 files in range.
    const store200 = join(dir, 'store-200');
    const store20 = join(dir, 'store-20');
    mkdirSync(store200, {mode: 0o700});
    mkdirSync(store20, {mode: 0o700});
    const start = Date.UTC(2026, 1, 1);
    const interval = 15 * 60_000;
    for (let i = 0; i < 200; i++) {
      const scan = scanAt(start + i * interval, 400, i);
      writeSnapshotBytes(join(store200, storeFileName(scan)), await serializeSnapshot(scan, processesOf(scan, 400)));
    }
    for (const file of listStoreFiles(store200).slice(-20)) copyFileSync(file.path, join(store20, file.name));
    const since = String(start + 190 * interval);
    const range20 = timeCommand('export --since (10 of 20 scans)', process.execPath, [BIN, 'export', '--input', store20, '--since', since], {runs: 5});
    const range200 = timeCommand('export --since (10 of 200 scans)', process.execPath, [BIN, 'export', '--input', store200, '--since', since], {runs: 5});
    report('store: time-range query, cost follows files in range', [range20, range200], range20);

    // 4. Peak RSS of exporting the whole 200-scan store (80,000 rows), one file at a time.
    const all = timeCommand('export all 200 scans (80,000 rows)', process.execPath, [BIN, 'export', '--input', store200], {runs: 2});
    report('store: export a 200-scan store (target: peak RSS under 200 MB)', [all]);
  } finally {
    rmSync(dir, {recursive: true, force: true});
  }
}
