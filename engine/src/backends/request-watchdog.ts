/**
 * The process backend's watchdog over the request at the head of the queue: past its budget plus a
 * grace period the sandbox process is presumed wedged and killed. Time the host spent answering
 * the request's capability calls is not the sandbox's (the watchdog extends by it), and neither is
 * time the sandbox's main thread waited for a CPU (backends/cpu-watchdog.ts), up to a wall backstop.
 */
import { performance } from "node:perf_hooks";
import type { CpuWatchdog } from "./cpu-watchdog.js";

/** What the watchdog reads of a queued request. */
export interface WatchedRequest {
  readonly request: { readonly id: number };
  readonly budgetMs: number;
  /** Time the host spent answering this request's capability calls (ms). */
  capabilityMs: number;
  /** How much of capabilityMs the watchdog has already added. */
  creditedMs: number;
}

/** Where the watchdog looks and what it does. */
export interface WatchdogTarget {
  /** The request at the head of the queue, if any. */
  head(): WatchedRequest | undefined;
  /** The CPU clock of the live sandbox process (undefined: wall time only). */
  clock(): CpuWatchdog | undefined;
  /** Kills the live sandbox process. */
  kill(): void;
}

/** One timer, re-armed whenever the head of the queue changes. */
export class RequestWatchdog {
  readonly #graceMs: number;
  readonly #target: WatchdogTarget;
  #timer: NodeJS.Timeout | undefined;
  #watchedId = -1;
  /** When the watched request became the head (performance.now()). */
  #watchedSince = 0;

  constructor(graceMs: number, target: WatchdogTarget) {
    this.#graceMs = graceMs;
    this.#target = target;
  }

  /** Watches the current head of the queue (nothing if the queue is empty). */
  arm(): void {
    this.clear();
    const head = this.#target.head();
    if (head === undefined) return;
    this.#watchedId = head.request.id;
    this.#watchedSince = performance.now();
    this.#target.clock()?.armed(this.#watchedSince);
    this.#start(head.budgetMs + this.#graceMs);
  }

  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #start(ms: number): void {
    this.#timer = setTimeout(() => {
      const head = this.#target.head();
      if (head === undefined || head.request.id !== this.#watchedId) return;
      // Time the host spent answering capability calls is not the sandbox's: extend by it.
      const owed = head.capabilityMs - head.creditedMs;
      if (owed > 0) {
        head.creditedMs = head.capabilityMs;
        this.#start(owed);
        return;
      }
      // Charge wall time minus the sandbox's wait for a CPU, up to a wall backstop.
      const cpu = this.#target.clock();
      if (cpu !== undefined) {
        const more = cpu.remainingMs(this.#watchedSince, head.budgetMs + this.#graceMs + head.creditedMs);
        if (more > 0) {
          this.#start(Math.max(20, more));
          return;
        }
      }
      this.#target.kill();
    }, ms);
    this.#timer.unref();
  }
}
