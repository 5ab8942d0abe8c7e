import {describe, expect, it} from 'vitest';

import {ALERT_SEVERITIES, AlertSeveritySchema, isAtLeast, severityRank} from '../../src/models/severity.js';

describe('alert severities', () => {
  it("orders informational (Sigma's enrichment level) below low", () => {
    expect(ALERT_SEVERITIES).toEqual(['informational', 'low', 'medium', 'high', 'critical']);
    expect(severityRank('informational')).toBeLessThan(severityRank('low'));
    expect(isAtLeast('informational', 'low')).toBe(false);
    expect(isAtLeast('low', 'informational')).toBe(true);
    expect(AlertSeveritySchema.parse('informational')).toBe('informational');
  });
});
