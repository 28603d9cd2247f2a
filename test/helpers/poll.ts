/** Polling for a state another process reaches in its own time (no vitest import: the reliability suite uses it too). */

/** How long pollUntil waits unless told otherwise. */
export const POLL_TIMEOUT_MS = 20_000;

/**
 * Reads until `done` holds or the time is up, and returns the last value read either way: the caller
 * asserts on it, so a timeout fails with the value that was actually there.
 */
export async function pollUntil<T>(read: () => Promise<T> | T, done: (v: T) => boolean, timeoutMs = POLL_TIMEOUT_MS, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
