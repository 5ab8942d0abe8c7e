// Human lines for a run's delivery summary (stderr): one per sink, plus suppressed and dropped counts.
import {terminalSafe} from '../output/terminal.js';
import type {DeliverySummary} from './types.js';

export function deliverySummaryLines(summary: DeliverySummary): string[] {
  const lines: string[] = [];
  if (summary.suppressed > 0)
    lines.push(`${summary.suppressed} alert${summary.suppressed === 1 ? '' : 's'} suppressed (already sent within the dedupe window)`);
  for (const d of summary.deliveries) {
    const redelivered = d.redelivered > 0 ? ` (${d.redelivered} from the spool)` : '';
    const pending = d.pending > 0 ? `, ${d.pending} pending in the spool` : '';
    const dropped = d.dropped > 0 ? `, ${d.dropped} dropped (spool full)` : '';
    const status = d.ok ? 'ok' : `FAILED: ${d.error ?? 'not delivered'}`;
    lines.push(
      `sink ${d.sink} (${d.type}): ${status}; ${d.delivered} delivered${redelivered}${pending}${dropped} in ${d.duration_ms} ms, ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}`,
    );
  }
  return lines.map((line) => terminalSafe(line));
}
