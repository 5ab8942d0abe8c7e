// Host identity: the `host` object every record that leaves DaemonEye carries (scan, export, query, diff,
// collect manifests, alerts in every sink), so rows from thousands of hosts can be told apart without a second
// export of `scans`. Built from a scan's own columns: the identity is recorded once per scan, not per row.
import {z} from 'zod';

import type {ScanRecord} from './scan.js';

/** Static key/value pairs configured per host (osquery's decorations), e.g. `{env: "prod", team: "payments"}`. */
export const DecorationsSchema = z
  .record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'decoration names are letters, digits, ".", "_" and "-", at most 64'), z.string().max(1024))
  .describe("Static labels put on every record of this host (osquery's decorations), e.g. `{env: prod, team: payments}`");
export type Decorations = z.infer<typeof DecorationsSchema>;

export const HostSchema = z
  .object({
    id: z
      .string()
      .nullable()
      .describe('Host identifier: the machine id (`/etc/machine-id`, 32 hex digits), stable across reboots and renames; null when the host has none'),
    hostname: z.string().describe('Host name'),
    boot_id: z.string().nullable().describe('Boot ID (/proc/sys/kernel/random/boot_id): changes on every boot'),
    os: z.string().nullable().describe('Operating system and distribution'),
    kernel: z.string().nullable().describe('Kernel release'),
    arch: z.string().nullable().describe('CPU architecture'),
    decorations: DecorationsSchema,
  })
  .strict()
  .describe('The host a record comes from');
export type Host = z.infer<typeof HostSchema>;

/** The host object of a scan (older snapshot files: `id` null, no decorations). */
export function hostOfScan(
  scan: Pick<ScanRecord, 'hostname' | 'boot_id' | 'os' | 'kernel' | 'arch'> & {host_id?: string | null; decorations?: Decorations | null},
): Host {
  return {
    id: scan.host_id ?? null,
    hostname: scan.hostname,
    boot_id: scan.boot_id,
    os: scan.os,
    kernel: scan.kernel,
    arch: scan.arch,
    decorations: scan.decorations ?? {},
  };
}

/** Two host objects name the same host (same machine id and hostname). */
export function sameHost(a: Host, b: Host): boolean {
  return a.id === b.id && a.hostname === b.hostname;
}

/**
 * The host of each row of a result over several scans: the row's own `scan_id` when it names one, else the
 * only host all scans share, else null (a result mixing hosts whose row does not say which).
 */
export function hostResolver(scans: readonly ScanRecord[]): (row: Readonly<Record<string, unknown>>) => Host | null {
  const byScan = new Map(scans.map((scan) => [scan.id, hostOfScan(scan)]));
  const hosts = [...byScan.values()];
  const only = hosts.length > 0 && hosts.every((h) => sameHost(h, hosts[0] as Host)) ? (hosts.at(-1) as Host) : null;
  return (row) => (typeof row.scan_id === 'number' ? (byScan.get(row.scan_id) ?? only) : only);
}
