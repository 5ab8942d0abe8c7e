// Scan metadata: one row per scan in a snapshot file's `scans` table.
import {z} from 'zod';

import {columnsOf} from './columns.js';
import {DecorationsSchema} from './host.js';

export const COLLECTORS = ['procfs', 'systeminformation'] as const;

export const ScanRecordSchema = z
  .object({
    id: z.int().describe('Scan identifier (the `scan_id` of its processes)'),
    hostname: z.string().describe('Host name'),
    host_id: z
      .string()
      .nullable()
      .describe('Host identifier: the machine id (`/etc/machine-id`), stable across reboots and renames; null when the host has none or the file predates it'),
    os: z.string().nullable().describe('Operating system and distribution'),
    kernel: z.string().nullable().describe('Kernel release'),
    arch: z.string().nullable().describe('CPU architecture'),
    boot_time: z.int().nullable().describe('Boot time, epoch milliseconds'),
    boot_id: z.string().nullable().describe('Boot ID (/proc/sys/kernel/random/boot_id)'),
    start_time: z.int().describe('When the scan started, epoch milliseconds'),
    end_time: z.int().describe('When the scan ended, epoch milliseconds'),
    process_count: z.int().nonnegative().describe('Number of processes recorded'),
    collector: z.enum(COLLECTORS).describe('Collector that produced the scan'),
    tool_version: z.string().describe('DaemonEye version that took the scan'),
    ld_so_preload: z.string().nullable().describe('Content of /etc/ld.so.preload in the one text form of every table (null when absent or unreadable)'),
    tables: z
      .array(z.string())
      .describe(
        'The host tables this scan collected (`processes` and the live-response tables it was asked for); a rule reading another one is reported, not run',
      ),
    decorations: DecorationsSchema.nullable().describe(
      "Static labels configured for this host (`collection.decorations`, osquery's decorations); null in older files",
    ),
    errors: z.array(z.string()).describe('Problems met during the scan (unreadable files, vanished processes are not errors)'),
  })
  .strict();
export type ScanRecord = z.infer<typeof ScanRecordSchema>;

export const SCAN_TABLE_COLUMNS = columnsOf(ScanRecordSchema);

/**
 * The host tables every one of `scanIds` collected, from their `scans` rows (`scans.tables`): the one answer
 * to "did this scan collect table T". A table the scans did not all collect may hold no rows, or rows of
 * other scans only, so readers and rules ask this, never "are there rows".
 */
export function heldTables(scans: readonly ScanRecord[], scanIds: readonly number[]): string[] {
  const chosen = scans.filter((s) => scanIds.includes(s.id));
  if (chosen.length === 0) return [];
  return (chosen[0] as ScanRecord).tables.filter((table) => chosen.every((s) => s.tables.includes(table)));
}
