// The redaction a reader applies to a loaded snapshot (src/storage/redact-snapshot.ts): by the tables' column
// kinds, derived columns (`cmdline`, the platform-data columns) rewritten with their record, rows without a
// secret left as they are, nothing done when told `false`.
import {describe, expect, it} from 'vitest';

import {completeProcessRow} from '../../src/models/process-fixture.js';
import {createSnapshotDatabase, insertProcesses, insertScan, selectAll} from '../../src/storage/database.js';
import {readRedaction, redactSnapshotDatabase} from '../../src/storage/redact-snapshot.js';
import {insertTableRows} from '../../src/storage/snapshot-file.js';
import {makeScan} from './helpers/snapshots.js';

async function snapshotWithSecrets() {
  const scan = makeScan(1_800_000_000_000, 3);
  const db = await createSnapshotDatabase();
  insertScan(db, scan);
  const options = {scanId: scan.id, now: scan.start_time};
  insertProcesses(db, [
    completeProcessRow({pid: 10, name: 'mysql', command_line: ['mysql', '--password=hunter2', '-h', 'db']}, options),
    completeProcessRow({pid: 11, name: 'app', command_line: ['/usr/bin/app'], ld_preload: '/tmp/x.so?token=preloadtok'}, options),
    completeProcessRow({pid: 12, name: 'sleep', command_line: ['sleep', '60']}, options),
  ]);
  insertTableRows(
    db,
    {
      process_envs: [
        {pid: 11, key: 'API_TOKEN', value: 'envtok3'},
        {pid: 11, key: 'SUDO_COMMAND', value: '/usr/bin/app --password=sudopw5'},
        {pid: 11, key: 'PATH', value: '/usr/bin:/bin'},
      ],
    },
    scan.id,
  );
  return db;
}

describe('redactSnapshotDatabase', () => {
  it('redacts argv, its derived cmdline, a platform-data value in its column and JSON, and environment values', async () => {
    const db = await snapshotWithSecrets();
    const before = selectAll(db, 'SELECT pid, command_line, cmdline, exe_name FROM processes WHERE pid = 12');
    expect(await redactSnapshotDatabase(db)).toBe(4);
    const rows = selectAll(db, 'SELECT pid, command_line, cmdline, ld_preload, platform_data FROM processes ORDER BY pid');
    expect(rows[0]).toMatchObject({command_line: '["mysql","--password=[REDACTED]","-h","db"]', cmdline: 'mysql --password=[REDACTED] -h db'});
    expect(rows[1]?.ld_preload).toBe('/tmp/x.so?token=[REDACTED]');
    expect(JSON.parse(String(rows[1]?.platform_data))).toMatchObject({ld_preload: '/tmp/x.so?token=[REDACTED]'});
    expect(selectAll(db, 'SELECT pid, command_line, cmdline, exe_name FROM processes WHERE pid = 12')).toEqual(before);
    expect(selectAll(db, 'SELECT key, value FROM process_envs ORDER BY key')).toEqual([
      {key: 'API_TOKEN', value: '[REDACTED]'},
      {key: 'PATH', value: '/usr/bin:/bin'},
      {key: 'SUDO_COMMAND', value: '/usr/bin/app --password=[REDACTED]'},
    ]);
    // Already redacted: a second pass changes nothing.
    expect(await redactSnapshotDatabase(db)).toBe(0);
    db.close();
  });

  it('a row whose rowid is past 2^53 (a hostile file keeps its rowids) is redacted too, not missed by a rounded rowid', async () => {
    const db = await snapshotWithSecrets();
    db.run('UPDATE processes SET rowid = 1152921504606846977 WHERE pid = 10');
    db.run('UPDATE process_envs SET rowid = 9007199254740993 WHERE key = ?', ['API_TOKEN']);
    expect(await redactSnapshotDatabase(db)).toBe(4);
    expect(selectAll(db, 'SELECT cmdline FROM processes WHERE pid = 10')).toEqual([{cmdline: 'mysql --password=[REDACTED] -h db'}]);
    expect(selectAll(db, "SELECT value FROM process_envs WHERE key = 'API_TOKEN'")).toEqual([{value: '[REDACTED]'}]);
    db.close();
  });

  it('false (--no-redact) leaves the data as stored; the configured words are the policy', async () => {
    const db = await snapshotWithSecrets();
    expect(await redactSnapshotDatabase(db, false)).toBe(0);
    expect(selectAll(db, 'SELECT cmdline FROM processes WHERE pid = 10')).toEqual([{cmdline: 'mysql --password=hunter2 -h db'}]);
    expect(readRedaction({enabled: false, flags: [], short_flags: {}})).toBe(false);
    // Words that do not include "password": the configured policy, not the default, decides.
    expect(await redactSnapshotDatabase(db, readRedaction({enabled: true, flags: ['token'], short_flags: {}}))).toBe(2);
    expect(selectAll(db, 'SELECT cmdline FROM processes WHERE pid = 10')).toEqual([{cmdline: 'mysql --password=hunter2 -h db'}]);
    db.close();
  });
});
