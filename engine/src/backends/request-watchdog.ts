/**
 * The process backend's watchdog over the request at the head of the queue: past its budget plus a
 * grace period the sandbox process is presumed wedged and killed. A frame's replies come when it
 * has all run, so the head may be done while a later request of its frame runs: when its time is
 * up the watchdog asks the process's progress record which one runs, and watches that one instead.
 * Not the sandbox's time: the host's answering the request's capability calls, the sandbox's
 * waiting to write to a host that did not read (its progress record says how long), and the
 * sandbox's main thread waiting for a CPU (backends/cpu-watchdog.ts). Nor is what a game that
 * blocks the host's event loop holds up: a request is timed from when its frame was written, and a
 * kill waits for the host to read the process's output once more (a reply that came meanwhile is
 * read first), and for longer while output keeps coming in (a reply or log lines bigger than the
 * socket's buffer, which the process sat blocked writing). None of that outlasts the wall
 * backstop: `backstopFactor` times the budget and grace, whatever the credits say.
 */
import { performance } from "node:perf_hooks";
import { DEFAULT_WATCHDOG_BACKSTOP_FACTOR, type CpuWatchdog } from "./cpu-watchdog.js";

/** What the watchdog reads of a queued request. */
export interface WatchedRequest {
  readonly request: { readonly id: number };
  readonly budgetMs: number;
  /** Time the host spent answering this request's capability calls (ms). */
  capabilityMs: number;
  /** How much of capabilityMs the watchdog has already added. */
  creditedMs: number;
  /**
   * When its frame was written to the sandbox (performance.now()), undefined before: the game may
   * hold the host's event loop up between the request and the write, and the sandbox cannot be
   * wedged on a request it does not have.
   */
  sentAt: number | undefined;
}

/** Where the watchdog looks and what it does. */
export interface WatchdogTarget {
  /** The request at the head of the queue, if any. */
  head(): WatchedRequest | undefined;
  /** The queued request the sandbox process says it is running, if it says so. */
  running(): WatchedRequest | undefined;
  /** Bytes read so far from the live process's output (0: no live process). */
  outputBytes(): number;
  /**
   * The milliseconds the live process says it has spent in all blocked on writing to the host (0:
   * none, or no process). Written by the process: trusted only up to the wall time it could cover.
   */
  blockedWritingMs(): number;
  /** The CPU clock of the live sandbox process (undefined: wall time only). */
  clock(): CpuWatchdog | undefined;
  /** Kills the live sandbox process; `reason` says why (it goes with the crash's report). */
  kill(reason: string): void;
}

/**
 * How often (ms) the watchdog reads the progress record while it waits: a request later in a
 * frame than the head is watched from at most this long after it began.
 */
export const PROGRESS_POLL_MS = 100;

/** How stale (ms) a reading of the blocked-writing total may be when a watch begins (a read each). */
const BLOCKED_READING_MAX_AGE_MS = 50;

/** One timer, re-armed whenever the head of the queue changes. */
export class RequestWatchdog {
  readonly #graceMs: number;
  readonly #target: WatchdogTarget;
  readonly #backstopFactor: number;
  #timer: NodeJS.Timeout | undefined;
  /** The kill verdict, deferred past the event loop's I/O phase (see #check). */
  #verdict: NodeJS.Immediate | undefined;
  #watched: WatchedRequest | undefined;
  /** When the watched request became the head, or was seen running (performance.now()). */
  #watchedSince = 0;
  /** When the current wait ends (performance.now()). */
  #deadline = 0;
  /** When a check first found the watched request not yet written (undefined: not seen so). */
  #unsentSeenAt: number | undefined;
  /** The process's blocked-writing total when the watch began, and how much of it since was credited. */
  #blockedAtWatch = 0;
  #blockedCredited = 0;
  /** The last reading of the blocked-writing total, and when it was taken (performance.now()). */
  #blockedReading = { total: 0, at: -Infinity };
  /** When the pending timer or verdict was due (performance.now()), and how late the checks ran in all. */
  #checkDueAt = 0;
  #hostStalledMs = 0;
  /** The process's output bytes at the last check, and when a check last found more (performance.now()). */
  #outputLooked = 0;
  #outputCameAt = -Infinity;

  constructor(graceMs: number, target: WatchdogTarget, backstopFactor = DEFAULT_WATCHDOG_BACKSTOP_FACTOR) {
    this.#graceMs = graceMs;
    this.#target = target;
    this.#backstopFactor = backstopFactor;
  }

  /** Watches the current head of the queue (nothing if the queue is empty). */
  arm(): void {
    this.clear();
    const head = this.#target.head();
    if (head !== undefined) this.#watch(head);
  }

  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#verdict !== undefined) clearImmediate(this.#verdict);
    this.#verdict = undefined;
  }

  #watch(request: WatchedRequest): void {
    this.#watched = request;
    this.#watchedSince = performance.now();
    this.#unsentSeenAt = undefined;
    // A recent reading will do (a watch begins with every reply frame): time the process blocked
    // since it may be credited to this request, at most that reading's age.
    this.#blockedAtWatch = this.#blockedTotal(BLOCKED_READING_MAX_AGE_MS);
    this.#blockedCredited = 0;
    this.#hostStalledMs = 0;
    this.#target.clock()?.armed(this.#watchedSince);
    this.#wait(request.budgetMs + this.#graceMs);
  }

  /** The process's blocked-writing total, read again if the last reading is older than `maxAgeMs`. */
  #blockedTotal(maxAgeMs: number): number {
    const now = performance.now();
    if (now - this.#blockedReading.at > maxAgeMs) {
      const total = this.#target.blockedWritingMs();
      this.#blockedReading = { total: Number.isFinite(total) && total > 0 ? total : 0, at: now };
    }
    return this.#blockedReading.total;
  }

  #wait(ms: number): void {
    this.#deadline = performance.now() + ms;
    this.#schedule();
  }

  /** Wakes at the deadline, or sooner to read the progress record. */
  #schedule(): void {
    const now = performance.now();
    const delay = Math.min(Math.max(0, this.#deadline - now), PROGRESS_POLL_MS);
    this.#checkDueAt = now + delay;
    this.#timer = setTimeout(() => this.#check(), delay);
    this.#timer.unref();
  }

  #check(afterIo = false): void {
    const head = this.#target.head();
    const watched = this.#watched;
    // Answered meanwhile (ids grow along the queue; arm() normally got here first).
    if (head === undefined || watched === undefined || head.request.id > watched.request.id) return;
    const now = performance.now();
    // A check that ran late waited for the host's event loop (a game's long task): no time of the
    // sandbox's, so the wall backstop does not count it.
    const late = Math.max(0, now - this.#checkDueAt);
    this.#hostStalledMs += late;
    this.#checkDueAt = Infinity;
    const outputBytes = this.#target.outputBytes();
    // More than at the last check (or fewer: a new process's count).
    if (outputBytes !== this.#outputLooked) {
      this.#outputCameAt = now;
      this.#outputLooked = outputBytes;
    }
    // The watched request is done (its reply waits for the rest of its frame) and a later one
    // runs: that one is watched now, with its own budget.
    const running = this.#target.running();
    if (running !== undefined && running.request.id > watched.request.id) return this.#watch(running);
    // Its time starts when the sandbox has it.
    if (watched.sentAt === undefined) {
      // Written at the end of this turn (a blocked loop has just let go), or the process is still
      // starting. One that never says ready is killed as a wedged one is, a budget after the
      // watchdog, running again, first saw the request unwritten.
      this.#unsentSeenAt ??= now;
      if (now - this.#unsentSeenAt < watched.budgetMs + this.#graceMs) return this.#wait(PROGRESS_POLL_MS);
    } else if (watched.sentAt > this.#watchedSince) {
      this.#watchedSince = watched.sentAt;
      // Of the stalls so far, only what this check's lateness covers since the send was after it.
      this.#hostStalledMs = Math.min(late, now - watched.sentAt);
      return this.#wait(watched.sentAt + watched.budgetMs + this.#graceMs - now);
    }
    // Past the wall backstop (the host's stalls aside) nothing is credited or waited for any more
    // but the one read below: a process's claims and its output cannot keep it alive.
    const wallMs = now - this.#watchedSince;
    const pastBackstop = wallMs - this.#hostStalledMs >= (watched.budgetMs + this.#graceMs) * this.#backstopFactor;
    const cpu = this.#target.clock();
    const allowedMs = watched.budgetMs + this.#graceMs + watched.creditedMs + this.#blockedCredited;
    if (!pastBackstop) {
      if (now < this.#deadline) return this.#schedule();
      // Time the host spent answering capability calls is not the sandbox's: extend by it.
      const owed = watched.capabilityMs - watched.creditedMs;
      if (owed > 0) {
        watched.creditedMs = watched.capabilityMs;
        return this.#wait(owed);
      }
      // Nor is the time the process sat blocked writing to a host that did not read; it says how
      // long, and is believed up to the wall time since the watch began.
      const total = this.#blockedTotal(0);
      if (total < this.#blockedAtWatch) this.#blockedAtWatch = 0; // a new process's record
      const blocked = Math.min(total - this.#blockedAtWatch, wallMs) - this.#blockedCredited;
      if (blocked > 0) {
        this.#blockedCredited += blocked;
        return this.#wait(blocked);
      }
      // Charge wall time minus the sandbox's wait for a CPU (up to its own wall backstop).
      if (cpu !== undefined) {
        const more = cpu.remainingMs(this.#watchedSince, allowedMs);
        if (more > 0) return this.#wait(Math.max(20, more));
      }
    }
    // Timers run before the event loop reads pipes: when the game blocked the host's event loop
    // (a long synchronous task), the reply may be in the pipe, unread, and the time since charged
    // to a sandbox that sat idle. The verdict waits for one I/O phase, which reads it first.
    if (!afterIo) {
      // Not unref()ed: an unref()ed immediate does not keep the poll phase from sleeping, and
      // would wait for whatever I/O came next (seen: 2.2 s, while a wedged sandbox ran on).
      this.#checkDueAt = now;
      this.#verdict = setImmediate(() => {
        this.#verdict = undefined;
        this.#check(true);
      });
      return;
    }
    // Output came in lately: the process may have sat blocked writing while the host did not
    // read (a reply or log lines bigger than the socket's buffer), and its record says so only
    // once that write is done, just after the host's read. It is not wedged: look again a poll
    // later. A wedged process sends nothing more and is killed then (at the latest at the
    // backstop: a mod over its log rate is muted until its next dispatch anyway).
    if (!pastBackstop && now - this.#outputCameAt <= 2 * PROGRESS_POLL_MS) return this.#wait(PROGRESS_POLL_MS);
    // Said with the crash: a wedged process and a starved one (waits near the wall time) differ here.
    const waitedMs = cpu?.waitedMs(this.#watchedSince);
    const waited = waitedMs === undefined ? "" : `, ${Math.round(waitedMs)} ms of it waiting for a CPU`;
    const blockedNote = this.#blockedCredited >= 1 ? `, ${Math.round(this.#blockedCredited)} ms blocked writing to the host` : "";
    const what = watched.sentAt === undefined ? "was not taken by the process in" : "ran";
    this.#target.kill(`killed by the watchdog: request ${watched.request.id} ${what} ${Math.round(wallMs)} ms (allowed ${Math.round(allowedMs)} ms${waited}${blockedNote})`);
  }
}
