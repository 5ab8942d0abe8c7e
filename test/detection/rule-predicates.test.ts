// The shared rule predicates (the view process_traits): each column's value on fixture rows, the view planned
// on the (scan_id, pid) index in a join, the GLOB-to-RE2 translation checked against SQLite's own GLOB, and a
// view read without its list loaded failing loudly instead of reading an empty list.
import type {Database} from 'sql.js';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {snapshotFromRows} from '../../src/detection/fixture-snapshot.js';
import {createRuleViews, globRegexSource, PREDICATE_LISTS} from '../../src/detection/rule-predicates.js';
import {compileRegex} from '../../src/detection/regex.js';
import {SqlValidator} from '../../src/detection/sql-validator.js';
import {loadSqlJs} from '../../src/storage/sqljs.js';

const LISTS = {shells: ['bash', 'sh', 'busybox'], interpreters: ['python', 'python[0-9]*', 'perl', 'n?de', '[!]x']};
let db: Database;

beforeAll(async () => {
  const SQL = await loadSqlJs();
  db = new SQL.Database(
    await snapshotFromRows([
      {pid: 2, name: 'kthreadd', kernel_thread: true, executable_path: null, command_line: []},
      {pid: 10, name: 'bash', executable_path: '/usr/bin/bash'},
      {pid: 11, name: 'sh', executable_path: '/usr/bin/dash'},
      {pid: 12, name: 'python3.11', executable_path: '/usr/bin/python3.11'},
      {pid: 13, name: 'worker', executable_path: '/opt/app/Python3'},
      {pid: 14, name: 'node', executable_path: null},
      {pid: 15, name: 'sleep', executable_path: '/usr/bin/sleep', ppid: 10},
    ]),
  );
  for (const [name, values] of Object.entries(LISTS)) {
    db.exec(`CREATE TABLE list_${name} (value TEXT)`);
    for (const value of values) db.run(`INSERT INTO list_${name} VALUES (?)`, [value]);
  }
  createRuleViews(db, LISTS);
});
afterAll(() => db.close());

const pidsWhere = (condition: string): number[] =>
  (db.exec(`SELECT pid FROM process_traits WHERE ${condition} ORDER BY pid`)[0]?.values ?? []).map((row) => Number(row[0]));

describe('process_traits', () => {
  it('is_kernel_thread and is_user_process split the processes', () => {
    expect(pidsWhere('is_kernel_thread')).toEqual([2]);
    expect(pidsWhere('is_user_process')).toEqual([10, 11, 12, 13, 14, 15]);
  });

  it('is_shell: the executable base name, else the process name, or the process name, in the list shells', () => {
    // 11 runs dash under the name sh: a shell by its name.
    expect(pidsWhere('is_shell')).toEqual([10, 11]);
  });

  it('is_interpreter: GLOB patterns of the list interpreters over the lower-case base name or process name', () => {
    // 12 python3.11 by python[0-9]*; 13 /opt/app/Python3 (lower case: python3); 14 node (no path) by n?de.
    expect(pidsWhere('is_interpreter')).toEqual([12, 13, 14]);
  });

  it('has every column of processes, and the validator knows the view and its lists', () => {
    expect(pidsWhere("cmdline = '' AND exe_name IS NULL")).toEqual([2, 14]);
    const validator = new SqlValidator();
    expect(validator.validateQuery('SELECT p.pid FROM process_traits p WHERE p.is_shell AND p.tty IS NULL')).toEqual({valid: true});
    expect(validator.validateQuery('SELECT pid FROM process_traits WHERE is_shel')).toMatchObject({valid: false});
    expect(validator.referencedLists('SELECT pid FROM process_traits WHERE is_shell')).toEqual([...PREDICATE_LISTS].sort());
    // The view's own functions are not rule functions.
    expect(validator.validateQuery("SELECT pid FROM processes WHERE daemoneye_list_glob('interpreters', name) = 1")).toMatchObject({valid: false});
  });

  it("exe_path_trusted: the host mount namespace (pid 1's) and the file still at its path, never NULL", async () => {
    const SQL = await loadSqlJs();
    const rows = [
      {pid: 1, ppid: 0, name: 'systemd', executable_path: '/usr/lib/systemd/systemd', uid: 0},
      {pid: 20, name: 'sshd', executable_path: '/usr/sbin/sshd', uid: 0},
      // sshd's path bind-mounted over in a mount namespace of its own (unshare -rm), replaced, deleted, a memfd
      {pid: 21, name: 'sshd', executable_path: '/usr/sbin/sshd', mnt_ns: 4026532175},
      {pid: 22, name: 'sshd', executable_path: '/usr/sbin/sshd', exe_replaced: true},
      {pid: 23, name: 'sshd', executable_path: '/usr/sbin/sshd', exe_deleted: true},
      {pid: 24, name: 'sshd', executable_path: '/memfd:x', exe_memfd: true},
      {pid: 25, name: 'sshd', executable_path: null},
      // a name is not a path: a python3 run through a symlink named tcpserver is python3's file
      {pid: 26, name: 'tcpserver', executable_path: '/usr/bin/python3.11'},
      // the host's own file, but where any user may put one: trusted, not a system file
      {pid: 27, name: 'gdb', executable_path: '/home/alice/.local/bin/gdb'},
    ];
    const withInit = new SQL.Database(await snapshotFromRows(rows));
    const withoutInit = new SQL.Database(await snapshotFromRows(rows.slice(1)));
    // pid 1's namespace unknown (a sandbox's init): kthreadd's stands for the host's
    const kthreadd = {pid: 2, ppid: 0, name: 'kthreadd', kernel_thread: true, executable_path: null, command_line: []};
    const withKthreadd = new SQL.Database(await snapshotFromRows([{...rows[0], pid: 1, mnt_ns: null}, kthreadd, ...rows.slice(1)]));
    try {
      for (const database of [withInit, withoutInit, withKthreadd]) {
        for (const [name, values] of Object.entries(LISTS)) {
          database.exec(`CREATE TABLE list_${name} (value TEXT)`);
          for (const value of values) database.run(`INSERT INTO list_${name} VALUES (?)`, [value]);
        }
        createRuleViews(database, LISTS);
      }
      const values = (database: Database, column = 'exe_path_trusted'): [number, unknown][] =>
        (database.exec(`SELECT pid, ${column} FROM process_traits WHERE pid > 2 ORDER BY pid`)[0]?.values ?? []).map((row) => [Number(row[0]), row[1]]);
      expect(values(withInit)).toEqual([
        [20, 1],
        [21, 0],
        [22, 0],
        [23, 0],
        [24, 0],
        [25, 0],
        [26, 1],
        [27, 1],
      ]);
      expect(values(withKthreadd)).toEqual(values(withInit));
      expect(values(withInit, 'exe_system_file')).toEqual([
        [20, 1],
        [21, 0],
        [22, 0],
        [23, 0],
        [24, 0],
        [25, 0],
        [26, 1],
        [27, 0],
      ]);
      // Neither pid 1 nor kthreadd in the scan: nothing is known to be the host's.
      expect(values(withoutInit).every(([, trusted]) => trusted === 0)).toBe(true);
      expect(values(withoutInit, 'exe_system_file').every(([, system]) => system === 0)).toBe(true);
    } finally {
      withInit.close();
      withoutInit.close();
      withKthreadd.close();
    }
  });

  it('a join on the view plans with the (scan_id, pid) index of processes', () => {
    const plan = (
      db.exec('EXPLAIN QUERY PLAN SELECT c.pid FROM process_traits c JOIN process_traits p ON p.scan_id = c.scan_id AND p.pid = c.ppid WHERE p.is_shell')[0]
        ?.values ?? []
    ).map((row) => String(row[3]));
    // Whichever side SQLite drives, the other is found by index, never scanned per row.
    expect(plan.filter((line) => /^(SCAN|SEARCH) [cp]\b/.test(line))).toEqual([
      expect.stringMatching(/^SCAN [cp]$/),
      expect.stringMatching(/^SEARCH [cp] USING INDEX processes_scan_id_p?pid \(scan_id=\? AND p?pid=\?\)$/),
    ]);
    expect(pidsWhere('pid IN (SELECT c.pid FROM process_traits c JOIN process_traits p ON p.scan_id = c.scan_id AND p.pid = c.ppid WHERE p.is_shell)')).toEqual(
      [15],
    );
  });

  it('fails loudly when a list it reads was not loaded', async () => {
    const SQL = await loadSqlJs();
    const bare = new SQL.Database(await snapshotFromRows([{pid: 1, name: 'python3'}]));
    bare.exec('CREATE TABLE list_shells (value TEXT)');
    createRuleViews(bare, {shells: []});
    expect(() => bare.exec('SELECT pid FROM process_traits WHERE is_interpreter')).toThrow(/the list interpreters is not loaded/);
    bare.close();
  });
});

describe('globRegexSource: the same texts as SQLite GLOB', () => {
  it('agrees with SQLite on wildcards, sets, ranges, negation, ] first and regex metacharacters', () => {
    const patterns = ['python[0-9]*', 'a?c', '*', '[]x]y', '[^a-c]z', '[!]', 'a.b', 'a+b(c)|d', '\\d', 'x[a-]', '', 'é?', '[a'];
    const texts = [
      'python3',
      'python',
      'pythonx',
      'abc',
      'ac',
      ']y',
      'xy',
      'dz',
      'az',
      '!',
      'a.b',
      'axb',
      'a+b(c)|d',
      '\\d',
      'd',
      'x-',
      'xa',
      '',
      'éa',
      'é',
      '[a',
      'a\nc',
    ];
    for (const glob of patterns) {
      const source = globRegexSource(glob);
      for (const text of texts) {
        const sqlite = Number(db.exec('SELECT ? GLOB ?', [text, glob])[0]?.values[0]?.[0]) === 1;
        const ours = source !== null && compileRegex(`^(?:${source})$`, 's').test(text);
        expect(ours, `${JSON.stringify(text)} GLOB ${JSON.stringify(glob)}`).toBe(sqlite);
      }
    }
  });
});
