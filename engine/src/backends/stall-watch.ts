/**
 * Tells when a child process's main thread has stopped trying to run: blocked for good (a
 * deadlock), not busy, not starved, and not waiting for input or another thread's answer. A thread that runs or waits in a run queue for a CPU
 * accumulates run plus run-queue wait time (/proc/<pid>/schedstat, util/sched-stat.ts) as fast as
 * the wall clock goes, however loaded the machine; a blocked one accumulates almost none. The
 * locating process (backends/locator-process.ts) needs this: isolated-vm's inspector deadlocks
 * its process when a profiled call reaches the isolate's memory limit (the isolate is torn down
 * with the inspector session attached, and ~InspectorAgent takes a lock it already holds), and
 * the profiler's sampler keeps that process using a little CPU, so "no CPU" would not show it.
 * Where schedstat is unavailable (not Linux) nothing is watched.
 */
import { readFileSync } from "node:fs";
import { SchedStatReader, processSchedStatPath, type SchedSample } from "../util/sched-stat.js";

/** How the watch judges a stall. */
export interface StallWatchOptions {
  /** The window judged (ms): the thread must have been blocked for most of it. */
  readonly windowMs: number;
  /** How often the thread is read (ms). */
  readonly everyMs: number;
  /** Below this share of the window spent running or runnable, the thread counts as blocked. */
  readonly minActiveShare: number;
  /**
   * Where a blocked thread must be waiting (its /proc/<pid>/wchan, the kernel function it sleeps
   * in) to count as stalled: a thread blocked anywhere else (in its event loop's epoll, waiting
   * for input or for another thread's message) is not judged. A kernel that hides wchan shows
   * "0": nothing then counts as stalled.
   */
  readonly waitingIn: RegExp;
}

/**
 * Blocked for most of 2 s, on a lock (a futex, as the inspector's deadlock is: its main thread in
 * futex_do_wait, seen in /proc). A deadlocked one measured 0.2-5 % running or waiting (its SIGPROF
 * handling), also among 8 CPU burners on 2 cores; a busy one, ~100 %. The locating process's
 * other waits (its request, an inspector answer) are in its event loop's epoll, not judged.
 */
export const LOCATOR_STALL: StallWatchOptions = { windowMs: 2000, everyMs: 250, minActiveShare: 0.5, waitingIn: /futex/ };

/**
 * The share of the time from `from` to `to` the thread spent running or waiting for a CPU (0-1),
 * or undefined when the readings are too close together to say.
 */
export function activeShare(from: SchedSample, to: SchedSample): number | undefined {
  const wallMs = to.atMs - from.atMs;
  if (!(wallMs > 0)) return undefined;
  const activeMs = (to.runNs - from.runNs + (to.waitNs - from.waitNs)) / 1e6;
  return Math.min(1, Math.max(0, activeMs / wallMs));
}

/** Watches one process's main thread until closed; calls `onStall` once if it stalls. */
export class StallWatch {
  readonly #reader: SchedStatReader;
  readonly #wchanPath: string;
  readonly #options: StallWatchOptions;
  readonly #onStall: (share: number) => void;
  readonly #readings: SchedSample[] = [];
  readonly #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(pid: number, onStall: (share: number) => void, options: StallWatchOptions = LOCATOR_STALL) {
    this.#reader = new SchedStatReader(processSchedStatPath(pid));
    this.#wchanPath = `/proc/${pid}/wchan`;
    this.#options = options;
    this.#onStall = onStall;
    const first = this.#reader.read();
    if (first === undefined) {
      this.#closed = true;
      return;
    }
    this.#readings.push(first);
    this.#timer = setInterval(() => this.#check(), options.everyMs);
    // The watch never keeps the host alive: the child's own owner does.
    this.#timer.unref();
  }

  /** Stops watching and closes the file. Idempotent. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    if (this.#closed) return;
    this.#closed = true;
    this.#reader.close();
  }

  #check(): void {
    if (this.#closed) return;
    const now = this.#reader.read();
    // Gone (it exited: its owner hears that) or unreadable: nothing more to watch.
    if (now === undefined) {
      this.close();
      return;
    }
    this.#readings.push(now);
    // The newest reading at least a window old; older ones are no longer needed.
    let from = -1;
    for (let i = this.#readings.length - 1; i >= 0; i--) {
      if (now.atMs - (this.#readings[i] as SchedSample).atMs >= this.#options.windowMs) {
        from = i;
        break;
      }
    }
    if (from < 0) return;
    this.#readings.splice(0, from);
    const share = activeShare(this.#readings[0] as SchedSample, now);
    if (share === undefined || share >= this.#options.minActiveShare) return;
    const wchan = this.#wchan();
    // Unreadable (the process exited meanwhile, or this system does not tell): nothing more to judge.
    if (wchan === undefined) return this.close();
    if (!this.#options.waitingIn.test(wchan)) return;
    this.close();
    this.#onStall(share);
  }

  /** Where the thread sleeps now, or undefined if that cannot be read. */
  #wchan(): string | undefined {
    try {
      return readFileSync(this.#wchanPath, "latin1");
    } catch (err) {
      if (err instanceof Error && "code" in err) return undefined;
      throw err;
    }
  }
}
