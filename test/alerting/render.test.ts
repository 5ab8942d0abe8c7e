import {describe, expect, it} from 'vitest';

import {deliverySummaryLines} from '../../src/alerting/delivery-view.js';

describe('deliverySummaryLines', () => {
  it('says per sink what was delivered, what failed, what is pending and what was lost, terminal-safe; suppression is said by the AlertManager, not again here', () => {
    const lines = deliverySummaryLines({
      delivered: 3,
      suppressed: 2,
      spooled: 4,
      dropped: 1,
      lost: 2,
      state_errors: ['cannot write /var/lib/daemoneye/alerts/spool/siem.json: no space left on device (free disk space)'],
      deliveries: [
        {
          sink: 'file',
          type: 'file',
          ok: true,
          attempts: 1,
          duration_ms: 3,
          status: null,
          error: null,
          delivered: 3,
          redelivered: 1,
          pending: 0,
          dropped: 0,
          lost: 0,
        },
        {
          sink: 'siem',
          type: 'webhook',
          ok: false,
          attempts: 4,
          duration_ms: 900,
          status: 503,
          error: 'answered HTTP 503\u001b[2J',
          delivered: 0,
          redelivered: 0,
          pending: 4,
          dropped: 1,
          lost: 2,
        },
      ],
    });
    expect(lines).toEqual([
      'sink file (file): ok; 3 delivered (1 from the spool) in 3 ms, 1 attempt',
      'sink siem (webhook): FAILED: answered HTTP 503\\x1b[2J; 0 delivered, 4 pending in the spool, 1 dropped (spool full), 2 LOST (neither delivered nor saved: the state directory could not be written) in 900 ms, 4 attempts',
    ]);
  });
});
