// The built-in rule pack over a large host: the busy-server fixture replicated to ~10,000 processes (parent
// links kept inside each copy), `detect` with all rules against `detect` with one trivial rule on the same
// file (the fixed cost of start-up, loading and workers). Ratios, not absolute times.
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

import {snapshotFromRows} from '../src/detection/fixture-snapshot.js';
import {BUSY_SERVER_FILE, BUSY_SERVER_NOW} from '../test/fixtures/busy-server/generate.js';
import {BIN, report, timeCommand} from './lib.js';

export async function run(): Promise<void> {
  const fixture = JSON.parse(readFileSync(BUSY_SERVER_FILE, 'utf8')) as {processes: Record<string, unknown>[]};
  const copies = Math.ceil(10_000 / fixture.processes.length);
  const rows: Record<string, unknown>[] = [];
  for (let copy = 0; copy < copies; copy++) {
    const offset = copy * 100_000;
    for (const row of fixture.processes) {
      const ppid = row.ppid as number;
      rows.push({...row, pid: (row.pid as number) + offset, ppid: ppid <= 2 ? ppid : ppid + offset});
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'daemoneye-bench-rules-'));
  try {
    const snapshot = join(dir, 'host.db');
    writeFileSync(snapshot, await snapshotFromRows(rows, {scanId: BUSY_SERVER_NOW * 1000 + 1, now: BUSY_SERVER_NOW}));
    const env = {...process.env, HOME: dir, XDG_CONFIG_HOME: join(dir, 'c'), XDG_STATE_HOME: join(dir, 's')};
    const common = ['detect', '--input', snapshot, '--format', 'json', '--quiet'];
    const baseline = timeCommand('detect, 1 trivial rule', process.execPath, [BIN, ...common, '--rule', 'detached-shell'], {runs: 3, env});
    const pack = timeCommand('detect, whole built-in pack', process.execPath, [BIN, ...common], {runs: 3, env});
    report(`built-in rules over ${rows.length} processes`, [baseline, pack], baseline);
  } finally {
    rmSync(dir, {recursive: true, force: true});
  }
}
