import {describe, expect, it} from 'vitest';

import {alertTable} from '../../src/detection/detection-view.js';
import {alertEvidence, alertNextSteps, rowEvidence} from '../../src/models/alert-evidence.js';
import {alertOfRows} from '../helpers/alerts.js';

const alert = alertOfRows;

describe('rowEvidence', () => {
  it('names the process, its user and executable, then the peer of a socket row and the command line', () => {
    const row = {
      pid: 4242,
      name: 'bash',
      user_name: 'www-data',
      executable_path: '/usr/bin/bash',
      cmdline: 'bash -i',
      remote_address: '10.1.2.3',
      remote_port: 4444,
      state: 'ESTABLISHED',
      uid: 33,
    };
    expect(rowEvidence(row)).toBe('bash[4242] www-data exe /usr/bin/bash → 10.1.2.3:4444 state=ESTABLISHED cmd "bash -i"');
  });

  it('shows the rule-specific columns a rule selects: a library, a variable, a listening address (IPv6 bracketed)', () => {
    expect(rowEvidence({pid: 7, name: 'sshd', uid: 0, library: '/tmp/.x/libpam.so', deleted: true})).toBe(
      'sshd[7] uid 0 library=/tmp/.x/libpam.so deleted=true',
    );
    expect(rowEvidence({pid: 8, name: 'nc', address: '::', port: 4444, family: 'AF_INET6'})).toBe('nc[8] on [::]:4444 family=AF_INET6');
    expect(rowEvidence({pid: 9, variable: 'LD_PRELOAD', value: '/dev/shm/x.so'})).toBe('pid 9 variable=LD_PRELOAD value=/dev/shm/x.so');
  });

  it('cuts long values and command lines, and skips empty ones', () => {
    const shown = rowEvidence({pid: 1, name: 'x', note: 'a'.repeat(500), empty: '', none: null, cmdline: 'b'.repeat(500)});
    expect(shown).toBe(`x[1] note=${'a'.repeat(119)}… cmd "${'b'.repeat(99)}…"`);
  });
});

describe('alertEvidence', () => {
  it("is the first row's evidence and how many more rows there are; the pids when the alert has no rows", () => {
    expect(
      alertEvidence(
        alert([
          {pid: 1, name: 'a'},
          {pid: 2, name: 'b'},
          {pid: 3, name: 'c'},
        ]),
      ),
    ).toBe('a[1] (+2 more rows)');
    expect(alertEvidence(alert([], {affected_processes: [5, 6], alert_data: null}))).toBe('pid 5, 6');
  });
});

describe('alertNextSteps', () => {
  it('for live processes: collect them and draw their tree', () => {
    expect(alertNextSteps(alert([{pid: 1}, {pid: 2}]), {live: true})).toEqual([
      'daemoneye collect --pid 1 --pid 2 --output case-7cebab7d.tar.gz',
      'daemoneye scan --format tree --pid 1 --pid 2',
    ]);
  });

  it('for a saved snapshot: the query that reads them again, shell-quoted', () => {
    expect(alertNextSteps(alert([{pid: 3}]), {live: false, input: "/cases/it's here.db"})).toEqual([
      `daemoneye query 'SELECT * FROM processes WHERE scan_id = 42 AND pid IN (3)' --input '/cases/it'\\''s here.db'`,
    ]);
  });
});

describe('the alert table on a terminal', () => {
  it('keeps the next command whole at 160 columns; the evidence is what gets cut', () => {
    const row = {pid: 12161, name: 'bash', executable_path: '/usr/bin/bash', cmdline: `bash -c ${'x'.repeat(300)}`};
    const table = alertTable([alert([row], {rule_id: 'reverse-shell-command-line'})], 160, undefined, {live: true});
    const line = table.split('\n')[1] ?? '';
    expect(line).toContain('daemoneye collect --pid 12161 --output case-7cebab7d-12161.tar.gz');
    expect([...line].length).toBeLessThanOrEqual(160);
    expect(line).toContain('bash[12161]');
  });

  it('one pid of a multi-pid alert gets its own case name', () => {
    expect(alertNextSteps(alert([{pid: 8}]), {live: true})[0]).toBe('daemoneye collect --pid 8 --output case-7cebab7d-8.tar.gz');
  });
});
