// Small helpers shared by the HTTP senders (the webhook sink, ClickHouse inserts): which answers to retry, the
// backoff between tries, an abortable sleep, and a fetch error reduced to its cause.

/** Which HTTP answers are worth retrying: server errors, 408 Request Timeout and 429 Too Many Requests. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

const BACKOFF_BASE_MS = 200;
const BACKOFF_CAP_MS = 10_000;

/**
 * The wait before retry number `attempt` (1 = after the first try), ms: exponential from 200 ms, capped at
 * 10 s, with full jitter (a random share of the bound, `random()` in [0, 1)), so many hosts do not retry in
 * lockstep (AWS Architecture Blog, "Exponential Backoff And Jitter").
 */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  return Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1)) * random();
}

/** A fetch error as its cause's code (ECONNREFUSED, …) or message. */
export function describeFetchError(error: unknown): string {
  const cause = (error as {cause?: {code?: string; message?: string}}).cause;
  if (cause?.code !== undefined) return cause.code;
  if (cause?.message !== undefined) return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** Wait `ms`; resolves false at once when `signal` aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, {once: true});
  });
}
