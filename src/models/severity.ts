// Alert severities, ordered; lower case on the wire (docs/architecture.md, "Conventions").
import {z} from 'zod';

export const ALERT_SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export const AlertSeveritySchema = z.enum(ALERT_SEVERITIES).describe('Alert severity: low, medium, high or critical');
export type AlertSeverity = z.infer<typeof AlertSeveritySchema>;

/** 0 for low … 3 for critical, so severities compare as numbers. */
export function severityRank(severity: AlertSeverity): number {
  return ALERT_SEVERITIES.indexOf(severity);
}

export function isAtLeast(severity: AlertSeverity, threshold: AlertSeverity): boolean {
  return severityRank(severity) >= severityRank(threshold);
}
