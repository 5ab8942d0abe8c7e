// The systeminformation collector on a Linux host with more processes than its own command line can name: refused
// in one line before the library runs (past the limit its exec fails with E2BIG and it throws from a callback).
import {describe, expect, it} from 'vitest';

import {cpuCommandBytes, MAX_ARG_STRLEN, systemInformationRefusal} from '../../src/collect/sysinfo.js';

/** The command as systeminformation 5 writes it (lib/processes.js), the definition the byte count must equal. */
const commandOf = (pids: readonly number[]): string => `cat /proc/stat | grep "cpu "${pids.map((pid) => `;cat /proc/${pid}/stat`).join('')}`;

describe('systemInformationRefusal', () => {
  it('counts the bytes of the command the library builds, its NUL included', () => {
    for (const pids of [[], [1], [1, 22, 333, 4444, 55555, 4194303]]) expect(cpuCommandBytes(pids)).toBe(Buffer.byteLength(commandOf(pids)) + 1);
  });

  it('lets a host of ordinary size through and refuses one past the kernel’s argument limit, naming the fix', () => {
    const pids = (n: number, from: number): number[] => Array.from({length: n}, (_, i) => from + i);
    expect(systemInformationRefusal(pids(1_000, 100_000))).toBeUndefined();
    // 6,000 seven-digit pids: 23 bytes each, past 131,072.
    const refusal = systemInformationRefusal(pids(6_000, 1_000_000));
    expect(refusal?.code).toBe('COLLECTOR_UNAVAILABLE');
    expect(refusal?.exitCode).toBe(2);
    expect(refusal?.message).toContain("this host's 6000 processes");
    expect(refusal?.message).toContain(`${MAX_ARG_STRLEN}-byte limit`);
    expect(refusal?.hint).toContain('--collector procfs');
    // Just under the limit less the head room still passes; at the limit it is refused.
    const fitting = Math.floor((MAX_ARG_STRLEN - 2048 - 29) / 23);
    expect(systemInformationRefusal(pids(fitting, 1_000_000))).toBeUndefined();
    expect(systemInformationRefusal(pids(fitting + 100, 1_000_000))).toBeDefined();
  });
});
