/**
 * Time limits that follow the CPU a call actually got, not the wall clock.
 *
 * isolated-vm's `timeout` is wall time, and its `cpuTime` counts the time a call was running on
 * its thread including the time the thread sat in a run queue (measured: a 250 ms loop starved
 * to 1.5 s of wall reports 1.5 s of cpuTime), so neither tells a starved healthy call from an
 * infinite loop. The thread's schedstat does (util/sched-stat.ts). Every timed call into an
 * isolate goes through this budget:
 * - before the call, its wall timeout is the limit stretched by how starved the thread has been
 *   lately (from the share of its runnable time it ran), capped at limit x backstop factor, and
 *   rounded up by at most a step of a grid (a power of two ms, at most an eighth of it and 8
 *   ms) so that calls' deadlines gather (alignedTimeoutMs: each timed call costs isolated-vm's
 *   timer thread a wake-up at its deadline);
 * - if the call is cut anyway, the verdict is "starved" when the thread's wall time minus its
 *   run-queue wait during the call stayed under the limit (it never got its limit of CPU) and the
 *   backstop was not reached, otherwise "timeout". A starved cut is not the mod's fault: the
 *   caller treats it as lost work and runs it again once, in backstop mode, where the wall
 *   timeout is the wall backstop (below) and any cut is final.
 * So a healthy mod on a starved machine is not failed, and a real infinite loop is still stopped
 * within the wall backstop, max(limit x backstop factor, limit + 1 s), at the very worst (and
 * within about its limit of CPU, plus at most a step).
 */
import { performance } from "node:perf_hooks";
import { SchedClock, SchedStatReader, THREAD_SCHEDSTAT } from "../util/sched-stat.js";

/** Wall time a call may take, as a multiple of its CPU limit, however starved the machine. */
export const DEFAULT_WALL_BACKSTOP_FACTOR = 10;

/**
 * The least wall backstop past the limit (ms): a short limit (20 ms) times 10 is shorter than the
 * run-queue gaps of a heavily loaded machine (a thread at a 2-4 % share of a core was seen waiting
 * 250-400 ms for 1.5 ms of CPU), so the backstop is never less than limit + 1 s.
 */
export const MIN_BACKSTOP_EXTRA_MS = 1000;

/** Wall time after which a call with CPU limit `limitMs` is cut however starved the machine. */
export function backstopWallMs(limitMs: number, backstopFactor: number): number {
  return Math.ceil(Math.max(limitMs * backstopFactor, limitMs + MIN_BACKSTOP_EXTRA_MS));
}

/** How a cut call is judged. */
export type CutVerdict = "timeout" | "starved";

/**
 * The wall timeout for a call with CPU limit `limitMs` when the thread lately ran `share` of its
 * runnable time: the limit on an idle machine (share 1), and with less share half as much again as
 * the starvation would take (1 + 1.5 (1/share - 1) times the limit, so at share 0.5 an infinite loop
 * gets about 1.25x its limit of CPU before the cut, and the cut's verdict is clearly "timeout"
 * rather than a coin toss), at most the wall backstop (backstopWallMs).
 */
export function stretchedWallMs(limitMs: number, share: number, backstopFactor: number): number {
  const backstop = backstopWallMs(limitMs, backstopFactor);
  if (!(share > 0)) return backstop;
  return Math.min(backstop, Math.ceil(limitMs * Math.max(1, 1 + 1.5 * (1 / share - 1))));
}

/**
 * The coarsest grid (ms). isolated-vm's timer thread drops the timers that are due by recursion, a
 * stack frame each (laverdet/isolated-vm#572: 200k timers due at once overflowed its stack): a
 * thread that wakes on time at a grid point drops the calls of about one step (at 7 µs a call,
 * 8 ms is about 1 100 frames), however long the calls' limits.
 */
const MAX_DEADLINE_STEP_MS = 8;

/**
 * The grid a call's deadline is put on: the largest power of two ms that is at most an eighth of
 * its wall timeout, between 1 and MAX_DEADLINE_STEP_MS. Powers of two nest, so calls of different
 * timeouts (a dispatch's stretched on a loaded machine, a collect's) still meet on the coarser grid.
 *
 * Why: isolated-vm arms one timer per timed call (a deadline in its timer thread's heap, under a
 * lock the calling thread takes when the call starts and again when it ends), and a finished
 * call's timer stays in the heap until its deadline, where the timer thread wakes to drop it. With
 * deadlines as far apart as the calls, that thread woke every few tens of µs at 100 mods: a bare
 * 10-event call cost 11.2 / 11.7 µs of CPU with a 55 ms timeout against 7.3 with none (Node 20 /
 * 24). isolated-vm's deadline is the call's own start plus whole ms, so a step's calls fall within
 * 1 ms of their grid point, and the thread wakes a few times per step instead: 8.85 / 9.44 µs
 * on the 4 ms grid of a 55 ms timeout (benchmarks/probes/call-timer-cost.js, docs/benchmarks.md
 * finding 20). The grid lives in performance.now()'s time and isolated-vm's in its steady clock's:
 * one constant apart, so the calls gather all the same.
 */
export function deadlineStepMs(wallMs: number): number {
  let step = 1;
  while (step < MAX_DEADLINE_STEP_MS && step * 2 * 8 <= wallMs) step *= 2;
  return step;
}

/**
 * The wall timeout to give a call that starts at `nowMs` (performance.now()) and may take
 * `wallMs` (whole ms): at least `wallMs`, rounded up so that its deadline falls on the grid of
 * deadlineStepMs (to the whole ms isolated-vm takes), so at most a step more. Where that would
 * pass `capMs` (the wall backstop, a promise), `wallMs` as it is.
 */
export function alignedTimeoutMs(nowMs: number, wallMs: number, capMs: number): number {
  const step = deadlineStepMs(wallMs);
  const aligned = Math.max(wallMs, Math.ceil(Math.ceil((nowMs + wallMs) / step) * step - nowMs));
  return aligned > capMs ? wallMs : aligned;
}

/** The most wall time a call whose timeout is `wallMs` gets once its deadline is aligned (alignedTimeoutMs), with 1 ms to spare. */
export function alignedMaxMs(wallMs: number): number {
  return wallMs + deadlineStepMs(wallMs) + 1;
}

/** Wall time the thread is charged for: its wall time minus the time it waited for a CPU. */
export function chargedMs(wallMs: number, waitMs: number): number {
  return Math.max(0, wallMs - Math.max(0, waitMs));
}

/**
 * The verdict on a call cut after `wallMs` of which the thread waited `waitMs` for a CPU, against
 * its limit: "starved" only when it was charged less than the limit and the wall backstop was not
 * reached. Unknown wait (no schedstat) is "timeout": wall time is all there is to go by.
 */
export function cutVerdict(wallMs: number, waitMs: number | undefined, limitMs: number, backstopFactor: number): CutVerdict {
  if (waitMs === undefined) return "timeout";
  if (wallMs >= backstopWallMs(limitMs, backstopFactor)) return "timeout";
  return chargedMs(wallMs, waitMs) < limitMs ? "starved" : "timeout";
}

/**
 * The budget of the calling thread's isolate calls. Not re-entrant across threads: each thread
 * (the host in inline isolation, the sandbox process, a lane) gets its own through threadBudget().
 */
export class CpuBudget {
  readonly #clock: SchedClock;
  readonly #backstopFactor: number;
  #callStartMs = 0;
  #callLimitMs = 0;
  #backstopMode = 0;
  #shareOf: object | undefined;
  #share = 1;
  /** The verdict on the last cut call (for callers that see only "timeout" further up). */
  #lastVerdict: CutVerdict | undefined;

  constructor(clock: SchedClock, backstopFactor = DEFAULT_WALL_BACKSTOP_FACTOR) {
    this.#clock = clock;
    this.#backstopFactor = backstopFactor;
  }

  get backstopFactor(): number {
    return this.#backstopFactor;
  }

  /** Is a rerun in backstop mode in progress (cuts are final)? */
  get inBackstopMode(): boolean {
    return this.#backstopMode > 0;
  }

  /** The wall timeout of a call with CPU limit `limitMs` that starts now, its deadline aligned (alignedTimeoutMs). */
  begin(limitMs: number): number {
    const now = performance.now();
    this.#callStartMs = now;
    this.#callLimitMs = limitMs;
    this.#lastVerdict = undefined;
    if (this.#backstopMode > 0) return backstopWallMs(limitMs, this.#backstopFactor);
    // Refreshes the reading when stale, so that a cut call finds one from before it started.
    const reading = this.#clock.sample(now);
    if (reading !== this.#shareOf) {
      this.#shareOf = reading;
      this.#share = this.#clock.runShare(100);
    }
    return alignedTimeoutMs(now, stretchedWallMs(limitMs, this.#share, this.#backstopFactor), backstopWallMs(limitMs, this.#backstopFactor));
  }

  /** Judges the call begun last, which was just cut by its wall timeout. */
  judgeCut(): CutVerdict {
    const verdict = this.#backstopMode > 0
      ? "timeout"
      : cutVerdict(performance.now() - this.#callStartMs, this.#clock.waitSinceMs(this.#callStartMs), this.#callLimitMs, this.#backstopFactor);
    this.#lastVerdict = verdict;
    return verdict;
  }

  /** Was the last cut call starved (and nothing began since)? */
  get lastCutStarved(): boolean {
    return this.#lastVerdict === "starved";
  }

  /**
   * Is an event that has been running `elapsedMs` of wall time (with `unchargedMs` of it not its
   * own) still within a CPU limit of `limitMs`? Used where the limit is checked from inside a
   * call (capability calls), with the same starvation allowance as a cut.
   */
  withinLimit(elapsedMs: number, unchargedMs: number, limitMs: number): boolean {
    const own = elapsedMs - unchargedMs;
    if (own < limitMs) return true;
    if (this.#backstopMode > 0) return false;
    const wait = this.#clock.waitSinceMs(performance.now() - elapsedMs);
    return cutVerdict(own, wait, limitMs, this.#backstopFactor) === "starved";
  }

  /** Runs `fn` in backstop mode: wall timeouts at the backstop, every cut final. */
  inBackstop<T>(fn: () => T): T {
    this.#backstopMode++;
    try {
      return fn();
    } finally {
      this.#backstopMode--;
    }
  }
}

let threadBudget_: CpuBudget | undefined;

/** The budget of the calling thread (module state is per thread in Node). */
export function threadBudget(): CpuBudget {
  // Readings at most every 10 ms: a cut call's wait is over-counted by at most that much.
  threadBudget_ ??= new CpuBudget(new SchedClock(new SchedStatReader(THREAD_SCHEDSTAT), 10));
  return threadBudget_;
}

/**
 * Remembers the events whose call was cut while starved, so that their rerun (after the owner
 * restored the instance) happens in backstop mode, once, and does not send again the log lines
 * the cut attempt already sent. Bounded: the oldest entries go first.
 */
export class StarvedEvents {
  /** `${mod}\0${seq}` -> how many log lines the cut attempt of that event sent. */
  readonly #linesSent = new Map<string, number>();
  readonly #max: number;

  constructor(max = 1024) {
    this.#max = max;
  }

  add(mod: string, seq: number, linesSent = 0): void {
    const key = `${mod}\u0000${seq}`;
    this.#linesSent.delete(key);
    this.#linesSent.set(key, linesSent);
    if (this.#linesSent.size > this.#max) {
      const oldest = this.#linesSent.keys().next().value;
      if (oldest !== undefined) this.#linesSent.delete(oldest);
    }
  }

  /**
   * Once, for the events from index `from` on whose call was cut while starved: each one's seq and
   * the log lines its cut attempt sent (the call that reruns them gets the backstop and skips those
   * lines). Undefined, and free, when none was.
   */
  take(mod: string, events: readonly { readonly seq: number }[], from: number): Map<number, number> | undefined {
    if (this.#linesSent.size === 0) return undefined;
    let found: Map<number, number> | undefined;
    for (let i = from; i < events.length; i++) {
      const seq = (events[i] as { seq: number }).seq;
      const key = `${mod}\u0000${seq}`;
      const lines = this.#linesSent.get(key);
      if (lines === undefined) continue;
      this.#linesSent.delete(key);
      (found ??= new Map()).set(seq, lines);
    }
    return found;
  }
}
