// The shapes an alert can leave in: DaemonEye's own record, an ECS alert event or an OCSF Detection Finding.
// One switch for every sink and command that offers the choice (file and webhook sinks, `detect --format`).
// The ECS and OCSF mappings are loaded only by a run that uses them (loadEcsOcsf, awaited first, also by the
// process views of `detect` and `scan`): a live detect or scan that prints and delivers DaemonEye's own
// records never evaluates them.
import type {Alert} from '../models/alert.js';
import type * as Ecs from './ecs.js';
import type * as Ocsf from './ocsf.js';

export const ALERT_SCHEMAS = ['native', 'ecs', 'ocsf'] as const;
export type AlertSchemaName = (typeof ALERT_SCHEMAS)[number];

let mappings: {ecs: typeof Ecs; ocsf: typeof Ocsf} | undefined;

/** Load the ECS and OCSF mappings (once per process) when `format` is `ecs` or `ocsf`; await before using them. */
export async function loadEcsOcsf(format: string = 'ecs'): Promise<void> {
  if (mappings !== undefined || (format !== 'ecs' && format !== 'ocsf')) return;
  const [ecs, ocsf] = await Promise.all([import('./ecs.js'), import('./ocsf.js')]);
  mappings = {ecs, ocsf};
}

/** The ECS and OCSF mappings loaded by loadEcsOcsf; throws Error (a programming error) before it resolved. */
export function ecsOcsf(): {ecs: typeof Ecs; ocsf: typeof Ocsf} {
  if (mappings === undefined) throw new Error('the ECS/OCSF mappings were used before loadEcsOcsf()');
  return mappings;
}

/**
 * The alert as a document of `schema`: itself (`native`), ECS (src/output/ecs.ts) or OCSF (src/output/ocsf.ts).
 * `ecs` and `ocsf` need loadEcsOcsf first.
 */
export function alertDocument(alert: Alert, schema: AlertSchemaName): unknown {
  if (schema === 'native') return alert;
  return schema === 'ecs' ? ecsOcsf().ecs.ecsAlertEvent(alert) : ecsOcsf().ocsf.ocsfDetectionFinding(alert);
}
