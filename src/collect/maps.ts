// process_memory_map: /proc/PID/maps parsed line by line (proc(5)): address range, permissions, offset,
// device, inode and the mapped path, with the kernel's ` (deleted)` marker and pseudo paths as columns.
import type {ProcessMemoryMapRow} from '../models/live-tables.js';

const DELETED = ' (deleted)';
const LINE = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) ([0-9a-f]+:[0-9a-f]+) (\d+)(?: +(.*))?$/;

/**
 * Rows of one process's maps text. Addresses stay hex text (`0x…`: 64-bit values exceed JSON numbers);
 * the offset is a number (file offsets stay below 2^53). A path is null for anonymous memory. Malformed
 * lines are skipped.
 */
export function parseMaps(scanId: number, pid: number, text: string): ProcessMemoryMapRow[] {
  const rows: ProcessMemoryMapRow[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const m = LINE.exec(line);
    if (m === null) continue;
    let path = m[7] === undefined || m[7] === '' ? null : m[7];
    const pseudo = path !== null && path.startsWith('[') && path.endsWith(']');
    const deleted = path !== null && !pseudo && path.endsWith(DELETED);
    if (deleted && path !== null) path = path.slice(0, -DELETED.length);
    rows.push({
      scan_id: scanId,
      pid,
      start: `0x${m[1] as string}`,
      end: `0x${m[2] as string}`,
      permissions: m[3] as string,
      offset: Number.parseInt(m[4] as string, 16),
      device: m[5] as string,
      inode: Number(m[6]),
      path,
      pseudo,
      deleted,
    });
  }
  return rows;
}
