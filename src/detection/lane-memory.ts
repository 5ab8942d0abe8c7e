// How many rule lanes the host's memory allows. Each rule worker is a Node environment with its own sql.js,
// pattern engine and SQLite page cache (as large as the snapshot, so every rule after the first reads pages
// from memory: docs/performance.md, "Memory at scale"); the snapshot's bytes themselves are shared by every
// lane (a live snapshot's), or not held at all (a file read in place: each lane reads its pages from disk).
// On a host or container short of memory, the lanes the snapshot's size would repay are cut to what half of
// the memory still available holds, and a run left with one lane runs it on the main thread (the engine's
// in-process lane), which costs no Node environment. The memory available is the least of the
// kernel's MemAvailable and, in a control group with a memory limit, that limit less what the group uses.
import {readFileSync} from 'node:fs';

import {pageCacheBytes} from './rule-database.js';

const MIB = 1024 * 1024;

/**
 * What one rule worker costs beside its page cache, bytes: its Node environment, sql.js's WebAssembly memory
 * and the pattern engine, as measured inside a worker after the pack and the SigmaHQ rules over 30,000
 * processes (≈ 21 MiB of sql.js memory, 16 MiB of JavaScript heap, the rest Node's own).
 */
export const WORKER_BASE_BYTES = 56 * MIB;

/** The share of the available memory the rule lanes may take: the rest is left to the host. */
export const LANE_MEMORY_SHARE = 0.5;

/** Bytes one rule lane over a snapshot of `snapshotBytes` costs: its base and its page cache. */
export function laneBytes(snapshotBytes: number): number {
  return WORKER_BASE_BYTES + pageCacheBytes(snapshotBytes);
}

/**
 * The rule lanes `available` bytes of memory hold over a snapshot of `snapshotBytes` (at least one: a run
 * always runs its rules); unbounded when `available` is undefined (not known).
 */
export function lanesForMemory(snapshotBytes: number, available: number | undefined = availableMemory()): number {
  if (available === undefined) return Number.POSITIVE_INFINITY;
  return Math.max(1, Math.floor((available * LANE_MEMORY_SHARE) / laneBytes(snapshotBytes)));
}

/** A number of bytes from a /proc or /sys file's text (`max` and anything else unreadable: undefined). */
function bytesIn(path: string, pattern: RegExp = /^(\d+)\s*$/, unit = 1): number | undefined {
  try {
    const match = pattern.exec(readFileSync(path, 'utf8'));
    return match === null ? undefined : Number(match[1]) * unit;
  } catch {
    return undefined;
  }
}

/** A control group limit this large is no limit (cgroup v1 reports "unlimited" as a page-rounded 2^63). */
const NO_LIMIT = 2 ** 60;

/**
 * Bytes of memory this process may still take: the least of MemAvailable (/proc/meminfo) and, under a
 * control group memory limit (`process.constrainedMemory()`, cgroup v1 or v2), that limit less the group's
 * use (cgroup v2 `memory.current`, else this process's resident set). Undefined when neither is known.
 */
export function availableMemory(): number | undefined {
  const candidates: number[] = [];
  const meminfo = bytesIn('/proc/meminfo', /^MemAvailable:\s+(\d+) kB$/m, 1024);
  if (meminfo !== undefined) candidates.push(meminfo);
  const limit = (process as {constrainedMemory?: () => number | undefined}).constrainedMemory?.();
  if (limit !== undefined && limit > 0 && limit < NO_LIMIT) {
    const used = bytesIn('/sys/fs/cgroup/memory.current') ?? process.memoryUsage.rss();
    candidates.push(Math.max(0, limit - used));
  }
  return candidates.length === 0 ? undefined : Math.min(...candidates);
}
