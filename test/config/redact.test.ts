import {describe, expect, it} from 'vitest';

import {REDACTED, isSecretPath, redactSecrets, redactUrlCredentials} from '../../src/config/redact.js';

describe('secret redaction', () => {
  it('redacts header values, secrets and URL credentials', () => {
    const redacted = redactSecrets({
      alerting: {
        sinks: [{name: 'hook', url: 'https://user:hunter2@siem.example/x', headers: {Authorization: 'Bearer abc'}, hmac_secret: 's3cret'}],
      },
      crypto: {private_key_path: '/etc/daemoneye/private.key'},
    });
    expect(redacted.alerting.sinks[0]).toEqual({
      name: 'hook',
      url: `https://user:${REDACTED}@siem.example/x`,
      headers: {Authorization: REDACTED},
      hmac_secret: REDACTED,
    });
    expect(redacted.crypto.private_key_path).toBe('/etc/daemoneye/private.key');
  });

  it('knows which paths are secret', () => {
    expect(isSecretPath(['alerting', 'sinks', 0, 'headers', 'X-Anything'])).toBe(true);
    expect(isSecretPath(['alerting', 'sinks', 0, 'hmac_secret'])).toBe(true);
    expect(isSecretPath(['app', 'log_level'])).toBe(false);
  });

  it('leaves URLs without credentials alone', () => {
    expect(redactUrlCredentials('https://host:8088/services/collector')).toBe('https://host:8088/services/collector');
  });
});
