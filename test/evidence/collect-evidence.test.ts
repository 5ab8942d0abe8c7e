import {writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {targetsFromAlertsFile} from '../../src/app/evidence.js';
import {redactArguments, redactEnvironment} from '../../src/evidence/collect-evidence.js';
import {Redactor} from '../../src/redaction/redact.js';
import {removeDir, tempDir} from '../helpers/cli.js';

const dir = tempDir();
afterAll(() => removeDir(dir));

describe('redactEnvironment', () => {
  it('environ_secret_names: values of secret-looking names become [REDACTED]; URL passwords too', () => {
    const text = [
      'PATH=/usr/bin',
      'AWS_SECRET_ACCESS_KEY=abc',
      'GITHUB_TOKEN=ghp_x',
      'PGPASSWORD=pw',
      'SSH_AUTH_SOCK=/tmp/s',
      'EMPTY_TOKEN=',
      'URL=https://u:p@h/',
      'NOEQUALS',
      '',
    ].join('\0');
    expect(redactEnvironment(text, new Redactor())).toEqual({
      environment: {
        PATH: '/usr/bin',
        AWS_SECRET_ACCESS_KEY: '[REDACTED]',
        GITHUB_TOKEN: '[REDACTED]',
        PGPASSWORD: '[REDACTED]',
        SSH_AUTH_SOCK: '/tmp/s',
        EMPTY_TOKEN: '',
        URL: 'https://u:[REDACTED]@h/',
        NOEQUALS: '',
      },
      redacted: 4,
    });
  });

  it('environ_sudo_command: a command line in a variable is redacted as argv; --no-redact keeps everything', () => {
    const text = 'SUDO_COMMAND=/usr/bin/mysql -phunter2 --password=x\0';
    expect(redactEnvironment(text, new Redactor()).environment.SUDO_COMMAND).toBe('/usr/bin/mysql -p[REDACTED] --password=[REDACTED]');
    expect(redactEnvironment(text, null)).toEqual({environment: {SUDO_COMMAND: '/usr/bin/mysql -phunter2 --password=x'}, redacted: 0});
  });

  it('cmdline_secrets: argv through the policy, with the count of arguments changed', () => {
    expect(redactArguments(['curl', '-H', 'Authorization: Bearer abc123', '--user', 'u:p'], new Redactor())).toEqual({
      argv: ['curl', '-H', 'Authorization: Bearer [REDACTED]', '--user', 'u:[REDACTED]'],
      redacted: 2,
    });
    expect(redactArguments(['curl', '--user', 'u:p'], null).redacted).toBe(0);
  });
});

const pidsFromAlertsFile = (path: string): number[] => targetsFromAlertsFile(path).pids;

describe('targetsFromAlertsFile', () => {
  const write = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('reads detect NDJSON, detect --format json and a JSON array; pids deduplicated and sorted', () => {
    const a = {affected_processes: [30, 10]};
    const b = {affected_processes: [10, 20]};
    expect(pidsFromAlertsFile(write('a.ndjson', `${JSON.stringify(a)}\n${JSON.stringify(b)}\n`))).toEqual([10, 20, 30]);
    expect(pidsFromAlertsFile(write('a.json', JSON.stringify({alerts: [a, b], summary: {}}, null, 2)))).toEqual([10, 20, 30]);
    expect(pidsFromAlertsFile(write('arr.json', JSON.stringify([b])))).toEqual([10, 20]);
    expect(pidsFromAlertsFile(write('one.ndjson', `${JSON.stringify(a)}\n`))).toEqual([10, 30]);
  });

  it("names, per pid, the absolute paths in the alerts' result rows (a row without a pid: every affected pid)", () => {
    const library = {
      affected_processes: [42],
      alert_data: {processes: [{pid: 42, name: 'victim', library_path: '/tmp/.x/libevil.so', cmdline: 'victim --run', port: 80}]},
    };
    const noPid = {affected_processes: [7, 8], alert_data: {processes: [{executable_path: '/dev/shm/a.out'}]}};
    const {pids, namedFiles} = targetsFromAlertsFile(write('named.ndjson', `${JSON.stringify(library)}\n${JSON.stringify(noPid)}\n`));
    expect(pids).toEqual([7, 8, 42]);
    expect(Object.fromEntries([...namedFiles].map(([pid, files]) => [pid, [...files]]))).toEqual({
      42: ['/tmp/.x/libevil.so'],
      7: ['/dev/shm/a.out'],
      8: ['/dev/shm/a.out'],
    });
  });

  it('bad files name the file and the fix', () => {
    expect(() => pidsFromAlertsFile(write('bad.txt', 'hello\n'))).toThrow(/bad\.txt: not JSON or NDJSON/);
    expect(() => pidsFromAlertsFile(write('noaff.json', '{"rule_id": "x"}'))).toThrow(/has no affected_processes/);
    expect(() => pidsFromAlertsFile(join(dir, 'missing.json'))).toThrow(/missing\.json/);
  });
});
