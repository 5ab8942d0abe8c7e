// How `audit show` prints ledger records: one record per NDJSON line, a JSON array, or a table.
import type {View} from '../output/view.js';
import type {ShownRecord} from './show.js';
import {formatTime} from '../util/time.js';

export function auditShowView(records: readonly ShownRecord[]): View<ShownRecord> {
  return {
    rows: records,
    columns: [
      {header: 'SEQ', get: (r) => r.seq, align: 'right'},
      {header: 'TIME', get: (r) => formatTime(r.time)},
      {header: 'TYPE', get: (r) => r.type},
      {header: 'ACTION', get: (r) => r.action},
      {header: 'ACTOR', get: (r) => r.actor},
      {header: 'PAYLOAD', get: (r) => JSON.stringify(r.payload)},
    ],
  };
}
