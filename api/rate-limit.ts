/**
 * Fixed-window request limits, kept in this API process's memory. Behind several API replicas each
 * replica counts on its own, so the effective limit is per replica (put a shared limiter in front, or
 * swap this for a Redis-backed one, when that matters).
 */
export interface WindowLimiter {
  /** Counts one request for `key`; returns 0 when allowed, else the seconds until the window resets. */
  hit(key: string): number;
}

export function createWindowLimiter(limit: number, windowMs: number, now: () => number = Date.now): WindowLimiter {
  const windows = new Map<string, { count: number; resetAt: number }>();
  let nextSweep = now() + windowMs;
  return {
    hit(key) {
      const t = now();
      if (t >= nextSweep) {
        for (const [k, w] of windows) if (w.resetAt <= t) windows.delete(k);
        nextSweep = t + windowMs;
      }
      let w = windows.get(key);
      if (!w || w.resetAt <= t) {
        w = { count: 0, resetAt: t + windowMs };
        windows.set(key, w);
      }
      w.count += 1;
      return w.count > limit ? Math.max(1, Math.ceil((w.resetAt - t) / 1000)) : 0;
    },
  };
}
