// The human view of a snapshot: a `ps`-like table (pid, user, cpu, memory, name, command line), every
// cell terminal-safe, the command line cut to the terminal width. The ECS and OCSF mappings are loaded only
// for `--format ecs|ocsf` (the view's `prepare`).
import type {Host} from '../models/host.js';
import {type HostedProcessRecord, PROCESS_TABLE_COLUMN_NAMES, PROCESS_TABLE_COLUMNS, type ProcessRecord, processToRow} from '../models/process.js';
import {csvCells} from '../models/serialise.js';
import {ecsOcsf, loadEcsOcsf} from '../output/alert-formats.js';
import {renderNdjsonLine, renderTable, type TableColumn} from '../output/render.js';
import {rowPieces, type View} from '../output/view.js';

function memory(bytes: number | null): string {
  if (bytes === null) return '';
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)}G`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)}M`;
  return `${Math.round(bytes / 1024)}K`;
}

function user(record: ProcessRecord): string {
  const name = record.platform_data?.user_name;
  return typeof name === 'string' ? name : (record.user_id ?? '?');
}

function commandText(record: ProcessRecord): string {
  // Like ps: a process without argv (kernel threads, zombies) shows its name in brackets.
  return record.command_line.length === 0 ? `[${record.name}]` : record.command_line.join(' ');
}

/** The process table's columns (`scan --format table`). */
export const PROCESS_COLUMNS: readonly TableColumn<ProcessRecord>[] = [
  {header: 'PID', get: (r) => r.pid, align: 'right'},
  {header: 'USER', get: user, width: 12},
  {header: 'CPU%', get: (r) => (r.cpu_usage === null ? '' : r.cpu_usage.toFixed(1)), align: 'right'},
  {header: 'MEM', get: (r) => memory(r.memory_usage), align: 'right'},
  {header: 'NAME', get: (r) => r.name, width: 16},
  {header: 'COMMAND', get: commandText},
];

export function renderProcessTable(processes: readonly ProcessRecord[], terminalWidth?: number): string {
  return renderTable(processes, PROCESS_COLUMNS, terminalWidth);
}

/**
 * How `scan` prints processes: records with their `host` (NDJSON, JSON), the `ps`-like table, the flat
 * `processes` table as CSV with the host columns `host_id` and `hostname` last, or one ECS state event
 * (`ecs`) or OCSF Live Evidence Info event (`ocsf`) per line.
 */
export function processView(processes: readonly ProcessRecord[], host: Host | null): View<HostedProcessRecord> {
  return {
    rows: processes.map((p) => ({...p, host})),
    columns: PROCESS_COLUMNS,
    csv: {
      header: [...PROCESS_TABLE_COLUMN_NAMES, 'host_id', 'hostname'],
      values: (p) => [...csvCells(PROCESS_TABLE_COLUMNS, processToRow(p)), host?.id ?? null, host?.hostname ?? null],
    },
    text: {
      ecs: (rows) => rowPieces(rows, (p) => renderNdjsonLine(ecsOcsf().ecs.ecsProcessEvent(p, host))),
      ocsf: (rows) => rowPieces(rows, (p) => renderNdjsonLine(ecsOcsf().ocsf.ocsfEvidenceInfo(p, host))),
    },
    prepare: loadEcsOcsf,
  };
}
