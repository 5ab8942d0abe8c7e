// How `diff` prints (src/output/view.ts), and its one-line stderr summary.
import {ocsfProcessLaunch} from '../output/ocsf.js';
import {renderNdjsonLine} from '../output/render.js';
import {rowPieces, type View} from '../output/view.js';
import {type DiffResult, osqueryDifferential, type SnapshotDiff} from './snapshot-diff.js';

function detail(result: DiffResult): string {
  const c = result.columns;
  const text = (value: unknown): string => (Array.isArray(value) ? value.join(',') : value === null || value === undefined ? '' : String(value));
  switch (result.name) {
    case 'processes':
      return `${text(c.pid)} ${text(c.user_name) || text(c.uid)} ${text(c.cmdline) || `[${text(c.name)}]`}`;
    case 'new_executables':
      return `${text(c.executable_path)} ${text(c.executable_hash) || '(not hashed)'} pids ${text(c.pids)}`;
    case 'executable_hashes':
      return `${text(c.executable_path)} ${text(c.old_hashes)} → ${text(c.executable_hash)} pids ${text(c.pids)}`;
    case 'parent_child':
      return `${text(c.parent_executable)} → ${text(c.child_executable)} (pid ${text(c.parent_pid)} → ${text(c.child_pid)})`;
    case 'listening_ports':
      return `${text(c.protocol)} ${text(c.address)}:${text(c.port)} ${text(c.executable_path) || text(c.name)} pid ${text(c.pid)}`;
  }
}

/**
 * How `diff` prints (src/output/view.ts): one result per NDJSON line (`name`, `action`, `collection_time`,
 * `scan_id`, `columns`, `host`); `--format json` the whole diff (`old`, `new`, `results`, `counts`); a table of
 * ACTION, WHAT, DETAIL on a terminal; `--format osquery` each result in osquery's differential log envelope
 * (hostIdentifier, calendarTime, unixTime in seconds …); `--format ocsf` one OCSF Process Activity: Launch
 * event per process new since the older scan.
 */
export function diffView(diff: SnapshotDiff): View<DiffResult> {
  return {
    rows: diff.results,
    document: diff,
    columns: [
      {header: 'ACTION', get: (r: DiffResult) => r.action},
      {header: 'WHAT', get: (r: DiffResult) => r.name},
      {header: 'DETAIL', get: detail},
    ],
    text: {
      // OCSF has a class for a process new since the other scan (Process Activity: Launch); the other changes
      // (removed processes, new executables and hashes, ports) have none and are in the NDJSON output.
      ocsf: (rows) =>
        rowPieces(
          rows,
          (r) => renderNdjsonLine(ocsfProcessLaunch(r.columns, r.host, r.collection_time)),
          (r) => r.name === 'processes' && r.action === 'added',
        ),
      osquery: (rows) => rowPieces(rows, (r) => renderNdjsonLine(osqueryDifferential(r))),
    },
  };
}

/** One stderr line: what was compared and how much changed. */
export function diffSummaryLine(diff: SnapshotDiff): string {
  const counts = Object.entries(diff.counts)
    .map(([key, n]) => `${n} ${key.replace(':', ' ')}`)
    .join(', ');
  const ports = diff.compared_listening_ports ? '' : ' (listening ports not compared: a scan holds none)';
  const skipped = diff.skipped_files?.length ?? 0;
  const unusable = skipped === 0 ? '' : `; ${skipped} unusable file${skipped === 1 ? '' : 's'} skipped, named above`;
  return `scan ${diff.old.scan_id} (${diff.old.source}) → scan ${diff.new.scan_id} (${diff.new.source}): ${diff.results.length === 0 ? 'no changes' : counts}${ports}${unusable}`;
}
