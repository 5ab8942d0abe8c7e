// Alert severities, ordered; lower case on the wire (docs/architecture.md, "Conventions").
import {z} from 'zod';

/** Lowest first. `informational` (Sigma's level for enrichment rules) sits below low: by default no sink takes it. */
export const ALERT_SEVERITIES = ['informational', 'low', 'medium', 'high', 'critical'] as const;
export const AlertSeveritySchema = z.enum(ALERT_SEVERITIES).describe('Alert severity: informational, low, medium, high or critical');
export type AlertSeverity = z.infer<typeof AlertSeveritySchema>;

/** 0 for informational … 4 for critical, so severities compare as numbers. */
export function severityRank(severity: AlertSeverity): number {
  return ALERT_SEVERITIES.indexOf(severity);
}

export function isAtLeast(severity: AlertSeverity, threshold: AlertSeverity): boolean {
  return severityRank(severity) >= severityRank(threshold);
}
