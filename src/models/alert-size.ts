// A bound on the size of one alert, whatever the process put in its argv or environment: a 1 MB argv must
// not become a 1 MB webhook POST, spool entry or file-sink line. The rule's result rows (`alert_data`)
// are cut: the longest text values first, each ending with a marker saying how much was cut, then whole
// rows past the first when text alone cannot fit. The full rows stay in the snapshot (`query`, `collect`).
import type {Alert} from './alert.js';

/** Default `alerting.max_alert_bytes`: an alert's JSON is at most this long (UTF-8 bytes). */
export const DEFAULT_MAX_ALERT_BYTES = 65_536;

/** The marker that ends a cut value: `…[cut: 1048000 bytes]` (the UTF-8 bytes removed). */
export function cutMarker(bytesRemoved: number): string {
  return `…[cut: ${bytesRemoved} bytes]`;
}

const bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');

/** `text` cut to at most `max` UTF-8 bytes, never inside a character, with the marker appended. */
function cutText(text: string, max: number): string {
  const encoded = Buffer.from(text, 'utf8');
  let end = Math.max(0, max);
  while (end > 0 && ((encoded[end] ?? 0) & 0xc0) === 0x80) end--;
  return `${encoded.subarray(0, end).toString('utf8')}${cutMarker(encoded.length - end)}`;
}

/** Every string inside `value` (rows, arrays such as command_line), with a setter to replace it. */
function strings(value: unknown, out: {get: () => string; set: (s: string) => void}[]): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      if (typeof item === 'string') out.push({get: () => value[index] as string, set: (s) => (value[index] = s)});
      else strings(item, out);
    });
  } else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const item = record[key];
      if (typeof item === 'string') out.push({get: () => record[key] as string, set: (s) => (record[key] = s)});
      else strings(item, out);
    }
  }
}

/** Room for a marker and the worst rounding of one cut value, in bytes. */
const MARKER_ROOM = 40;

/** The JSON length of a string's content (escapes included), in UTF-8 bytes. */
const jsonLength = (text: string): number => Buffer.byteLength(JSON.stringify(text), 'utf8') - 2;

/**
 * `alert` with its JSON at most `maxBytes` long (UTF-8), or the alert itself when it fits. When the rows'
 * structure alone (every text value empty) takes over half of `maxBytes`, rows after the first are dropped
 * until it does not, and `alert_data.rows_omitted` says how many. Then the room left is shared among the
 * text values of `alert_data` (water-filling: a short value keeps all it has, the long ones share the rest
 * equally), each cut value ending with cutMarker. `alert_data.cut` is true on a cut alert. The alert's other
 * fields (ids, pids, title, description) are kept whole; an alert whose own fields pass `maxBytes` is
 * returned with its rows cut as far as they go.
 */
export function boundAlertSize(alert: Alert, maxBytes: number = DEFAULT_MAX_ALERT_BYTES): Alert {
  if (bytes(alert) <= maxBytes) return alert;
  const data = structuredClone(alert.alert_data) as {processes?: unknown[]; rows_omitted?: number; cut?: boolean} | null;
  if (typeof data !== 'object' || data === null) return alert;
  const bounded: Alert = {...alert, alert_data: data};
  data.cut = true;
  const emptied = (): number => {
    const probe = structuredClone(data);
    const values: {get: () => string; set: (s: string) => void}[] = [];
    strings(probe, values);
    for (const value of values) value.set('');
    return bytes({...alert, alert_data: probe});
  };
  // Many rows: keep the first (the evidence the views show) and as many more as leave room for their text.
  if (Array.isArray(data.processes) && data.processes.length > 1) {
    const rows = data.processes;
    let kept = rows.length;
    while (kept > 1 && emptied() > maxBytes / 2) {
      kept = Math.max(1, Math.floor(kept / 2));
      data.processes = rows.slice(0, kept);
      data.rows_omitted = rows.length - kept;
    }
  }
  const values: {get: () => string; set: (s: string) => void}[] = [];
  strings(data, values);
  const originals = values.map((value) => value.get());
  let room = maxBytes - emptied() - values.length * MARKER_ROOM;
  // Water-filling, shortest first: each value gets what it has, or an equal share of what is left.
  const order = originals.map((text, index) => ({index, length: jsonLength(text)})).sort((a, b) => a.length - b.length);
  const allotted = new Array<number>(values.length).fill(0);
  order.forEach(({index, length}, position) => {
    const share = Math.max(0, Math.floor(room / (order.length - position)));
    allotted[index] = Math.min(length, share);
    room -= allotted[index] as number;
  });
  values.forEach((value, index) => {
    const text = originals[index] as string;
    const length = jsonLength(text);
    const give = allotted[index] as number;
    if (give >= length) return;
    // Allotted in JSON bytes; cut in UTF-8 bytes, scaled for the escapes the text needs.
    value.set(cutText(text, Math.floor((give * Buffer.byteLength(text, 'utf8')) / Math.max(1, length))));
  });
  return bounded;
}
