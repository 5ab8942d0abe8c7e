// Hostile names, paths, argv and environment, for real (property-based, fast-check, seeded): each case is a
// copy of a small C program at a generated path, run with a generated argv, comm, working directory and
// environment, mapping a generated "library" file executable, holding it open on stdin and holding a unix
// socket bound to a generated name; some files are unlinked, some names really end in " (deleted)". A scan
// must report the exact bytes in every table, and the same bytes as the same text across tables.
import {execFileSync, spawn} from 'node:child_process';
import {copyFileSync, mkdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync} from 'node:fs';
import {type AddressInfo, createServer, type Server} from 'node:net';
import {join} from 'node:path';

import fc from 'fast-check';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {MEMORY_MAP_COLUMNS} from '../../src/collect/maps.js';
import {collectSnapshot} from '../../src/collect/snapshot.js';
import {escapeBytes, unescapeBytes} from '../../src/collect/text-encoding.js';
import type {ProcessRecord} from '../../src/models/process.js';
import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {firstLine} from './live-processes.js';

const HELPER_C = `
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Hex text to bytes (the bytes never hold NUL). */
static char *unhex(const char *hex) {
  size_t n = strlen(hex) / 2;
  char *out = malloc(n + 1);
  for (size_t i = 0; i < n; i++) { unsigned v; sscanf(hex + 2 * i, "%2x", &v); out[i] = (char)v; }
  out[n] = 0;
  return out;
}
static char *need(const char *name) {
  const char *v = getenv(name);
  if (v == NULL) { fprintf(stderr, "missing %s\\n", name); exit(2); }
  return unhex(v);
}

int main(void) {
  if (getenv("HT_STAGE") == NULL) {
    /* Stage 1: argv (items "x<hex>" joined by ",") and the raw environment value, then this file again. */
    char *list = strdup(getenv("HT_ARGV")), *args[64];
    int n = 0;
    for (char *item = strtok(list, ","); item != NULL && n < 63; item = strtok(NULL, ",")) args[n++] = unhex(item + 1);
    args[n] = NULL;
    setenv("HT_VALUE", need("HT_VALUE_HEX"), 1);
    setenv("HT_PATH", need("HT_LIB"), 1);
    setenv("HT_STAGE", "2", 1);
    execv("/proc/self/exe", args);
    perror("execv");
    return 1;
  }
  prctl(PR_SET_NAME, need("HT_COMM"), 0, 0, 0);
  if (chdir(need("HT_CWD")) != 0) { perror("chdir"); return 1; }
  int lib = open(need("HT_LIB"), O_RDONLY);
  if (lib < 0) { perror("open"); return 1; }
  if (mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, lib, 0) == MAP_FAILED) { perror("mmap"); return 1; }
  dup2(lib, 0);
  close(lib);
  char *name = need("HT_SOCK");
  size_t length = strlen(name);
  struct sockaddr_un address;
  memset(&address, 0, sizeof address);
  address.sun_family = AF_UNIX;
  memcpy(address.sun_path, name, length);
  if (name[0] == '@') address.sun_path[0] = 0;
  int s = socket(AF_UNIX, SOCK_DGRAM, 0);
  if (bind(s, (struct sockaddr *)&address, offsetof(struct sockaddr_un, sun_path) + length) != 0) { perror("bind"); return 1; }
  write(1, "ready\\n", 6);
  pause();
  return 0;
}
`;

const dir = tempDir('daemoneye-hostile-');
const HELPER = join(dir, 'helper');
const TABLES = ['process_memory_map', 'process_libraries', 'process_open_files', 'process_open_sockets', 'process_envs'];

/** Pieces of hostile names: the characters parsers and encodings trip on, whole or as bytes. */
const PIECES = ['\n', '\x1b[31m', ')', ' (', ' ', '\\', '\\012', '\\x0a', '\\\\', ' (deleted)', '\t', '\r', '\x7f', 'é', '日本', '\u0085', '@', ':'];
/**
 * A line of /proc/net/unix's layout claiming a TCP socket this test listens on (beforeAll): a socket name
 * holding it forges a line, which a scan must see through (the socket is in /proc/net/tcp).
 */
let forgedLine = '';
const piece = fc.oneof(
  fc.constantFrom(...PIECES).map((p) => Buffer.from(p, 'utf8')),
  fc.constant(null).map(() => Buffer.from(`\n${forgedLine}`)),
  fc.integer({min: 0x80, max: 0xff}).map((b) => Buffer.from([b])),
  fc.string({minLength: 1, maxLength: 6}).map((t) => Buffer.from(t.replaceAll('/', '_').replaceAll('\0', '_'), 'utf8')),
);
/** Bytes without NUL (and without `/` for a file name). */
const bytes = (maxPieces: number, name = false): fc.Arbitrary<Buffer> =>
  fc.array(piece, {maxLength: maxPieces}).map((parts) => {
    const joined = Buffer.concat(parts);
    return name ? Buffer.from(joined.filter((b) => b !== 0x2f)) : joined;
  });
const fileName = (maxPieces: number): fc.Arbitrary<Buffer> =>
  bytes(maxPieces, true).map((b) =>
    (b.length === 0 || b.equals(Buffer.from('.')) || b.equals(Buffer.from('..')) ? Buffer.from(`n${b.toString('latin1')}`, 'latin1') : b).subarray(0, 200),
  );

const hostileCase = fc.record({
  dirs: fc.array(fileName(8), {minLength: 1, maxLength: 3}),
  exe: fileName(6),
  lib: fileName(6),
  comm: bytes(4).map((b) => b.subarray(0, 15)),
  argv: fc.array(bytes(6), {minLength: 1, maxLength: 4}),
  value: bytes(8),
  sock: fc.oneof(
    fileName(3).map((b) => ({abstract: false, name: b.subarray(0, 40)})),
    bytes(10).map((b) => ({abstract: true, name: b.subarray(0, 100)})),
  ),
  // A name may really end in " (deleted)", and the file be unlinked or not.
  exeSuffix: fc.constantFrom('.x', ' (deleted)'),
  libSuffix: fc.constantFrom('.so', ' (deleted)', '.so (deleted)'),
  deleteLib: fc.boolean(),
  deleteExe: fc.boolean(),
});
type HostileCase = typeof hostileCase extends fc.Arbitrary<infer T> ? T : never;

interface Started {
  readonly pid: number;
  readonly exe: Buffer;
  readonly cwd: Buffer;
  readonly lib: Buffer;
  readonly sock: Buffer;
  readonly kill: () => void;
}

const hex = (b: Buffer): string => b.toString('hex');
const cat = (...parts: (Buffer | string)[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
let serial = 0;

/** Make the files of one case and run it; resolves once the program holds everything. */
async function start(c: HostileCase): Promise<Started> {
  const n = ++serial;
  let cwd: Buffer = Buffer.from(join(dir, `case-${n}`));
  mkdirSync(cwd);
  for (const part of c.dirs) {
    cwd = cat(cwd, '/', part);
    mkdirSync(cwd);
  }
  const exe = cat(cwd, '/', c.exe, c.exeSuffix);
  copyFileSync(HELPER, exe);
  const lib = cat(cwd, '/', c.lib, c.libSuffix);
  writeFileSync(lib, Buffer.alloc(4096, 0xc3));
  // A short directory for a socket on the file system: its name must fit sun_path's 108 bytes.
  const sockDir = join(dir, `s${n}`);
  mkdirSync(sockDir);
  // Abstract names are host-wide: a per-case prefix keeps two cases (or another test) from colliding.
  const unique = `@ht${process.pid}.${n}:`;
  const sock = c.sock.abstract ? cat(unique, c.sock.name.subarray(0, 108 - unique.length)) : cat(sockDir, '/', c.sock.name.length === 0 ? 'n' : c.sock.name);
  const link = join(dir, `run-${n}`);
  symlinkSync(exe, link);
  const child = spawn(link, [], {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
    env: {
      PATH: '/usr/bin:/bin',
      HT_ARGV: c.argv.map((a) => `x${hex(a)}`).join(','),
      HT_VALUE_HEX: hex(c.value),
      HT_COMM: hex(c.comm),
      HT_CWD: hex(cwd),
      HT_LIB: hex(lib),
      HT_SOCK: hex(sock),
    },
  });
  const kill = (): void => {
    try {
      process.kill(child.pid as number, 'SIGKILL');
    } catch {
      // gone
    }
  };
  try {
    await firstLine(child);
  } catch (error) {
    kill();
    throw error;
  }
  if (c.deleteLib) unlinkSync(lib);
  if (c.deleteExe) unlinkSync(exe);
  return {pid: child.pid as number, exe, cwd, lib, sock, kill};
}

const DELETED = Buffer.from(' (deleted)');

/** What every table must say about one running case, read from rows of those tables. */
function check(c: HostileCase, s: Started, process: ProcessRecord, tables: Record<string, Record<string, unknown>[]>): void {
  const bytesOf = (text: unknown): Buffer => unescapeBytes(text as string);
  const exeText = process.executable_path;
  const label = JSON.stringify({exe: hex(s.exe), lib: hex(s.lib), argv: c.argv.map(hex), comm: hex(c.comm), value: hex(c.value), sock: hex(s.sock)});
  // processes
  expect(bytesOf(exeText), label).toEqual(s.exe);
  expect(process.platform_data?.exe_deleted, label).toBe(c.deleteExe);
  expect(bytesOf(process.name), label).toEqual(c.comm);
  expect(process.command_line.map(bytesOf), label).toEqual(c.argv);
  expect(bytesOf(process.platform_data?.cwd), label).toEqual(s.cwd);
  // stdin is the library file, as the fd link has it (the kernel's marker kept in this field).
  expect(bytesOf(process.platform_data?.stdin), label).toEqual(c.deleteLib ? cat(s.lib, DELETED) : s.lib);
  // process_memory_map and process_libraries: the library and the program, each the same text in both.
  const maps = tables.process_memory_map ?? [];
  const libs = tables.process_libraries ?? [];
  const libText = escapeBytes(s.lib);
  const libMaps = maps.filter((r) => r.path === libText);
  expect(libMaps.length, label).toBeGreaterThan(0);
  expect(
    libMaps.every((r) => Boolean(r.deleted) === c.deleteLib),
    label,
  ).toBe(true);
  expect(
    libs.filter((r) => r.path === libText).map((r) => Boolean(r.deleted)),
    label,
  ).toEqual([c.deleteLib]);
  expect(libs.filter((r) => r.path === exeText).length, label).toBe(1);
  expect(
    maps.some((r) => r.path === exeText && Boolean(r.deleted) === c.deleteExe),
    label,
  ).toBe(true);
  // Every path of both tables decodes to bytes that name a file of this case, the loader or a library.
  // process_open_files: fd 0 is the library file.
  const stdin = (tables.process_open_files ?? []).find((r) => r.fd === 0);
  expect([stdin?.path, Boolean(stdin?.deleted)], label).toEqual([libText, c.deleteLib]);
  // process_open_sockets: the unix socket's whole name.
  const unix = (tables.process_open_sockets ?? []).filter((r) => r.family === 'AF_UNIX' && (r.fd as number) > 2);
  expect(
    unix.map((r) => bytesOf(r.path)),
    label,
  ).toEqual([s.sock]);
  // process_envs: the raw value, and a path as the same text the path tables give it.
  const envs = new Map((tables.process_envs ?? []).map((r) => [r.key, r.value]));
  expect(bytesOf(envs.get('HT_VALUE')), label).toEqual(c.value);
  expect(envs.get('HT_PATH'), label).toBe(libText);
}

let tcp: Server | undefined;

beforeAll(async () => {
  writeFileSync(join(dir, 'helper.c'), HELPER_C);
  execFileSync('cc', ['-O1', '-o', HELPER, join(dir, 'helper.c')]);
  const server = createServer();
  tcp = server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  // This process's listening socket: its inode from /proc/net/tcp (local port in hex, state 0A).
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  const row = readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .find((fields) => fields[1]?.endsWith(`:${portHex}`) && fields[3] === '0A');
  const width = readFileSync('/proc/net/unix', 'utf8').split('\n')[1]?.indexOf(':') ?? 16;
  forgedLine = `${'0'.repeat(width)}: 00000002 00000000 00000000 0002 01 ${String(row?.[9]).padStart(5)}`;
}, 60_000);

afterAll(() => {
  tcp?.close();
  removeDir(dir);
});

describe('hostile names, paths, argv and environment: every table reports the same bytes', () => {
  it('through the collector, case by case (property, seeded)', async () => {
    await fc.assert(
      fc.asyncProperty(hostileCase, async (c) => {
        const s = await start(c);
        try {
          const snapshot = await collectSnapshot({
            pids: [s.pid],
            hash: false,
            hashCachePath: null,
            redaction: null,
            tables: TABLES,
            envVariables: ['HT_VALUE', 'HT_PATH'],
          });
          const process = snapshot.processes.find((p) => p.pid === s.pid);
          expect(process).toBeDefined();
          const tables: Record<string, Record<string, unknown>[]> = {};
          for (const table of TABLES) tables[table] = rowsOf(snapshot.tables[table]);
          check(c, s, process as ProcessRecord, tables);
        } finally {
          s.kill();
        }
      }),
      {seed: 22_3, numRuns: 25, endOnFailure: true},
    );
  }, 120_000);

  it('through `scan --output` and `query --input`: the snapshot file keeps the same text', async () => {
    const cases = fc.sample(hostileCase, {seed: 22_4, numRuns: 6});
    const started = await Promise.all(cases.map(start));
    try {
      const home = join(dir, 'home');
      mkdirSync(home);
      const env = isolatedEnv(home, {DAEMONEYE_COLLECTION__ENV_VARIABLES: '[HT_VALUE, HT_PATH]'});
      const file = join(dir, 'hostile.db');
      const pids = started.flatMap((s) => ['--pid', String(s.pid)]);
      const scan = await runCli(['scan', ...pids, '--no-hash', '--no-redact', '--output', file, '--tables', 'all', '--no-audit'], {env});
      expect(scan.code, scan.stderr).toBe(0);
      const query = async (sql: string): Promise<Record<string, unknown>[]> => {
        const result = await runCli(['query', sql, '--input', file, '--format', 'ndjson', '--no-audit'], {env});
        expect(result.code, result.stderr).toBe(0);
        return parseNdjson(result.stdout);
      };
      const processes = await query('SELECT pid, name, executable_path, command_line, cwd, stdin, exe_deleted FROM processes');
      // Every host table's text columns in one query (one CLI start instead of five).
      const rows = await query(
        [
          "SELECT 'process_memory_map' AS t, pid, path, deleted, NULL AS fd, NULL AS family, NULL AS key, NULL AS value FROM process_memory_map",
          "SELECT 'process_libraries', pid, path, deleted, NULL, NULL, NULL, NULL FROM process_libraries",
          "SELECT 'process_open_files', pid, path, deleted, fd, NULL, NULL, NULL FROM process_open_files",
          "SELECT 'process_open_sockets', pid, path, NULL, fd, family, NULL, NULL FROM process_open_sockets",
          "SELECT 'process_envs', pid, NULL, NULL, NULL, NULL, key, value FROM process_envs",
        ].join(' UNION ALL '),
      );
      const tables: Record<string, Record<string, unknown>[]> = {};
      for (const table of TABLES) tables[table] = rows.filter((r) => r.t === table);
      cases.forEach((c, i) => {
        const s = started[i] as Started;
        const row = processes.find((p) => p.pid === s.pid) as Record<string, unknown>;
        const process = {
          executable_path: row.executable_path,
          name: row.name,
          command_line: row.command_line,
          platform_data: {cwd: row.cwd, stdin: row.stdin, exe_deleted: Boolean(row.exe_deleted)},
        } as unknown as ProcessRecord;
        const mine: Record<string, Record<string, unknown>[]> = {};
        for (const table of TABLES) mine[table] = (tables[table] ?? []).filter((r) => r.pid === s.pid);
        check(c, s, process, mine);
      });
    } finally {
      for (const s of started) s.kill();
    }
  }, 120_000);
});

/** A collected table as row objects (process_memory_map comes as flat values). */
function rowsOf(table: unknown): Record<string, unknown>[] {
  if (Array.isArray(table)) return table as Record<string, unknown>[];
  const flat = table as {values: unknown[]; rows: number} | undefined;
  if (flat === undefined) return [];
  const columns = MEMORY_MAP_COLUMNS;
  return Array.from({length: flat.rows}, (_, i) => Object.fromEntries(columns.map((c, j) => [c, flat.values[i * columns.length + j]])));
}
