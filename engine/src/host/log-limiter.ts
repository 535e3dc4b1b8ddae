/**
 * A token bucket per mod for log lines: a mod may log `ratePerSecond` lines a second on average
 * (bursts up to the same number); lines over that are dropped and counted, and the count is
 * reported with the next line let through.
 */
export class LogLimiter {
  readonly #rate: number;
  readonly #buckets = new Map<string, { tokens: number; at: number; dropped: number }>();

  constructor(ratePerSecond: number) {
    this.#rate = ratePerSecond;
  }

  /** Whether to let this line through, and how many lines were dropped before it. */
  admit(mod: string, now = performance.now()): { admit: boolean; dropped: number } {
    let bucket = this.#buckets.get(mod);
    if (bucket === undefined) {
      bucket = { tokens: this.#rate, at: now, dropped: 0 };
      this.#buckets.set(mod, bucket);
    }
    bucket.tokens = Math.min(this.#rate, bucket.tokens + ((now - bucket.at) / 1000) * this.#rate);
    bucket.at = now;
    if (bucket.tokens < 1) {
      bucket.dropped++;
      return { admit: false, dropped: 0 };
    }
    bucket.tokens -= 1;
    const dropped = bucket.dropped;
    bucket.dropped = 0;
    return { admit: true, dropped };
  }
}
