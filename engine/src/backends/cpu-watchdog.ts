/**
 * The process backend's watchdog clock for one sandbox process: a request is charged the wall time it
 * has been at the head of the queue minus the time the sandbox's main thread (where every isolate
 * call runs) waited in a run queue for a CPU. Sleeping is charged (a wedged thread sleeps), waiting
 * for a CPU is not (a loaded machine is not the mod's fault); wall time is only a backstop, at
 * `backstopFactor` times the budget. Without schedstat (not Linux) this is plain wall time.
 */
import { performance } from "node:perf_hooks";
import { SchedClock, SchedStatReader, processSchedStatPath } from "../util/sched-stat.js";

/** Wall time past a request's budget, as a multiple of it, after which it is killed however starved. */
export const DEFAULT_WATCHDOG_BACKSTOP_FACTOR = 10;

/**
 * How much longer (ms) a request may run: `budgetMs` minus what it was charged (wall minus
 * run-queue wait), 0 to kill now. Past `budgetMs x backstopFactor` of wall time it is 0 whatever
 * the wait. Unknown wait counts as none (wall time, as before).
 */
export function watchdogRemainingMs(wallMs: number, waitMs: number | undefined, budgetMs: number, backstopFactor: number): number {
  if (wallMs >= budgetMs * backstopFactor) return 0;
  const charged = Math.max(0, wallMs - Math.max(0, waitMs ?? 0));
  // The wall backstop also bounds what is left, so a request never outlives it.
  return Math.max(0, Math.min(budgetMs - charged, budgetMs * backstopFactor - wallMs));
}

/** The watchdog clock of one sandbox process. */
export class CpuWatchdog {
  readonly #clock: SchedClock;
  readonly #backstopFactor: number;

  constructor(pid: number, backstopFactor = DEFAULT_WATCHDOG_BACKSTOP_FACTOR) {
    // Readings at most every 50 ms when requests are armed: a few per second at most.
    this.#clock = new SchedClock(new SchedStatReader(processSchedStatPath(pid)), 50);
    this.#backstopFactor = backstopFactor;
  }

  /** Called when a request is armed: keeps a reading from before it (refreshed when stale). */
  armed(nowMs = performance.now()): void {
    this.#clock.sample(nowMs);
  }

  /** How much longer the request armed at `sinceMs` with `budgetMs` may run (0: kill it). */
  remainingMs(sinceMs: number, budgetMs: number): number {
    const wall = performance.now() - sinceMs;
    return watchdogRemainingMs(wall, this.#clock.waitSinceMs(sinceMs), budgetMs, this.#backstopFactor);
  }

  /** How long (ms) the sandbox's main thread waited for a CPU since `sinceMs` (undefined: unknown). */
  waitedMs(sinceMs: number): number | undefined {
    return this.#clock.waitSinceMs(sinceMs);
  }

  close(): void {
    this.#clock.close();
  }
}
