// Test-only writer standing in for `scan --output FILE` / `scan --store DIR`: builds a synthetic scan of
// COUNT processes with the library (from dist/, so run `npm run build` first), writes it, and prints the
// records as NDJSON on stdout, as `scan` does.
// Usage: node write-snapshot.mjs file PATH COUNT [START_MS] | node write-snapshot.mjs store DIR COUNT [START_MS]
import {completeProcessRow} from '../../../dist/src/models/process-fixture.js';
import {appendToStore, writeSnapshotFile} from '../../../dist/src/storage/index.js';

const [mode, target, countText, startText] = process.argv.slice(2);
const count = Number(countText);
const start = startText === undefined ? Date.now() : Number(startText);
const scanId = start * 1000 + Math.floor(Math.random() * 1000);
const names = ['bash', 'sshd', 'nginx', 'postgres', 'node', 'python3'];
const processes = Array.from({length: count}, (_, i) =>
  completeProcessRow(
    {pid: 100 + i, name: names[i % names.length], command_line: [`/usr/bin/${names[i % names.length]}`, '--config', `/etc/app/${i}.conf`, `--id=${i}`]},
    {scanId, now: start},
  ),
);
const scan = {
  id: scanId,
  hostname: 'test-host',
  host_id: null,
  os: null,
  kernel: null,
  arch: null,
  boot_time: null,
  boot_id: null,
  start_time: start,
  end_time: start + 1,
  process_count: count,
  collector: 'procfs',
  tool_version: '0.1.0',
  ld_so_preload: null,
  decorations: null,
  tables: ['processes'],
  errors: [],
};
if (mode === 'file') await writeSnapshotFile(target, scan, processes);
else await appendToStore(target, scan, processes);
process.stdout.write(processes.map((p) => `${JSON.stringify(p)}\n`).join(''));
