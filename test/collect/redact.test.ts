import {describe, expect, it} from 'vitest';

import {createArgvRedactor} from '../../src/collect/redact.js';
import {redactParameterText} from '../../src/collect/sysinfo.js';
import {DEFAULT_REDACT_FLAGS, DEFAULT_REDACT_SHORT_FLAGS} from '../../src/config/schema.js';
import {expectLinearTime} from '../helpers/linear-time.js';

const redact = createArgvRedactor({flags: DEFAULT_REDACT_FLAGS, shortFlags: DEFAULT_REDACT_SHORT_FLAGS});

describe('argv redaction', () => {
  it('long flag with a separate value', () => {
    expect(redact(['app', '--password', 'hunter2', '--port', '80'])).toEqual(['app', '--password', '[REDACTED]', '--port', '80']);
  });

  it('long flag with =value, any case, compound names', () => {
    expect(redact(['app', '--token=abc123'])).toEqual(['app', '--token=[REDACTED]']);
    expect(redact(['app', '--API-KEY=k'])).toEqual(['app', '--API-KEY=[REDACTED]']);
    expect(redact(['app', '--db-password', 's3cret', '--mysql_password=x'])).toEqual(['app', '--db-password', '[REDACTED]', '--mysql_password=[REDACTED]']);
    expect(redact(['app', '-password=x'])).toEqual(['app', '-password=[REDACTED]']);
  });

  it('leaves look-alikes alone', () => {
    const argv = ['app', '--no-password', 'file', '--bypass', 'x', '--passwordless', '--tokens-file', 'f'];
    expect(redact(argv)).toEqual(argv);
  });

  it('a flag followed by another long flag is a boolean: nothing to redact', () => {
    expect(redact(['mongod', '--auth', '--port', '27017'])).toEqual(['mongod', '--auth', '--port', '27017']);
  });

  it('a flag at the end has no value', () => {
    expect(redact(['app', '--password'])).toEqual(['app', '--password']);
  });

  it('tool-specific short flags: attached and separate', () => {
    expect(redact(['mysql', '-uroot', '-phunter2', 'db'])).toEqual(['mysql', '-uroot', '-p[REDACTED]', 'db']);
    expect(redact(['/usr/bin/mysql', '-p', 'hunter2'])).toEqual(['/usr/bin/mysql', '-p', '[REDACTED]']);
    expect(redact(['sshpass', '-p', 'pw', 'ssh', 'host'])).toEqual(['sshpass', '-p', '[REDACTED]', 'ssh', 'host']);
    expect(redact(['redis-cli', '-a', 'pw'])).toEqual(['redis-cli', '-a', '[REDACTED]']);
    // -p means something else for other tools.
    expect(redact(['ssh', '-p', '2222', 'host'])).toEqual(['ssh', '-p', '2222', 'host']);
  });

  it('user:pass@ in URLs, anywhere in argv', () => {
    expect(redact(['git', 'clone', 'https://alice:tok3n@example.com/repo.git'])).toEqual(['git', 'clone', 'https://alice:[REDACTED]@example.com/repo.git']);
    expect(redact(['psql', 'postgres://app:pw@db:5432/x'])).toEqual(['psql', 'postgres://app:[REDACTED]@db:5432/x']);
    expect(redact(['curl', 'https://example.com/'])).toEqual(['curl', 'https://example.com/']);
  });

  it('is pure: the input is not modified, the length never changes', () => {
    const argv = ['app', '--password', 'x'];
    const out = redact(argv);
    expect(argv).toEqual(['app', '--password', 'x']);
    expect(out).toHaveLength(3);
  });

  it('a configured list replaces the defaults', () => {
    const custom = createArgvRedactor({flags: ['vault-code'], shortFlags: {mytool: ['-k']}});
    expect(custom(['x', '--vault-code', 'v', '--password', 'p'])).toEqual(['x', '--vault-code', '[REDACTED]', '--password', 'p']);
    expect(custom(['mytool', '-ksecret'])).toEqual(['mytool', '-k[REDACTED]']);
  });
});

describe('a parameter string without argv boundaries (the systeminformation collector)', () => {
  it('redacts each secret word and keeps text without secrets exactly', () => {
    expect(redactParameterText(redact, '/usr/bin/app', '--password hunter2  --token=abc --port 80')).toBe('--password [REDACTED] --token=[REDACTED] --port 80');
    expect(redactParameterText(redact, '/usr/bin/mysql', '-psecret -u root')).toBe('-p[REDACTED] -u root');
    expect(redactParameterText(redact, '/usr/bin/app', '-c  import time;  time.sleep(3)')).toBe('-c  import time;  time.sleep(3)');
  });
});

describe('argv redaction takes time linear in the argv (the attacker writes it)', () => {
  // Arguments shaped for the flag pattern (many separators, secret words between them, no end) and for the
  // URL-credential scan (letters before ://, a user part without end).
  const hostile: [string, (n: number) => string[]][] = [
    ['--a-a-a-…', (n) => ['app', `--${'a-'.repeat(n / 2)}x`]],
    ['--pass-pass-…', (n) => ['app', `--${'pass-'.repeat(n / 5)}!`]],
    ['--password_password_…=', (n) => ['app', `--${'password_'.repeat(n / 9)}=`.slice(0, n)]],
    ['aaaa…://', (n) => ['app', `${'a'.repeat(n)}://`]],
    ['x://bbbb…:', (n) => ['app', `x://${'b'.repeat(n)}:`]],
    ['many arguments', (n) => ['app', ...Array.from({length: n / 10}, (_, i) => (i % 2 === 0 ? '--token' : 'a://b:c@d'))]],
  ];
  it.each(hostile)('%s', (_name, argv) => {
    expectLinearTime((n) => {
      const args = argv(n);
      return () => redact(args);
    }, 100_000);
  });
});
