// Human lines for a run's delivery summary (stderr): one per sink, with its delivered, pending and dropped counts.
import {terminalSafe} from '../output/terminal.js';
import type {View} from '../output/view.js';
import type {DeliverySummary, SinkDelivery} from './types.js';

export function deliverySummaryLines(summary: DeliverySummary): string[] {
  // Suppressed alerts are said once, by the AlertManager as it suppresses them (with the window).
  const lines: string[] = [];
  for (const d of summary.deliveries) {
    const redelivered = d.redelivered > 0 ? ` (${d.redelivered} from the spool)` : '';
    const pending = d.pending > 0 ? `, ${d.pending} pending in the spool` : '';
    const dropped = d.dropped > 0 ? `, ${d.dropped} dropped (spool full)` : '';
    const lost = d.lost > 0 ? `, ${d.lost} LOST (neither delivered nor saved: the state directory could not be written)` : '';
    const status = d.ok ? 'ok' : `FAILED: ${d.error ?? 'not delivered'}`;
    lines.push(
      `sink ${d.sink} (${d.type ?? 'no longer configured'}): ${status}; ${d.delivered} delivered${redelivered}${pending}${dropped}${lost} in ${d.duration_ms} ms, ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}`,
    );
  }
  return lines.map((line) => terminalSafe(line));
}

/** How `alerts deliver` prints its result: one record per sink (NDJSON, table), or the whole summary as JSON. */
export function deliveryView(summary: DeliverySummary): View<SinkDelivery> {
  return {
    rows: summary.deliveries,
    document: summary,
    columns: [
      {header: 'SINK', get: (d) => d.sink},
      {header: 'TYPE', get: (d) => d.type},
      {header: 'OK', get: (d) => (d.ok ? 'yes' : 'no')},
      {header: 'DELIVERED', get: (d) => d.delivered, align: 'right'},
      {header: 'PENDING', get: (d) => d.pending, align: 'right'},
      {header: 'DROPPED', get: (d) => d.dropped, align: 'right'},
      {header: 'LOST', get: (d) => d.lost, align: 'right'},
      {header: 'ERROR', get: (d) => d.error ?? ''},
    ],
  };
}
