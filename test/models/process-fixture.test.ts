import {describe, expect, it} from 'vitest';

import {completeProcessRow} from '../../src/models/process-fixture.js';

const options = {scanId: 7, now: 1_700_000_000_000};

describe('completeProcessRow', () => {
  it('fills neutral defaults around what the row gives', () => {
    const record = completeProcessRow({pid: 42, executable_path: '/tmp/x/evil-binary-with-long-name', stdin: 'socket:[99]'}, options);
    expect(record).toMatchObject({
      pid: 42,
      ppid: 1000,
      name: 'evil-binary-wit',
      command_line: ['/tmp/x/evil-binary-with-long-name'],
      user_id: '1000',
      file_exists: true,
      scan_id: 7,
    });
    expect(record.platform_data).toMatchObject({stdin: 'socket:[99]', tty: 'pts/0', uid: 1000, kernel_thread: false});
  });

  it('models kernel threads and deleted executables', () => {
    expect(completeProcessRow({pid: 2, name: 'kthreadd', kernel_thread: true, ppid: 0}, options)).toMatchObject({
      executable_path: null,
      command_line: [],
      file_exists: false,
    });
    expect(completeProcessRow({pid: 3, executable_path: '/tmp/a', exe_deleted: true}, options).file_exists).toBe(false);
  });

  it('refuses unknown columns and missing pids', () => {
    expect(() => completeProcessRow({pid: 1, nmae: 'x'}, options)).toThrow(/unknown process column: nmae/);
    expect(() => completeProcessRow({name: 'x'}, options)).toThrow(/numeric pid/);
  });

  it('is deterministic', () => {
    expect(completeProcessRow({pid: 5}, options)).toEqual(completeProcessRow({pid: 5}, options));
  });
});
