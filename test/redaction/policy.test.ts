import {describe, expect, it} from 'vitest';

import {PRIVATE_KEY_BEGIN, REDACTED, SECRET_WORDS, TOKEN_RULES} from '../../src/redaction/policy.js';
import {anyLiteral, applyTokenRule, DEFAULT_REDACTOR, nameParts, Redactor, Scrubber} from '../../src/redaction/redact.js';

describe('the token rules', () => {
  it.each(TOKEN_RULES.map((rule) => [rule.id, rule] as const))('%s redacts its example, which holds one of its literals', (_id, rule) => {
    expect(rule.pattern.global).toBe(true);
    const haystack = rule.pattern.ignoreCase ? rule.example.toLowerCase() : rule.example;
    expect(rule.literals.some((literal) => haystack.includes(rule.pattern.ignoreCase ? literal.toLowerCase() : literal))).toBe(true);
    const out = applyTokenRule(rule.example, rule);
    expect(out).toContain(REDACTED);
    // And every kind of value redacts it too.
    expect(DEFAULT_REDACTOR.text(`x ${rule.example} y`)).not.toContain(rule.example);
  });

  it('have unique ids', () => {
    expect(new Set(TOKEN_RULES.map((r) => r.id)).size).toBe(TOKEN_RULES.length);
  });

  it('the private-key marker is global', () => {
    expect(PRIVATE_KEY_BEGIN.global).toBe(true);
  });
});

describe('secret names', () => {
  it('splits names into parts', () => {
    expect(nameParts('--db-password')).toEqual(['db', 'password']);
    expect(nameParts('dbPassword')).toEqual(['db', 'password']);
    expect(nameParts('APIKey')).toEqual(['api', 'key']);
    expect(nameParts('-Ddb.Password')).toEqual(['ddb', 'password']);
  });

  it.each([
    ['password', true],
    ['DB_PASSWORD', true],
    ['PGPASSWORD', true],
    ['x-api-key', true],
    ['apiKey', true],
    ['AccountKey', true],
    ['aws_secret_access_key', true],
    ['client_secret', true],
    ['hmac_secret', true],
    ['auth', true],
    ['SECRET_KEY_BASE', true],
    ['no-password', false],
    ['passwordless', false],
    ['bypass', false],
    ['tokens', false],
    ['password-file', false],
    ['SSH_AUTH_SOCK', false],
    ['AWS_ACCESS_KEY_ID', false],
    ['token-ttl', false],
    ['author', false],
    ['oauth', false],
    ['keyboard', false],
    ['path', false],
  ])('%s → %s', (name, secret) => {
    expect(DEFAULT_REDACTOR.isSecretName(name)).toBe(secret);
  });

  it('a configured word list replaces the defaults', () => {
    const custom = new Redactor({words: ['vault-code'], shortFlags: {mytool: ['-k']}});
    expect(custom.argv(['x', '--vault-code', 'v', '--password', 'p'])).toEqual(['x', '--vault-code', REDACTED, '--password', 'p']);
    expect(custom.argv(['mytool', '-ksecret'])).toEqual(['mytool', `-k${REDACTED}`]);
    // Token shapes and URL passwords are not words: they stay redacted.
    expect(custom.argv(['git', 'https://a:b@h/'])).toEqual(['git', `https://a:${REDACTED}@h/`]);
  });

  it('every default word is found in a name made of it', () => {
    for (const word of SECRET_WORDS) expect(DEFAULT_REDACTOR.isSecretName(`--${word}`), word).toBe(true);
  });
});

describe('argv', () => {
  it('keeps the length and does not modify its input', () => {
    const argv = ['app', '--password', 'x'];
    const out = DEFAULT_REDACTOR.argv(argv);
    expect(argv).toEqual(['app', '--password', 'x']);
    expect(out).toHaveLength(3);
  });

  it('an empty argv and empty strings', () => {
    expect(DEFAULT_REDACTOR.argv([])).toEqual([]);
    expect(DEFAULT_REDACTOR.argv(['', '', '--password', ''])).toEqual(['', '', '--password', '']);
  });

  it('a login shell and a rewritten process title', () => {
    expect(DEFAULT_REDACTOR.argv(['-bash'])).toEqual(['-bash']);
    expect(DEFAULT_REDACTOR.argv(['postgres: app db 10.0.0.1(5432) idle'])).toEqual(['postgres: app db 10.0.0.1(5432) idle']);
  });
});

describe('anyLiteral', () => {
  it('finds any literal regardless of case, and nothing when there are none', () => {
    const pattern = anyLiteral(['pass', 'password', 'pwd', 'token']);
    expect(pattern.test('MY_PASSWORD')).toBe(true);
    expect(pattern.test('a Token')).toBe(true);
    expect(pattern.test('/usr/bin/sleep')).toBe(false);
    expect(anyLiteral([]).test('anything')).toBe(false);
    expect(anyLiteral(['a.b']).test('axb')).toBe(false);
  });
});

describe('Scrubber', () => {
  it('replaces known secrets (longest first) and what the policy finds', () => {
    const scrubber = new Scrubber();
    scrubber.add('s3cr3t-value');
    scrubber.add('s3cr3t');
    scrubber.add('abc'); // too short to track
    expect(scrubber.text('got s3cr3t-value and s3cr3t, abc; password=x1')).toBe(`got ${REDACTED} and ${REDACTED}, abc; password=${REDACTED}`);
  });

  it('scrubs every string of a value, keys too', () => {
    const scrubber = new Scrubber();
    scrubber.add('TOPSECRET');
    expect(scrubber.value({a: ['TOPSECRET', 1, null], TOPSECRET: {b: 'https://u:p@h/'}})).toEqual({
      a: [REDACTED, 1, null],
      [REDACTED]: {b: `https://u:${REDACTED}@h/`},
    });
  });
});
