// process_memory_map: /proc/PID/maps parsed line by line (proc(5)): address range, permissions, offset,
// device, inode and the mapped path (exact bytes, in the one text form), with the kernel's ` (deleted)`
// marker and pseudo paths as columns.
import {readlinkSync} from 'node:fs';

import type {SqlRowValue} from '../models/columns.js';
import type {CollectedRow, ProcessLibraryRow, ProcessMemoryMapRow} from '../models/live-tables.js';
import {DELETED_MARKER} from './parsers.js';
import {errorCode, isGone, readProcLines, sameFileAt} from './proc-read.js';
import {escapeLatin1} from './text-encoding.js';

const DELETED = DELETED_MARKER;
const HEX = /^[0-9a-f]+$/;
const DEVICE_NUMBERS = /^[0-9a-f]+:[0-9a-f]+$/;
const DIGITS = /^\d+$/;

/** The process_memory_map columns a collector fills, in the registry's order after `scan_id` (storage stamps that; a test holds the two together). */
export const MEMORY_MAP_COLUMNS = ['pid', 'start', 'end', 'permissions', 'offset', 'device', 'inode', 'path', 'pseudo', 'deleted'] as const;

/**
 * What a maps text alone cannot say, asked of the files of the process whose maps they are (readMaps gives
 * one per process); without it the text is taken as the kernel wrote it.
 */
export interface MapsFileAccess {
  /**
   * The exact bytes of a mapping's path: the link /proc/PID/map_files/START-END (root only), or null. The
   * maps text escapes a newline in a path as `\012` and leaves a backslash as it is, so a path holding a
   * backslash may be a newline or the literal text `\012`: the link tells them apart.
   */
  exactPath(start: string, end: string): Buffer | null;
  /** The file of this device (`major:minor`, hex) and inode sits at this full path: it is really named so. */
  sameFile(path: Buffer, device: string, inode: number): boolean;
}

/**
 * Append the SQL values of each line of one process's maps text (bytes read as latin1) to `into`, row after
 * row in MEMORY_MAP_COLUMNS order; returns the number of rows appended. A line is
 * `start-end perms offset major:minor inode [path]` (proc(5)); the path runs to the end of the line and may
 * hold spaces. Addresses stay hex text (`0x…`: 64-bit values exceed JavaScript numbers); the offset is a
 * number (file offsets stay below 2^53); the path is null for anonymous memory, else in the one text form
 * (escapeBytes), its `\012` a newline again (exactly, through `access`, when it holds a backslash); `pseudo`
 * and `deleted` are 0 or 1. A path ending in the kernel's ` (deleted)` marker is deleted unless `access`
 * finds the very file at the full marked path (a file really named so keeps its name). Malformed lines are
 * skipped; so are the lines without `x` in their permissions when `executableOnly` (what libraryRows reads).
 * Values rather than row objects, cut with indexOf rather than a regular expression over each line: a
 * host has tens of thousands of these rows and they go straight to SQLite.
 */
export function appendMapValues(pid: number, text: string, into: SqlRowValue[], access?: MapsFileAccess, executableOnly = false): number {
  let rows = 0;
  let literal: Map<string, boolean> | undefined;
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
    // Only process_libraries wanted (no executable bit, no library row): most lines stop here.
    if (executableOnly && text.charCodeAt(afterRange + 3) !== 0x78) continue;
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
    if (path !== null && !pseudo && path.includes('\\')) {
      path = access?.exactPath(start, end)?.toString('latin1') ?? path.replaceAll('\\012', '\n');
    }
    let deleted = path !== null && !pseudo && path.endsWith(DELETED);
    if (deleted && path !== null && access !== undefined) {
      literal ??= new Map();
      const key = `${device} ${inode} ${path}`;
      let named = literal.get(key);
      if (named === undefined) {
        named = access.sameFile(Buffer.from(path, 'latin1'), device, Number(inode));
        literal.set(key, named);
      }
      deleted = !named;
    }
    if (deleted && path !== null) path = path.slice(0, -DELETED.length);
    into.push(
      pid,
      `0x${start}`,
      `0x${end}`,
      text.slice(afterRange + 1, afterPermissions),
      Number.parseInt(offset, 16),
      device,
      Number(inode),
      path === null ? null : escapeLatin1(path),
      pseudo ? 1 : 0,
      deleted ? 1 : 0,
    );
    rows++;
  }
  return rows;
}

/** The rows of one process's maps text as records (appendMapValues, one object per line). */
export function parseMaps(pid: number, text: string): CollectedRow<ProcessMemoryMapRow>[] {
  const values: SqlRowValue[] = [];
  const count = appendMapValues(pid, text, values);
  const width = MEMORY_MAP_COLUMNS.length;
  const rows: CollectedRow<ProcessMemoryMapRow>[] = [];
  for (let i = 0; i < count; i++) {
    const row: Record<string, unknown> = {};
    MEMORY_MAP_COLUMNS.forEach((column, c) => (row[column] = values[i * width + c]));
    row.pseudo = row.pseudo === 1;
    row.deleted = row.deleted === 1;
    rows.push(row as CollectedRow<ProcessMemoryMapRow>);
  }
  return rows;
}

/** One process's maps text (bytes read as latin1) and the access to its files appendMapValues may need. */
export interface MapsText {
  readonly text: string;
  readonly access: MapsFileAccess;
}

/**
 * Read `/proc/PID/maps` once (for every table that comes from it), its first `maxLines` lines at most (in the
 * kernel's order, by address) with how many were read and whether more were left; refused or vanished files
 * say so.
 */
export function readMapsFile(
  procRoot: string,
  pid: number,
  maxLines = Number.POSITIVE_INFINITY,
): (MapsText & {readonly lines: number; readonly more: boolean}) | 'unreadable' | 'gone' {
  let read: ReturnType<typeof readProcLines>;
  try {
    read = readProcLines(`${procRoot}/${pid}/maps`, maxLines);
  } catch (error) {
    return isGone(errorCode(error)) ? 'gone' : 'unreadable';
  }
  return {text: read.text, lines: read.lines, more: read.more, access: mapsFileAccess(procRoot, pid)};
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
 * The files of one process for appendMapValues: map_files links for exact paths, and a file really named
 * `… (deleted)` when the very file (device and inode, sameFileAt) sits at the full marked path, looked up
 * through /proc/PID/root (the process's own mount namespace). Files that look unlinked are rare, and paths
 * with a backslash rarer, so this costs a stat or a readlink now and then.
 */
function mapsFileAccess(procRoot: string, pid: number): MapsFileAccess {
  return {
    exactPath(start, end) {
      try {
        // map_files entries are named by the addresses without maps' zero padding.
        return readlinkSync(`${procRoot}/${pid}/map_files/${start.replace(/^0+(?=.)/, '')}-${end.replace(/^0+(?=.)/, '')}`, {encoding: 'buffer'});
      } catch {
        return null; // not root, or the mapping is gone: the maps text it is
      }
    },
    sameFile(path, device, inode) {
      return sameFileAt(Buffer.concat([Buffer.from(`${procRoot}/${pid}/root`), path]), {dev: deviceNumber(device), ino: inode}) !== undefined;
    },
  };
}

/** `0x…` addresses as the kernel prints them (no leading zeros past 8 digits): the longer is larger. */
function addressBelow(a: string, b: string): boolean {
  return a.length === b.length ? a < b : a.length < b.length;
}

/**
 * The process_libraries rows of one process from its memory-map rows (appendMapValues' values at
 * `values[start…end)`): one per file (device, inode, path) with an executable mapping, spanning its
 * executable mappings.
 */
export function libraryRows(pid: number, values: readonly SqlRowValue[], start = 0, end = values.length): CollectedRow<ProcessLibraryRow>[] {
  const byFile = new Map<string, {-readonly [K in keyof CollectedRow<ProcessLibraryRow>]: ProcessLibraryRow[K]}>();
  for (let at = start; at < end; at += WIDTH) {
    const inode = values[at + INODE] as number;
    const path = values[at + PATH] as string | null;
    if (inode === 0 || path === null || (values[at + PERMISSIONS] as string).charAt(2) !== 'x') continue;
    const device = values[at + DEVICE] as string;
    const start = values[at + START] as string;
    const end = values[at + END] as string;
    const key = `${device} ${inode} ${path}`;
    const seen = byFile.get(key);
    if (seen === undefined) {
      byFile.set(key, {pid, path, device, inode, start, end, deleted: values[at + DELETED_COLUMN] === 1});
    } else {
      if (addressBelow(start, seen.start)) seen.start = start;
      if (addressBelow(seen.end, end)) seen.end = end;
    }
  }
  return [...byFile.values()];
}
