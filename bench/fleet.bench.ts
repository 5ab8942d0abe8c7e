// Fleet outputs: ECS and OCSF rendering of 10,000 processes against plain NDJSON (in process, and through
// `export`), and Parquet export of a 10,000-process snapshot against NDJSON export of the same file. Targets
// (issue of the fleet work): ECS/OCSF within 1.5× of NDJSON, Parquet within 2× of NDJSON export.
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

import {hostOfScan} from '../src/models/host.js';
import {ecsProcessEvent} from '../src/output/ecs.js';
import {ocsfEvidenceInfo} from '../src/output/ocsf.js';
import {safeJson} from '../src/output/terminal.js';
import {writeSnapshotFile} from '../src/storage/index.js';
import {BIN, privateEnv, report, timeCommand} from './lib.js';
import {processesOf, scanAt, timeInProcess} from './store.bench.js';

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'daemoneye-bench-fleet-'));
  try {
    const scan = scanAt(Date.UTC(2026, 0, 3), 10_000, 3);
    const records = processesOf(scan, 10_000);
    const host = hostOfScan(scan);
    const withHost = records.map((r) => ({...r, host}));

    // 1. Rendering alone: the same 10,000 records (with their host) as NDJSON, ECS and OCSF lines.
    const ndjson = await timeInProcess('render 10,000 as NDJSON (baseline)', 7, () => {
      withHost.map((r) => `${safeJson(r)}\n`).join('');
    });
    const ecs = await timeInProcess('render 10,000 as ECS', 7, () => {
      withHost.map((r) => `${safeJson(ecsProcessEvent(r, host))}\n`).join('');
    });
    const ocsf = await timeInProcess('render 10,000 as OCSF (5040)', 7, () => {
      withHost.map((r) => `${safeJson(ocsfEvidenceInfo(r, host))}\n`).join('');
    });
    report('fleet: ECS and OCSF rendering of 10,000 processes (target: within 1.5× of NDJSON)', [ndjson, ecs, ocsf], ndjson);

    // 2. Through the CLI: export of a 10,000-process snapshot as NDJSON, ECS, OCSF and Parquet (start-up included).
    const snapshot = join(dir, 'snapshot-10k.db');
    await writeSnapshotFile(snapshot, scan, records);
    const env = privateEnv(join(dir, 'home'));
    const runs = 5;
    const exportNdjson = timeCommand('export --format ndjson (baseline)', process.execPath, [BIN, 'export', '--input', snapshot, '--no-audit'], {runs, env});
    const exportEcs = timeCommand('export --format ecs', process.execPath, [BIN, 'export', '--input', snapshot, '--format', 'ecs', '--no-audit'], {runs, env});
    const exportOcsf = timeCommand('export --format ocsf', process.execPath, [BIN, 'export', '--input', snapshot, '--format', 'ocsf', '--no-audit'], {
      runs,
      env,
    });
    const exportParquet = timeCommand(
      'export --format parquet (processes)',
      process.execPath,
      [BIN, 'export', '--input', snapshot, '--format', 'parquet', '--table', 'processes', '--output', join(dir, 'lake'), '--no-audit'],
      {runs, env},
    );
    report(
      'fleet: export a 10,000-process snapshot (targets: ECS/OCSF within 1.5×, Parquet within 2× of NDJSON)',
      [exportNdjson, exportEcs, exportOcsf, exportParquet],
      exportNdjson,
    );
  } finally {
    rmSync(dir, {recursive: true, force: true});
  }
}
