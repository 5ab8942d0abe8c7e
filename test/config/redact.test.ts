import {describe, expect, it} from 'vitest';

import {REDACTED, isSecretPath, redactSecrets, redactUrlCredentials} from '../../src/config/redact.js';
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

  it('leaves URLs without credentials alone', () => {
    expect(redactUrlCredentials('https://host:8088/services/collector')).toBe('https://host:8088/services/collector');
  });

  it('redacts every user:password@ of a text as the regular expression it replaced did', () => {
    const reference = (text: string): string => text.replace(/([a-z][a-z0-9+.-]*:\/\/[^/\s:@]*):[^/\s@]*@/gi, `$1:${REDACTED}@`);
    expect(redactUrlCredentials('git clone https://bob:s3cret@git.example/x.git && curl ftp://a:b@c/ d')).toBe(
      `git clone https://bob:${REDACTED}@git.example/x.git && curl ftp://a:${REDACTED}@c/ d`,
    );
    // Seeded random texts over the characters that matter.
    const alphabet = ['a', 'B', '1', '+', '.', '-', ':', '/', '@', ' ', '\t', '\u00a0', 'x', '://'];
    let seed = 22;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let round = 0; round < 20_000; round++) {
      const text = Array.from({length: 1 + random(24)}, () => alphabet[random(alphabet.length)]).join('');
      expect(redactUrlCredentials(text), JSON.stringify(text)).toBe(reference(text));
    }
  });

  it("takes time linear in the text (argv and environments are the attacker's)", () => {
    const hostile = [
      (n: number) => `${'a'.repeat(n)}://`,
      (n: number) => `a://${'b'.repeat(n)}:`,
      (n: number) => 'a://b:'.repeat(n / 6),
      (n: number) => `a://${':'.repeat(n)}`,
    ];
    // The regular expression it replaced took ≈ 100× at 10× the text (and minutes at this size).
    for (const make of hostile) {
      expectLinearTime((n) => {
        const text = make(n);
        return () => redactUrlCredentials(text);
      }, 100_000);
    }
  });
});
