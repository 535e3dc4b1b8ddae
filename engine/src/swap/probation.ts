/** When a freshly swapped-in version is rolled back automatically. */
export interface ProbationPolicy {
  /** How long probation lasts after a swap (ms). */
  readonly durationMs: number;
  /** How many events probation lasts at most. */
  readonly maxEvents: number;
  /** Error rate above which the version is rolled back... */
  readonly maxErrorRate: number;
  /** ...once at least this many calls were seen. */
  readonly minCalls: number;
  /** Time or memory limit hits that roll back on their own. */
  readonly maxTerminations: number;
}

export const DEFAULT_PROBATION: ProbationPolicy = {
  durationMs: 30_000,
  maxEvents: 1000,
  maxErrorRate: 0.05,
  minCalls: 20,
  maxTerminations: 2,
};

/**
 * Watches a new version's first events after a swap. `record()` returns the reason to roll back
 * the first time the version misbehaves, and nothing otherwise; after the window it stops judging.
 */
export class Probation {
  readonly #policy: ProbationPolicy;
  readonly #until: number;
  #calls = 0;
  #errors = 0;
  #terminations = 0;
  #verdictGiven = false;

  constructor(policy: ProbationPolicy, now = Date.now()) {
    this.#policy = policy;
    this.#until = now + policy.durationMs;
  }

  /** Is the window still open? */
  active(now = Date.now()): boolean {
    return !this.#verdictGiven && now < this.#until && this.#calls < this.#policy.maxEvents;
  }

  /** Records one call's outcome; returns why to roll back, once, if the version failed probation. */
  record(outcome: "ok" | "error" | "termination", now = Date.now()): string | undefined {
    if (!this.active(now)) return undefined;
    this.#calls++;
    if (outcome !== "ok") this.#errors++;
    if (outcome === "termination") this.#terminations++;
    let reason: string | undefined;
    if (this.#terminations >= this.#policy.maxTerminations) {
      reason = `hit its time or memory limit ${this.#terminations} times in its first ${this.#calls} events`;
    } else if (this.#calls >= this.#policy.minCalls && this.#errors / this.#calls > this.#policy.maxErrorRate) {
      reason = `failed ${this.#errors} of its first ${this.#calls} events (${((this.#errors / this.#calls) * 100).toFixed(1)}%, over ${(this.#policy.maxErrorRate * 100).toFixed(0)}%)`;
    }
    if (reason !== undefined) this.#verdictGiven = true;
    return reason;
  }
}
