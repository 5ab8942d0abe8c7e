// The shapes an alert can leave in: DaemonEye's own record, an ECS alert event or an OCSF Detection Finding.
// One switch for every sink and command that offers the choice (file and webhook sinks, `detect --format`).
import type {Alert} from '../models/alert.js';
import {ecsAlertEvent} from './ecs.js';
import {ocsfDetectionFinding} from './ocsf.js';

export const ALERT_SCHEMAS = ['native', 'ecs', 'ocsf'] as const;
export type AlertSchemaName = (typeof ALERT_SCHEMAS)[number];

/** The alert as a document of `schema`: itself (`native`), ECS (src/output/ecs.ts) or OCSF (src/output/ocsf.ts). */
export function alertDocument(alert: Alert, schema: AlertSchemaName): unknown {
  switch (schema) {
    case 'native':
      return alert;
    case 'ecs':
      return ecsAlertEvent(alert);
    case 'ocsf':
      return ocsfDetectionFinding(alert);
  }
}
