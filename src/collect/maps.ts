// process_memory_map: /proc/PID/maps parsed line by line (proc(5)): address range, permissions, offset,
// device, inode and the mapped path, with the kernel's ` (deleted)` marker and pseudo paths as columns.
import type {SqlRowValue} from '../models/columns.js';
import type {ProcessLibraryRow, ProcessMemoryMapRow} from '../models/live-tables.js';
import {DELETED_MARKER} from './parsers.js';
import {readProcTextIfThere, sameFileAt} from './proc-read.js';

const DELETED = DELETED_MARKER;
const HEX = /^[0-9a-f]+$/;
const DEVICE_NUMBERS = /^[0-9a-f]+:[0-9a-f]+$/;
const DIGITS = /^\d+$/;

/** The process_memory_map columns in the registry's order (a test holds the two together). */
export const MEMORY_MAP_COLUMNS = ['scan_id', 'pid', 'start', 'end', 'permissions', 'offset', 'device', 'inode', 'path', 'pseudo', 'deleted'] as const;

/**
 * Append the SQL values of each line of one process's maps text to `into`, row after row in
 * MEMORY_MAP_COLUMNS order; returns the number of rows appended. A line is
 * `start-end perms offset major:minor inode [path]` (proc(5)); the path runs to the end of the line and may
 * hold spaces. Addresses stay hex text (`0x…`: 64-bit values exceed JavaScript numbers); the offset is a
 * number (file offsets stay below 2^53); the path is null for anonymous memory; `pseudo` and `deleted` are
 * 0 or 1. Malformed lines are skipped.
 * Values rather than row objects, cut with indexOf rather than a regular expression over each line: a
 * host has tens of thousands of these rows and they go straight to SQLite.
 */
export function appendMapValues(scanId: number, pid: number, text: string, into: SqlRowValue[]): number {
  let rows = 0;
  for (let pos = 0; pos < text.length;) {
    let eol = text.indexOf('\n', pos);
    if (eol === -1) eol = text.length;
    const line = pos;
    pos = eol + 1;
    const dash = text.indexOf('-', line);
    const afterRange = text.indexOf(' ', line);
    if (dash === -1 || afterRange === -1 || afterRange > eol || dash > afterRange) continue;
    const afterPermissions = afterRange + 5;
    const afterOffset = text.indexOf(' ', afterPermissions + 1);
    if (text.charCodeAt(afterPermissions) !== 32 || afterOffset === -1 || afterOffset > eol) continue;
    const afterDevice = text.indexOf(' ', afterOffset + 1);
    if (afterDevice === -1 || afterDevice > eol) continue;
    let afterInode = text.indexOf(' ', afterDevice + 1);
    if (afterInode === -1 || afterInode > eol) afterInode = eol;
    const start = text.slice(line, dash);
    const end = text.slice(dash + 1, afterRange);
    const offset = text.slice(afterPermissions + 1, afterOffset);
    const device = text.slice(afterOffset + 1, afterDevice);
    const inode = text.slice(afterDevice + 1, afterInode);
    if (!HEX.test(start) || !HEX.test(end) || !HEX.test(offset) || !DEVICE_NUMBERS.test(device) || !DIGITS.test(inode)) continue;
    let pathStart = afterInode;
    while (text.charCodeAt(pathStart) === 32) pathStart++;
    let path: string | null = pathStart < eol ? text.slice(pathStart, eol) : null;
    const pseudo = path !== null && path.startsWith('[') && path.endsWith(']');
    const deleted = path !== null && !pseudo && path.endsWith(DELETED);
    if (deleted && path !== null) path = path.slice(0, -DELETED.length);
    into.push(
      scanId,
      pid,
      `0x${start}`,
      `0x${end}`,
      text.slice(afterRange + 1, afterPermissions),
      Number.parseInt(offset, 16),
      device,
      Number(inode),
      path,
      pseudo ? 1 : 0,
      deleted ? 1 : 0,
    );
    rows++;
  }
  return rows;
}

/** The rows of one process's maps text as records (appendMapValues, one object per line). */
export function parseMaps(scanId: number, pid: number, text: string): ProcessMemoryMapRow[] {
  const values: SqlRowValue[] = [];
  const count = appendMapValues(scanId, pid, text, values);
  const width = MEMORY_MAP_COLUMNS.length;
  const rows: ProcessMemoryMapRow[] = [];
  for (let i = 0; i < count; i++) {
    const row: Record<string, unknown> = {};
    MEMORY_MAP_COLUMNS.forEach((column, c) => (row[column] = values[i * width + c]));
    row.pseudo = row.pseudo === 1;
    row.deleted = row.deleted === 1;
    rows.push(row as ProcessMemoryMapRow);
  }
  return rows;
}

/** What reading the maps of some processes gave. */
export interface MapsReading {
  /** process_memory_map: row after row in MEMORY_MAP_COLUMNS order (appendMapValues); empty unless asked for. */
  readonly values: SqlRowValue[];
  readonly rows: number;
  /** process_libraries rows; empty unless asked for. */
  readonly libraries: ProcessLibraryRow[];
  /** Pids whose maps could not be read (permission denied: another user's process without root). */
  readonly unreadable: number[];
}

/** The tables a maps read fills. */
export interface MapsWanted {
  readonly memoryMap: boolean;
  readonly libraries: boolean;
}

/**
 * Read and parse `/proc/PID/maps` of each pid once for both tables that come from it; a process that
 * exited meanwhile is skipped.
 */
export function readMaps(procRoot: string, scanId: number, pids: Iterable<number>, wanted: MapsWanted): MapsReading {
  const values: SqlRowValue[] = [];
  const libraries: ProcessLibraryRow[] = [];
  const unreadable: number[] = [];
  let rows = 0;
  // A refused or vanished file throws; without stack traces the throws cost little.
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    for (const pid of pids) {
      const text = readProcTextIfThere(`${procRoot}/${pid}/maps`);
      if (text === 'unreadable') {
        unreadable.push(pid);
        continue;
      }
      if (text === 'gone') continue;
      // Without process_memory_map, each process's rows go to a scratch array, dropped once its libraries are found.
      const into = wanted.memoryMap ? values : [];
      const first = into.length;
      const count = appendMapValues(scanId, pid, text, into);
      keepLiteralNames(procRoot, pid, into, first, count);
      if (wanted.memoryMap) rows += count;
      if (wanted.libraries) appendLibraries(scanId, pid, into, first, count, libraries);
    }
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
  return {values, rows, libraries, unreadable};
}

const WIDTH = MEMORY_MAP_COLUMNS.length;
const START = MEMORY_MAP_COLUMNS.indexOf('start');
const END = MEMORY_MAP_COLUMNS.indexOf('end');
const PERMISSIONS = MEMORY_MAP_COLUMNS.indexOf('permissions');
const DEVICE = MEMORY_MAP_COLUMNS.indexOf('device');
const INODE = MEMORY_MAP_COLUMNS.indexOf('inode');
const PATH = MEMORY_MAP_COLUMNS.indexOf('path');
const DELETED_COLUMN = MEMORY_MAP_COLUMNS.indexOf('deleted');

/** st_dev of a `major:minor` device (hex, as /proc/PID/maps prints it), in glibc's makedev() encoding. */
export function deviceNumber(device: string): number {
  const [major = 0, minor = 0] = device.split(':').map((part) => Number.parseInt(part, 16));
  return (major % 0x1000) * 0x100 + (minor % 0x100) + Math.floor(minor / 0x100) * 0x10_0000 + Math.floor(major / 0x1000) * 2 ** 44;
}

/**
 * A mapping marked ` (deleted)` whose file really is named so (the very file, by device and inode, sits at
 * the full marked path: sameFileAt) gets its full name back and is not deleted. Files that look unlinked
 * are rare, so this costs one stat each.
 */
function keepLiteralNames(procRoot: string, pid: number, values: SqlRowValue[], first: number, count: number): void {
  const literal = new Map<string, boolean>();
  for (let row = 0; row < count; row++) {
    const at = first + row * WIDTH;
    if (values[at + DELETED_COLUMN] !== 1) continue;
    const marked = `${values[at + PATH] as string}${DELETED}`;
    const inode = values[at + INODE] as number;
    const key = `${inode} ${marked}`;
    let named = literal.get(key);
    if (named === undefined) {
      named = sameFileAt(`${procRoot}/${pid}/root${marked}`, {dev: deviceNumber(values[at + DEVICE] as string), ino: inode}) !== undefined;
      literal.set(key, named);
    }
    if (named) {
      values[at + PATH] = marked;
      values[at + DELETED_COLUMN] = 0;
    }
  }
}

/** `0x…` addresses as the kernel prints them (no leading zeros past 8 digits): the longer is larger. */
function addressBelow(a: string, b: string): boolean {
  return a.length === b.length ? a < b : a.length < b.length;
}

/**
 * The process_libraries rows of one process from its `count` memory-map rows at `values[first…]`: one
 * per file (device, inode, path) with an executable mapping, spanning its executable mappings.
 */
function appendLibraries(scanId: number, pid: number, values: readonly SqlRowValue[], first: number, count: number, into: ProcessLibraryRow[]): void {
  const byFile = new Map<string, {-readonly [K in keyof ProcessLibraryRow]: ProcessLibraryRow[K]}>();
  for (let row = 0; row < count; row++) {
    const at = first + row * WIDTH;
    const inode = values[at + INODE] as number;
    const path = values[at + PATH] as string | null;
    if (inode === 0 || path === null || (values[at + PERMISSIONS] as string).charAt(2) !== 'x') continue;
    const device = values[at + DEVICE] as string;
    const start = values[at + START] as string;
    const end = values[at + END] as string;
    const key = `${device} ${inode} ${path}`;
    const seen = byFile.get(key);
    if (seen === undefined) {
      byFile.set(key, {scan_id: scanId, pid, path, device, inode, start, end, deleted: values[at + DELETED_COLUMN] === 1});
    } else {
      if (addressBelow(start, seen.start)) seen.start = start;
      if (addressBelow(seen.end, end)) seen.end = end;
    }
  }
  for (const library of byFile.values()) into.push(library);
}
