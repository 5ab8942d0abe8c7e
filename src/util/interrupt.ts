// How a run ends on SIGTERM, SIGINT or SIGHUP: at once, leaving nothing half-written. The CLI installs the
// handler at start (installInterruptHandlers); code that makes something a signal must not leave behind
// registers its undo while it holds it (onInterrupt): the temp file of an atomic write, a lock directory,
// a scratch directory. On a signal the undos run, newest first, and the process then ends by that same
// signal, as if it had no handler (SIGNAL_EXIT_STATUS, src/errors.ts: a shell shows 143 for SIGTERM, 130
// for SIGINT; a service manager sees a clean stop). Rule workers are threads of the process and end with it.
//
// A handler runs on the event loop, so a signal waits for the synchronous stretch the main thread is in:
// long work over input of any size runs in slices (TimeSlicer) or in a worker, never in one stretch.
import {performance} from 'node:perf_hooks';

import {SIGNAL_EXIT_STATUS} from '../errors.js';

/** The signals that end a run (their status in a shell: src/errors.ts). */
export type InterruptSignal = keyof typeof SIGNAL_EXIT_STATUS;

const undos = new Set<() => void>();
let installed = false;
/** The run's product is published (settleRun): a first signal no longer ends the run. */
let settled = false;
/** The signal a settled run let pass; a second one ends it. */
let passed: InterruptSignal | undefined;

/**
 * Register `undo`, run synchronously if the run is interrupted by a signal before the returned function
 * is called (call it once the state `undo` removes is gone or published). `undo` must not throw for long
 * (an error is ignored) nor wait: the process ends right after it.
 */
export function onInterrupt(undo: () => void): () => void {
  const entry = (): void => undo();
  undos.add(entry);
  return () => {
    undos.delete(entry);
  };
}

/** Run every registered undo, newest first, ignoring their errors; each runs at most once. */
export function runInterruptUndos(): void {
  const pending = [...undos].reverse();
  undos.clear();
  for (const undo of pending) {
    try {
      undo();
    } catch {
      // best effort: the next run sweeps what is left (stale temp files, stale locks)
    }
  }
}

/**
 * Say that the run's product is published (an output file renamed into place, a bundle linked): what is left
 * of the run is to report what it wrote and record its audit entry. From this call on, a first SIGTERM, SIGINT
 * or SIGHUP no longer ends the run, which ends with its own status (0) and its "wrote" line; a second signal
 * ends it by that signal at once, so a run stuck in its report is still stopped. Node reads a signal only on
 * the event loop's next turn, so a signal that came during the synchronous write ending in this call is let
 * pass too. Call it in the same synchronous stretch as the publish (no await in between): a signal is then
 * handled either before the publish (the undos remove the temp files, nothing is published, the run ends by
 * the signal) or after it (everything is published, the run ends 0), never both (docs/architecture.md,
 * "Exit codes"). Without installInterruptHandlers it changes nothing.
 */
export function settleRun(): void {
  settled = true;
}

function interrupted(signal: InterruptSignal): void {
  if (settled && passed === undefined) {
    passed = signal;
    return;
  }
  runInterruptUndos();
  // With no listener left Node restores the signal's default action, so the signal sent again ends the
  // process now, by that signal; the exit below is only for a platform where it would not.
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
  process.exit(SIGNAL_EXIT_STATUS[signal]);
}

/** Install the handlers of the signals of SIGNAL_EXIT_STATUS (once; the CLI's start-up calls it, a library user may). */
export function installInterruptHandlers(): void {
  if (installed) return;
  installed = true;
  for (const signal of Object.keys(SIGNAL_EXIT_STATUS) as InterruptSignal[]) process.on(signal, () => interrupted(signal));
}

/**
 * Run `work`, synchronous and unable to give the event loop a turn (one SQL query under a watchdog on the main
 * thread: src/detection/in-process-lane.ts), so that a signal during it still ends the run at once. With no
 * undo registered, the signals' listeners are set aside while it runs, so the signal's default action ends the
 * process, as the handler would have (no undo to run, then the end by that signal); they are put back after.
 * With undos pending, once the run is settled (settleRun), or without the handler installed, `work` just runs and a signal waits for its end (at its
 * watchdog's limit at the latest). A signal that arrived since the loop's last turn and before this call would
 * be dropped with the listener (Node reads a signal on the event loop's turn; a listener removed before it drops
 * it): callers run this right after `await signalTurn()`, with nothing in between, which leaves only the
 * microseconds from that turn's read of the signals to this call.
 */
export function withSignalsAtDefault<T>(work: () => T): T {
  if (!installed || undos.size > 0 || settled) return work();
  const signals = Object.keys(SIGNAL_EXIT_STATUS) as InterruptSignal[];
  const saved = signals.map((signal) => [signal, process.rawListeners(signal)] as const);
  for (const signal of signals) process.removeAllListeners(signal);
  try {
    return work();
  } finally {
    for (const [signal, listeners] of saved) for (const listener of listeners) process.on(signal, listener as (signal: NodeJS.Signals) => void);
  }
}

/**
 * One turn of the event loop (setImmediate: after the loop's poll for I/O, where Node reads the signals that came),
 * so a signal that came before this call has ended the run (its handler ran) once the promise resolves.
 */
export function signalTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Cooperative time slicing for long loops on the main thread: `if (slicer.due()) await slicer.pause()`
 * inside the loop gives the event loop a turn (signals, timers, I/O) once a slice has run `sliceMs`
 * (milliseconds). `due()` costs a clock read; a loop that checks it every row stays fast.
 */
export class TimeSlicer {
  private started = performance.now();

  constructor(readonly sliceMs = 50) {}

  /** Whether the current slice has used its time. */
  due(): boolean {
    return performance.now() - this.started >= this.sliceMs;
  }

  /** Yield to the event loop, then start a new slice. */
  async pause(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.started = performance.now();
  }

  /** Yield when the slice is used up (an await on every call: for loops that await anyway). */
  async tick(): Promise<void> {
    if (this.due()) await this.pause();
  }
}
