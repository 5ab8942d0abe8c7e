// Polling for a condition the test cannot be told about (a process's /proc entry, a listener's message): one
// helper with one error text, so a test that times out says what it waited for.

/**
 * Resolve with the probe's first value that is neither `undefined` nor `false`, polling every `intervalMs`;
 * reject with "<what>: not in time" after `timeoutMs` (milliseconds).
 */
export async function waitFor<T>(probe: () => T | undefined | false, what: string, timeoutMs = 10_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not in time`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
