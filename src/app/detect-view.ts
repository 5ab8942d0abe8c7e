// How `detect` prints its result (src/output/view.ts): alerts as NDJSON/JSON (json adds the summary), a
// line each, a table, or ECS alert events / OCSF Detection Findings; suppressed alerts marked.
import type {PrintedAlert} from '../alerting/alert-manager.js';
import {alertColumns, alertLine} from '../detection/detection-view.js';
import type {AlertOrigin} from '../models/alert-evidence.js';
import {alertDocument, loadEcsOcsf} from '../output/alert-formats.js';
import {renderNdjsonLine} from '../output/render.js';
import {rowPieces, type View} from '../output/view.js';
import type {DetectRunResult} from './detect.js';

/**
 * How `detect` prints its result: NDJSON/JSON alerts (json adds the summary), a line each, or a table; the
 * human formats say what each alert found and what to run next, given where its processes are (`origin`).
 */
export function detectView(result: DetectRunResult, origin: AlertOrigin): View<PrintedAlert> {
  return {
    ...alertsView(result.printed, origin),
    document: {alerts: result.printed, summary: {...result.report.summary, ...result.delivery, ...result.visibility}},
  };
}

/**
 * The alerts alone, before the run's summary is known: what `detect` prints in a line format (NDJSON, text,
 * ECS, OCSF) before it delivers to the sinks. The JSON document is `{alerts}`.
 */
export function alertsView(printed: readonly PrintedAlert[], origin: AlertOrigin): View<PrintedAlert> {
  // Human formats say "[suppressed]" in the description; machine formats carry `"suppressed": true`.
  const marked = (a: PrintedAlert): PrintedAlert => (a.suppressed === true ? {...a, description: `[suppressed] ${a.description}`} : a);
  return {
    rows: printed,
    document: {alerts: printed},
    columns: alertColumns(origin).map((column) => ({...column, get: (a: PrintedAlert) => column.get(marked(a))})),
    text: {
      text: (rows, terminal) => rowPieces(rows, (a) => alertLine(marked(a), terminal.palette, origin)),
      ecs: (rows) => rowPieces(rows, (a) => renderNdjsonLine(alertDocument(a, 'ecs'))),
      ocsf: (rows) => rowPieces(rows, (a) => renderNdjsonLine(alertDocument(a, 'ocsf'))),
    },
    prepare: loadEcsOcsf,
  };
}
