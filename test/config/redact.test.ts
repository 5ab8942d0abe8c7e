import {describe, expect, it} from 'vitest';

import {configValueKind, isSecretPath, redactConfigValue, redactSecrets, secretValues} from '../../src/config/redact.js';
import {REDACTED} from '../../src/redaction/policy.js';
import {redactText} from '../../src/redaction/redact.js';
import {expectLinearTime} from '../helpers/linear-time.js';

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

  it('leaves URLs without credentials alone, and redacts secret query values', () => {
    expect(redactConfigValue(['alerting', 'sinks', 0, 'url'], 'https://host:8088/services/collector')).toBe('https://host:8088/services/collector');
    expect(redactConfigValue(['alerting', 'sinks', 0, 'url'], 'https://host/in?token=abc&x=1')).toBe(`https://host/in?token=${REDACTED}&x=1`);
  });

  it('gives each key a kind: secret, url or text', () => {
    expect(configValueKind(['alerting', 'sinks', 0, 'headers', 'Authorization'])).toBe('secret');
    expect(configValueKind(['alerting', 'sinks', 0, 'url'])).toBe('url');
    expect(configValueKind(['app', 'state_dir'])).toBe('text');
    // A value of a list named for a secret (redaction.flags is a list of words, not secrets) is text.
    expect(configValueKind(['collection', 'redaction', 'flags', 0])).toBe('text');
  });

  it('a secret that is not a string is replaced too', () => {
    expect(redactSecrets({sink: {hmac_secret: 12345, port: 80}})).toEqual({sink: {hmac_secret: REDACTED, port: 80}});
  });

  it('lists the secret values a message could quote: headers, tokens after a scheme, URL passwords, query secrets', () => {
    const values = {
      alerting: {
        sinks: [
          {url: 'https://bob:p%40ss%21@h/x?token=QTOKEN99&page=2', headers: {Authorization: 'Bearer abcdef123'}, hmac_secret: 'hmackey1'},
          {url: 'not a url'},
        ],
      },
      app: {log_level: 'info'},
    };
    expect(new Set(secretValues(values))).toEqual(new Set(['Bearer abcdef123', 'abcdef123', 'hmackey1', 'p%40ss%21', 'p@ss!', 'QTOKEN99']));
  });

  it('redacts every user:password@ of a text (the redaction policy, src/redaction)', () => {
    expect(redactText('git clone https://bob:s3cret@git.example/x.git && curl ftp://a:b@c/ d')).toBe(
      `git clone https://bob:${REDACTED}@git.example/x.git && curl ftp://a:${REDACTED}@c/ d`,
    );
  });

  it("takes time linear in the text (argv and environments are the attacker's)", () => {
    const hostile = [
      (n: number) => `${'a'.repeat(n)}://`,
      (n: number) => `a://${'b'.repeat(n)}:`,
      (n: number) => 'a://b:'.repeat(n / 6),
      (n: number) => `a://${':'.repeat(n)}`,
    ];
    // The regular expression the policy replaced took ≈ 100× at 10× the text (and minutes at this size).
    for (const make of hostile) {
      expectLinearTime((n) => {
        const text = make(n);
        return () => redactText(text);
      }, 100_000);
    }
  });
});
