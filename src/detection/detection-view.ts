// Views of detection results: one line per alert (`detect --format text`), the alert table, the run
// summary written to stderr, and how `query` prints its rows.
import {DaemonEyeError} from '../errors.js';
import type {Alert} from '../models/alert.js';
import {alertEvidence, alertNextSteps, type AlertOrigin} from '../models/alert-evidence.js';
import type {Host} from '../models/host.js';
import {ALERT_SEVERITIES} from '../models/severity.js';
import {type Palette, PLAIN} from '../output/colour.js';
import {ecsOcsf, loadEcsOcsf} from '../output/alert-formats.js';
import {hasProcessPid} from '../output/process-facts.js';
import {renderNdjsonLine, renderTable, type TableColumn} from '../output/render.js';
import {terminalSafe} from '../output/terminal.js';
import {rowPieces, type View} from '../output/view.js';
import type {QueryReport} from './query.js';
import type {DetectReport} from './rules-over-snapshots.js';

/**
 * One alert for a human: `TIME SEVERITY rule: description [pid …] scan S`, then `  evidence: …` (what it
 * found: alertEvidence) and, given where the processes are, `  next: …` (the command lines to run next).
 */
export function alertLine(alert: Alert, palette: Palette = PLAIN, origin?: AlertOrigin): string {
  const pids = alert.affected_processes.slice(0, 10).join(', ') + (alert.affected_processes.length > 10 ? ', …' : '');
  const scan = alert.scan_id === null ? '' : ` scan ${alert.scan_id}`;
  const severity = palette.severity(alert.severity)(alert.severity.toUpperCase());
  const next = origin === undefined ? [] : alertNextSteps(alert, origin);
  return (
    `${new Date(alert.alert_time).toISOString()} ${severity} ${terminalSafe(`${alert.rule_id}: ${alert.description} [pid ${pids}]${scan}`)}\n` +
    `  evidence: ${terminalSafe(alertEvidence(alert))}\n` +
    (next.length === 0 ? '' : `  next: ${terminalSafe(next.join('; '))}\n`)
  );
}

/** The alert table's columns (`detect --format table`): given the origin, what to run next, and what each alert found. */
export function alertColumns(origin?: AlertOrigin): TableColumn<Alert>[] {
  return [
    {header: 'SEVERITY', get: (a) => a.severity, paint: (a, palette) => palette.severity(a.severity)},
    {header: 'RULE', get: (a) => a.rule_id, width: 40},
    {header: 'PIDS', get: (a) => a.affected_processes.join(','), width: 24},
    // NEXT before EVIDENCE: a command is only useful whole, so on a narrow terminal the evidence (last, fitted
    // to the width) is the column that gets cut.
    ...(origin === undefined ? [] : [{header: 'NEXT', get: (a: Alert) => alertNextSteps(a, origin)[0] ?? '', width: 100}]),
    {header: 'EVIDENCE', get: (a) => alertEvidence(a), width: 100},
  ];
}

export function alertTable(alerts: readonly Alert[], width?: number, palette: Palette = PLAIN, origin?: AlertOrigin): string {
  return renderTable(alerts, alertColumns(origin), width, palette);
}

/** The run summary lines (stderr): rules run, failed / timed out / not run ids, alerts by severity. */
export function summaryLines(report: DetectReport): string[] {
  const s = report.summary;
  const skipped = s.skipped.length === 0 ? '' : `, ${s.skipped.length} skipped`;
  const lines = [
    `${s.rules_run} rule${s.rules_run === 1 ? '' : 's'} run on ${s.source} (${s.rules_ok} ok${skipped}) in ${s.duration_ms} ms; ${s.alert_count} alert${s.alert_count === 1 ? '' : 's'}: ${[
      ...ALERT_SEVERITIES,
    ]
      .reverse()
      .map((sev) => `${s.alerts_by_severity[sev]} ${sev}`)
      .join(', ')}`,
  ];
  for (const result of report.results) {
    if (result.status === 'error') lines.push(`rule ${result.rule_id} failed: ${result.error ?? ''}`);
    if (result.status === 'timeout') lines.push(`rule ${result.rule_id} timed out: ${result.error ?? ''}`);
    // A rule skipped for want of a table is a warning; one waiting for --baseline is normal (src/app/detect.ts says it).
    if (result.status === 'skipped' && (result.missing_tables ?? []).length > 0) lines.push(`rule ${result.rule_id} not run: ${result.error ?? ''}`);
    else if (result.status !== 'skipped' && (result.missing_tables ?? []).length > 0) {
      lines.push(`rule ${result.rule_id} ran only on the scans holding ${(result.missing_tables ?? []).join(', ')}: the others did not collect it`);
    }
  }
  if (s.not_run.length > 0) lines.push(`rules not run (run deadline): ${s.not_run.join(', ')}`);
  if (s.truncated.length > 0) lines.push(`rules whose results were cut at the row limit: ${s.truncated.join(', ')}`);
  return lines.map((line) => terminalSafe(line));
}

/** How `query` prints its rows: records (NDJSON, JSON), a table or CSV, columns in the query's order. */
export function queryView(report: QueryReport): View<QueryReport['rows'][number]> {
  return {
    rows: report.rows,
    columns: report.columns.map((c) => ({header: c, get: (row) => row[c], width: 60})),
    csv: {header: report.columns, values: (row) => report.columns.map((c) => row[c])},
    text: {
      ecs: (rows) => processEvents(rows, ecsOcsf().ecs.ecsProcessEvent),
      ocsf: (rows) => processEvents(rows, ecsOcsf().ocsf.ocsfEvidenceInfo),
    },
    prepare: loadEcsOcsf,
  };
}

type ProcessEventOf = (row: Readonly<Record<string, unknown>>, host: Host | null) => Record<string, unknown> | null;

/**
 * Query rows as process events of ECS or OCSF, an NDJSON line each; a row without a numeric pid cannot be one:
 * refused (exit 2) before the first line is printed.
 */
function processEvents(rows: readonly Readonly<Record<string, unknown>>[], render: ProcessEventOf): Iterable<string> {
  if (!rows.every(hasProcessPid)) {
    throw new DaemonEyeError('USAGE', '--format ecs and ocsf print processes: every row needs a numeric pid column', {
      hint: 'select pid (and name, executable_path, cmdline, … as docs/schema.md names them) from processes, or use --format ndjson',
    });
  }
  return rowPieces(rows, (row) => renderNdjsonLine(render(row, (row.host as Host | null | undefined) ?? null)));
}
