import { performance } from "node:perf_hooks";

/** Default rates when a LoadSpec names none. */
export const DEFAULT_LOG_LINES_PER_SECOND = 200;
export const DEFAULT_LOG_BYTES_PER_SECOND = 1024 * 1024;

/**
 * One mod's log rate inside the sandbox: token buckets for lines and for characters per second
 * (bursts up to one second's worth). Lines over either are dropped before they leave the sandbox
 * and counted; the count goes out as one summary line at most once a second. A line longer than
 * what is left may still pass and leave the character bucket in debt, so one long line is
 * followed by silence instead of never passing.
 */
export class LogBudget {
  #linesPerSecond: number;
  #bytesPerSecond: number;
  #lines: number;
  #bytes: number;
  #at: number;
  #dropped = 0;
  #lastSummary = -Infinity;

  constructor(linesPerSecond = DEFAULT_LOG_LINES_PER_SECOND, bytesPerSecond = DEFAULT_LOG_BYTES_PER_SECOND, now = performance.now()) {
    this.#linesPerSecond = linesPerSecond;
    this.#bytesPerSecond = bytesPerSecond;
    this.#lines = linesPerSecond;
    this.#bytes = bytesPerSecond;
    this.#at = now;
  }

  /** New rates (a new version of the mod may come with other host options). */
  setRates(linesPerSecond: number, bytesPerSecond: number): void {
    this.#linesPerSecond = linesPerSecond;
    this.#bytesPerSecond = bytesPerSecond;
  }

  /** Whether a line of `chars` characters may go out now; if not, it is counted as dropped. */
  admit(chars: number, now = performance.now()): boolean {
    const seconds = Math.max(0, now - this.#at) / 1000;
    this.#at = now;
    this.#lines = Math.min(this.#linesPerSecond, this.#lines + seconds * this.#linesPerSecond);
    this.#bytes = Math.min(this.#bytesPerSecond, this.#bytes + seconds * this.#bytesPerSecond);
    if (this.#lines < 1 || this.#bytes <= 0) {
      this.#dropped++;
      return false;
    }
    this.#lines -= 1;
    this.#bytes -= chars;
    return true;
  }

  /** Lines dropped before they reached the budget (inside the isolate, while muted). */
  countDropped(lines: number): void {
    this.#dropped += lines;
  }

  /** The "N lines dropped" line to send now (at most one a second), or undefined. */
  summary(now = performance.now()): string | undefined {
    if (this.#dropped === 0 || now - this.#lastSummary < 1000) return undefined;
    const text = `${this.#dropped} log lines dropped (over the log limits: ${this.#linesPerSecond} lines or ${this.#bytesPerSecond} characters per second, or the lines one call may log)`;
    this.#dropped = 0;
    this.#lastSummary = now;
    return text;
  }
}
