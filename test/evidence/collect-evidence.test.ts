import {writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {redactEnvironment} from '../../src/evidence/collect-evidence.js';
import {targetsFromAlertsFile} from '../../src/app/evidence.js';
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
    expect(redactEnvironment(text)).toEqual({
      PATH: '/usr/bin',
      AWS_SECRET_ACCESS_KEY: '[REDACTED]',
      GITHUB_TOKEN: '[REDACTED]',
      PGPASSWORD: '[REDACTED]',
      SSH_AUTH_SOCK: '[REDACTED]',
      EMPTY_TOKEN: '',
      URL: 'https://u:[REDACTED]@h/',
      NOEQUALS: '',
    });
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
