// Environment limits: how much of a process's environment (/proc/PID/environ) a scan reads
// (collection.environ). Whoever starts a process chooses its environment's length as freely as its argv's (the
// two share up to about 6 MiB with `ulimit -s unlimited`; each entry up to 128 KiB), and before these limits
// every process's environment was read whole on every scan, for LD_PRELOAD, LD_AUDIT and process_envs: 300
// unprivileged processes of 2 MB each tripled a live detect's CPU time and took its memory from about 100 MB
// to 700 (docs/performance.md, "Environments"). The rule is argv's (argv-limit.ts): every process is read up to
// a floor in the walk, the longer ones again after it, each to an equal share of what is left of the scan's
// budget among those still waiting, never past a ceiling. What is read is the environment's start, streamed
// through one chunk (envs.ts keeps only the entries it selects as they pass): a variable after the cut is not
// seen, so the cut is said on the process (`environ_cut`, `environ_bytes`), in the scan's warnings and in a
// detect run's collection_limits, and the built-in rule oversized-environment names the process.
//
// Its own budget rather than argv's: a flood of long environments must not shrink what is kept of the
// command lines (the reverse shell's payload is there), nor a flood of long argvs hide an LD_PRELOAD; and the
// costs differ (an argv kept is copied through every rule, an environment read is only scanned).
import {type ArgvLimits, argvShare} from './argv-limit.js';
import {COLLECTION_LIMIT_PREFIX, type FanoutCut, figure, namedCuts} from './fanout.js';

/** The limits (collection.environ), in bytes of /proc/PID/environ (the NULs between entries included): floor, ceiling and budget as argv's. */
export type EnvironLimits = ArgvLimits;

/** The bytes a process waiting for its second read may read in all (argvShare: its floor plus an equal share of what is left of the budget, never past the ceiling). */
export function environShare(limits: EnvironLimits, spent: number, waiting: number): number {
  return argvShare(limits, spent, waiting);
}

/** The bytes every process's environment is read to in the walk: its floor, never past the ceiling, at least 1. */
export function environFloor(limits: EnvironLimits): number {
  return Math.max(1, Math.min(limits.floor, limits.ceiling));
}

/**
 * The one warning line of the scan's environment cuts, e.g. `collection limit: 2 processes have a longer
 * environment than the scan read (pid 4242: 65,536 of 2,000,019 bytes; …); a variable after the bytes read is
 * not seen (LD_PRELOAD, LD_AUDIT, process_envs), and processes.environ_cut is true for them: raise
 * collection.environ (budget, ceiling) to read more`. `read` and `total` in bytes (total null: the kernel did
 * not say). At most ten pids, the longest first, then how many more.
 */
export function environWarning(cuts: readonly FanoutCut[]): string {
  const count = `${figure(cuts.length)} process${cuts.length === 1 ? ' has' : 'es have'}`;
  return `${COLLECTION_LIMIT_PREFIX}${count} a longer environment than the scan read (${namedCuts(cuts, ' bytes')}); a variable after the bytes read is not seen (LD_PRELOAD, LD_AUDIT, process_envs), and processes.environ_cut is true for them: raise collection.environ (budget, ceiling) to read more`;
}
