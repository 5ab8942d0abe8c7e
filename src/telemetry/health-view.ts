// How `health` prints its result (src/output/view.ts).
import type {View} from '../output/view.js';
import {type ComponentHealth, type HealthState, worseState} from './health.js';

/** How `health` prints its result: one record per component (NDJSON, table), or the whole status as JSON. */
export function healthView(components: readonly ComponentHealth[], checkedAt: number = Date.now()): View<ComponentHealth> {
  const status = components.reduce<HealthState>((worst, c) => worseState(worst, c.status), 'healthy');
  return {
    rows: components,
    document: {status, checked_at: checkedAt, components: Object.fromEntries(components.map((c) => [c.component, c]))},
    columns: [
      {header: 'COMPONENT', get: (c) => c.component},
      {header: 'STATUS', get: (c) => c.status, paint: (c, palette) => palette.health(c.status)},
      {header: 'REASON', get: (c) => c.reason},
    ],
  };
}
