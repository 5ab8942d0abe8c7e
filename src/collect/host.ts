// Host facts for the scan record: from /proc and node:os on Linux (a handful of tiny reads, well under a
// millisecond), from systeminformation elsewhere or when asked to.
import {readFileSync} from 'node:fs';
import {arch, hostname, machine, release, type as osType, uptime} from 'node:os';

import {parseBootTimeSeconds, parseOsRelease, parseUptimeSeconds} from './parsers.js';
import {escapeLatin1, escapeText} from './text-encoding.js';

export interface HostFacts {
  readonly hostname: string;
  /** /etc/machine-id (systemd; D-Bus's copy as fallback), 32 lower-case hex digits; null when absent or malformed. */
  readonly machine_id: string | null;
  readonly os: string | null;
  readonly kernel: string | null;
  readonly arch: string | null;
  readonly boot_time: number | null;
  readonly boot_id: string | null;
  readonly ld_so_preload: string | null;
}

function readOptional(path: string, encoding: 'utf8' | 'latin1' = 'utf8'): string | null {
  try {
    return readFileSync(path, encoding);
  } catch {
    return null;
  }
}

const escapeOptional = (text: string | null): string | null => (text === null ? null : escapeLatin1(text));

function machineName(): string {
  try {
    return machine();
  } catch {
    return arch();
  }
}

/** The machine id: /etc/machine-id, else /var/lib/dbus/machine-id; null unless 32 hex digits (an empty file is a first boot's). */
export function readMachineId(etc = '/etc'): string | null {
  for (const path of [`${etc}/machine-id`, '/var/lib/dbus/machine-id']) {
    const id = readOptional(path)?.trim().toLowerCase();
    if (id !== undefined && /^[0-9a-f]{32}$/.test(id)) return id;
  }
  return null;
}

/** Seconds since boot from /proc/uptime (10 ms resolution), else os.uptime(). */
export function readUptimeSeconds(procRoot = '/proc'): number {
  const text = readOptional(`${procRoot}/uptime`);
  return (text === null ? null : parseUptimeSeconds(text)) ?? uptime();
}

/**
 * Linux host facts. `boot_time` is /proc/stat's `btime` (whole seconds, fixed for the boot), so that a
 * process gets the same `start_time` in every scan. The host name, OS name and /etc/ld.so.preload (a
 * rootkit's file) are in the one text form of every table (escapeBytes).
 */
export function linuxHostFacts(procRoot = '/proc', etc = '/etc'): HostFacts {
  const stat = readOptional(`${procRoot}/stat`);
  const btime = stat === null ? null : parseBootTimeSeconds(stat);
  const osRelease = readOptional(`${etc}/os-release`) ?? readOptional('/usr/lib/os-release');
  const preload = readOptional(`${etc}/ld.so.preload`, 'latin1');
  const os = (osRelease === null ? null : parseOsRelease(osRelease)) ?? osType();
  return {
    hostname: escapeText(hostname()),
    machine_id: readMachineId(etc),
    os: escapeText(os),
    kernel: release(),
    arch: machineName(),
    boot_time: btime === null ? Math.round(Date.now() - uptime() * 1000) : btime * 1000,
    boot_id: readOptional(`${procRoot}/sys/kernel/random/boot_id`)?.trim() ?? null,
    ld_so_preload: escapeOptional(preload),
  };
}

/** Host facts through systeminformation (macOS, Windows, `--collector systeminformation`). */
export async function systemInformationHostFacts(): Promise<HostFacts> {
  const si = await import('systeminformation');
  const info = await si.osInfo();
  const distro = [info.distro, info.release].filter((part) => part !== '' && part !== 'unknown').join(' ');
  const bootId = process.platform === 'linux' ? (readOptional('/proc/sys/kernel/random/boot_id')?.trim() ?? null) : null;
  return {
    hostname: escapeText(info.hostname !== '' ? info.hostname : hostname()),
    machine_id: process.platform === 'linux' ? readMachineId() : null,
    os: distro !== '' ? distro : info.platform,
    kernel: info.kernel !== '' ? info.kernel : release(),
    arch: info.arch !== '' ? info.arch : machineName(),
    boot_time: Math.round(Date.now() - uptime() * 1000),
    boot_id: bootId,
    ld_so_preload: process.platform === 'linux' ? escapeOptional(readOptional('/etc/ld.so.preload', 'latin1')) : null,
  };
}
