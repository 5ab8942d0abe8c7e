// Rule lanes by memory (src/detection/lane-memory.ts): what the available memory holds, at least one lane.
import {readFileSync} from 'node:fs';

import {describe, expect, it} from 'vitest';

import {availableMemory, laneBytes, lanesForMemory, WORKER_BASE_BYTES} from '../../src/detection/lane-memory.js';
import {pageCacheBytes} from '../../src/detection/rule-database.js';

const MIB = 1024 * 1024;

describe('rule lanes by memory', () => {
  it('a lane costs its base and a page cache a quarter above the snapshot, capped', () => {
    expect(laneBytes(40 * MIB)).toBe(WORKER_BASE_BYTES + 52 * MIB);
    expect(pageCacheBytes(40 * MIB)).toBe(52 * MIB);
    expect(pageCacheBytes(4096 * MIB)).toBe(512 * MIB);
  });

  it('half the available memory, divided by what a lane costs, and never fewer than one', () => {
    // 30,000 processes (41 MiB): a lane ≈ 109 MiB.
    const snapshot = 41 * MIB;
    expect(lanesForMemory(snapshot, 16 * 1024 * MIB)).toBeGreaterThanOrEqual(64);
    expect(lanesForMemory(snapshot, 450 * MIB)).toBe(2);
    expect(lanesForMemory(snapshot, 300 * MIB)).toBe(1);
    expect(lanesForMemory(snapshot, 0)).toBe(1);
  });

  it('the available memory is known on Linux, and no more than the machine has', () => {
    const total = Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) * 1024;
    const available = availableMemory();
    expect(available).toBeGreaterThan(0);
    expect(available).toBeLessThanOrEqual(total);
  });
});
