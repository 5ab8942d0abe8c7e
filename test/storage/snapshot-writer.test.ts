// A live scan streamed into its snapshot database (src/storage/snapshot-writer.ts) against the build from
// collected rows (snapshot-file.ts): on one fake /proc, every table of both databases holds the same rows
// in the same order, whatever the batch size, and the streamed collection holds no table whole.
import {execFileSync} from 'node:child_process';
import {mkdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import type {Database, SqlValue} from 'sql.js';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {LIVE_TABLES} from '../../src/collect/live-tables.js';
import {collectSnapshot, type CollectOptions} from '../../src/collect/snapshot.js';
import {loadSqlJs} from '../../src/storage/database.js';
import {serializeSnapshot, withAlerts} from '../../src/storage/snapshot-file.js';
import {streamedSnapshot} from '../../src/storage/snapshot-writer.js';
import {alertOfRows} from '../helpers/alerts.js';
import {removeDir, tempDir} from '../helpers/cli.js';

let dir: string;
let root: string;
const PROCESSES = 40;
/** Mappings per process: with ~half executable, process_memory_map and process_libraries cross many batches. */
const MAPPINGS = 37;

/**
 * A fake /proc of PROCESSES processes: each with an environ, memory maps (some executable, some deleted, a
 * path with a space), fds 0–2 (a FIFO written by every third process and read by as many others, so
 * fd peers pair ends across processes), an open file, and a listening TCP socket in its own line of net/tcp.
 */
function fakeProc(): void {
  root = join(dir, 'proc');
  mkdirSync(join(root, 'self'), {recursive: true});
  const own = readFileSync('/proc/self/stat', 'latin1');
  writeFileSync(join(root, 'self', 'stat'), own);
  const fifo = join(dir, 'shared-fifo');
  execFileSync('mkfifo', [fifo]);
  writeFileSync(join(dir, 'lib with space.so'), 'x');
  for (let i = 0; i < PROCESSES; i++) {
    const pid = 100 + i;
    const at = join(root, String(pid));
    for (const sub of ['fd', 'fdinfo', 'ns', 'net']) mkdirSync(join(at, sub), {recursive: true});
    writeFileSync(join(at, 'stat'), `${pid}${own.slice(own.indexOf(' '))}`);
    for (const file of ['status', 'cgroup']) writeFileSync(join(at, file), readFileSync(`/proc/self/${file}`));
    writeFileSync(join(at, 'cmdline'), `worker\0--id\0${i}\0--password\0hunter${i}\0`);
    writeFileSync(join(at, 'environ'), `HOME=/root\0HISTFILE=/dev/null\0LD_PRELOAD=/tmp/x${i}.so\0PATH=/bin\0AWS_SECRET_ACCESS_KEY=k${i}\0`);
    symlinkSync(process.execPath, join(at, 'exe'));
    symlinkSync('/', join(at, 'cwd'));
    symlinkSync('/', join(at, 'root'));
    for (const ns of ['pid', 'mnt']) symlinkSync(`${ns}:[4026531836]`, join(at, 'ns', ns));
    symlinkSync(`net:[${4026532000 + (i % 3)}]`, join(at, 'ns', 'net'));
    symlinkSync(i % 3 === 1 ? fifo : '/dev/null', join(at, 'fd', '0'));
    symlinkSync(i % 3 === 0 ? fifo : '/dev/zero', join(at, 'fd', '1'));
    symlinkSync('/etc/hostname', join(at, 'fd', '2'));
    symlinkSync(`socket:[${7000 + i}]`, join(at, 'fd', '3'));
    for (const [fd, flags] of [
      ['0', '0100000'],
      ['1', '01'],
      ['2', '0100000'],
      ['3', '02'],
    ]) {
      writeFileSync(join(at, 'fdinfo', fd), `pos:\t0\nflags:\t${flags}\nmnt_id:\t25\nino:\t${fd === '3' ? 7000 + i : 1}\n`);
    }
    const tcp = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      ...Array.from(
        {length: PROCESSES},
        (_, j) =>
          `   ${j}: 0100007F:${(8000 + j).toString(16).toUpperCase()} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 ${7000 + j} 1 0000000000000000 100 0 0 10 0`,
      ),
    ];
    writeFileSync(join(at, 'net', 'tcp'), `${tcp.join('\n')}\n`);
    writeFileSync(join(at, 'net', 'unix'), 'Num       RefCount Protocol Flags    Type St Inode Path\n');
    const maps: string[] = [];
    for (let m = 0; m < MAPPINGS; m++) {
      const start = (0x400000 + m * 0x1000 + i * 0x100000).toString(16).padStart(12, '0');
      const end = (0x400000 + (m + 1) * 0x1000 + i * 0x100000).toString(16).padStart(12, '0');
      const perms = m % 2 === 0 ? 'r-xp' : 'rw-p';
      const path =
        m % 5 === 0 ? join(dir, 'lib with space.so') : m % 7 === 0 ? `/usr/lib/gone${m}.so (deleted)` : m % 11 === 0 ? '[heap]' : `/usr/lib/lib${m % 9}.so`;
      maps.push(`${start}-${end} ${perms} 00000000 08:01 ${1000 + m}                       ${path}`);
    }
    writeFileSync(join(at, 'maps'), `${maps.join('\n')}\n`);
  }
}

beforeAll(() => {
  dir = tempDir('snapshot-writer-');
  fakeProc();
});
afterAll(() => removeDir(dir));

const options = (): CollectOptions => ({
  procRoot: root,
  etcRoot: join(dir, 'no-etc'),
  hash: false,
  tables: [...LIVE_TABLES],
  envVariables: ['HISTFILE', 'LD_PRELOAD', 'AWS_SECRET_ACCESS_KEY'],
  redaction: {words: ['password', 'secret'], shortFlags: {}},
});

/** Every row of every table of a snapshot file, by table, in rowid order (meta's creation time left out). */
async function tablesOf(bytes: Uint8Array): Promise<Record<string, SqlValue[][]>> {
  const db: Database = new (await loadSqlJs()).Database(bytes);
  try {
    const names = db.exec("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")[0]?.values.map((row) => String(row[0])) ?? [];
    const out: Record<string, SqlValue[][]> = {};
    for (const name of names) {
      const where = name === 'meta' ? " WHERE key <> 'created'" : '';
      out[name] = db.exec(`SELECT * FROM ${name}${where} ORDER BY rowid`)[0]?.values ?? [];
    }
    out.schema = db.exec('SELECT type, name, sql FROM sqlite_master ORDER BY name')[0]?.values ?? [];
    return out;
  } finally {
    db.close();
  }
}

describe('a scan streamed into its snapshot database', () => {
  it('holds the same rows, in the same order, as the build of the collected rows, at any batch size', async () => {
    // The old way: every table's rows collected, then built into a database.
    const collected = await collectSnapshot(options());
    expect(Object.keys(collected.tables).sort()).toEqual([...LIVE_TABLES].sort());
    for (const [batchRows, keep] of [
      [1, []],
      [7, ['process_open_sockets']],
      [2048, []],
    ] as const) {
      const streamed = streamedSnapshot(keep, {batchRows});
      let bytes: Uint8Array;
      let snapshot: Awaited<ReturnType<typeof collectSnapshot>>;
      try {
        snapshot = await collectSnapshot({...options(), stream: streamed.stream});
        bytes = await streamed.bytes(snapshot.scan, snapshot.processes);
      } finally {
        streamed.close();
      }
      // Only the kept tables come back as rows; the counts are the collected ones.
      expect(Object.keys(snapshot.tables)).toEqual([...keep]);
      for (const table of keep) expect(snapshot.tables[table]).toEqual(collected.tables[table]);
      expect(snapshot.stats.table_rows).toEqual(collected.stats.table_rows);
      expect(snapshot.scan.errors).toEqual(collected.scan.errors);
      // The same scan and processes (their ids and times differ per collection) over both ways' table rows;
      // with alerts added as `detect --store` and `scan --output` add them.
      const alerts =
        batchRows === 7 ? [alertOfRows([{pid: 101}], {scan_id: snapshot.scan.id}), alertOfRows([{pid: 102}], {scan_id: snapshot.scan.id, id: 'b'})] : [];
      const expected = await tablesOf(await serializeSnapshot(snapshot.scan, snapshot.processes, alerts, collected.tables));
      const actual = await tablesOf(await withAlerts(bytes, alerts));
      for (const table of Object.keys(expected)) expect({table, rows: actual[table]}).toEqual({table, rows: expected[table]});
      expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
      expect(actual.alerts).toHaveLength(alerts.length);
    }
    // The fake host's tables are big enough to cross batch boundaries at 7 rows, and redacted.
    expect(collected.stats.table_rows.process_memory_map).toBe(PROCESSES * MAPPINGS);
    expect(collected.stats.table_rows.process_fd_peers).toBeGreaterThan(0);
    expect(collected.stats.table_rows.process_open_sockets).toBe(PROCESSES);
    expect(JSON.stringify(collected.tables.process_envs)).not.toContain('k1');
  });
});
