/**
 * The process backend's watchdog over the request at the head of the queue: past its budget plus a
 * grace period the sandbox process is presumed wedged and killed. A frame's replies come when it
 * has all run, so the head may be done while a later request of its frame runs: when its time is
 * up the watchdog asks the process's progress record which one runs, and watches that one instead.
 * Not the sandbox's time, up to a wall backstop: the host's answering the request's capability
 * calls, the sandbox's waiting to write to a host that did not read (its progress record says how
 * long), and the sandbox's main thread waiting for a CPU (backends/cpu-watchdog.ts). Nor is what a
 * game that blocks the host's event loop holds up: a request is timed from when its frame was
 * written, and a kill waits for the host to read its pipes once more (a reply that came meanwhile
 * is read first), and for longer while a reply bigger than the pipe is still coming in: its
 * process sat blocked writing it while the host did not read.
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
  /**
   * When its frame was written to the sandbox (performance.now()), undefined before: the game may
   * hold the host's event loop up between the request and the write, and the sandbox cannot be
   * wedged on a request it does not have.
   */
  sentAt: number | undefined;
}

/** How far the host has read the sandbox process's output (backends/sandbox-process.ts). */
export interface SandboxOutput {
  /** Bytes read so far. */
  readonly bytes: number;
  /** Whether a message is partly read: the process is writing it. */
  readonly midMessage: boolean;
}

/** Where the watchdog looks and what it does. */
export interface WatchdogTarget {
  /** The request at the head of the queue, if any. */
  head(): WatchedRequest | undefined;
  /** The queued request the sandbox process says it is running, if it says so. */
  running(): WatchedRequest | undefined;
  /** How far the live process's output was read (undefined: no live process). */
  output(): SandboxOutput | undefined;
  /** The milliseconds the live process has spent in all blocked on writing to the host (0: none, or no process). */
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

/**
 * Output read between two checks (at most PROGRESS_POLL_MS apart unless the host's loop was held)
 * that says the process had a backlog the host had not read: a pipe holds 64 KiB on Linux, and a
 * writer blocked on it has at least that much waiting.
 */
const OUTPUT_BACKLOG_BYTES = 64 * 1024;

/** One timer, re-armed whenever the head of the queue changes. */
export class RequestWatchdog {
  readonly #graceMs: number;
  readonly #target: WatchdogTarget;
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
  /** The live process's blocked-writing total when the watch began, and how much of it since was added. */
  #blockedAtWatch = 0;
  #blockedCredited = 0;
  /** The process's output bytes read when the watch began or a partly read reply last put off the verdict. */
  #outputSeen = 0;
  /** The process's output bytes read at the last check. */
  #outputLooked = 0;
  /** When a check last found a backlog read since the one before (performance.now()). */
  #backlogAt = -Infinity;

  constructor(graceMs: number, target: WatchdogTarget) {
    this.#graceMs = graceMs;
    this.#target = target;
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
    this.#outputSeen = this.#target.output()?.bytes ?? 0;
    this.#blockedAtWatch = this.#target.blockedWritingMs();
    this.#blockedCredited = 0;
    this.#target.clock()?.armed(this.#watchedSince);
    this.#wait(request.budgetMs + this.#graceMs);
  }

  #wait(ms: number): void {
    this.#deadline = performance.now() + ms;
    this.#schedule();
  }

  /** Wakes at the deadline, or sooner to read the progress record. */
  #schedule(): void {
    const left = Math.max(0, this.#deadline - performance.now());
    this.#timer = setTimeout(() => this.#check(), Math.min(left, PROGRESS_POLL_MS));
    this.#timer.unref();
  }

  #check(afterIo = false): void {
    const head = this.#target.head();
    const watched = this.#watched;
    // Answered meanwhile (ids grow along the queue; arm() normally got here first).
    if (head === undefined || watched === undefined || head.request.id > watched.request.id) return;
    const outputBytes = this.#target.output()?.bytes ?? 0;
    if (outputBytes - this.#outputLooked >= OUTPUT_BACKLOG_BYTES) this.#backlogAt = performance.now();
    this.#outputLooked = outputBytes;
    // The watched request is done (its reply waits for the rest of its frame) and a later one
    // runs: that one is watched now, with its own budget.
    const running = this.#target.running();
    if (running !== undefined && running.request.id > watched.request.id) return this.#watch(running);
    // Its time starts when the sandbox has it.
    if (watched.sentAt === undefined) {
      // Written at the end of this turn (a blocked loop has just let go), or the process is still
      // starting. One that never says ready is killed as a wedged one is, a budget after the
      // watchdog, running again, first saw the request unwritten.
      const now = performance.now();
      this.#unsentSeenAt ??= now;
      if (now - this.#unsentSeenAt < watched.budgetMs + this.#graceMs) return this.#wait(PROGRESS_POLL_MS);
    } else if (watched.sentAt > this.#watchedSince) {
      this.#watchedSince = watched.sentAt;
      return this.#wait(watched.sentAt + watched.budgetMs + this.#graceMs - performance.now());
    }
    if (performance.now() < this.#deadline) return this.#schedule();
    // Time the host spent answering capability calls is not the sandbox's: extend by it.
    const owed = watched.capabilityMs - watched.creditedMs;
    if (owed > 0) {
      watched.creditedMs = watched.capabilityMs;
      return this.#wait(owed);
    }
    // Nor is the time the process sat blocked writing to a host that did not read.
    const blocked = this.#target.blockedWritingMs() - this.#blockedAtWatch - this.#blockedCredited;
    if (blocked > 0) {
      this.#blockedCredited += blocked;
      return this.#wait(blocked);
    }
    // Charge wall time minus the sandbox's wait for a CPU, up to a wall backstop.
    const cpu = this.#target.clock();
    const allowedMs = watched.budgetMs + this.#graceMs + watched.creditedMs + this.#blockedCredited;
    if (cpu !== undefined) {
      const more = cpu.remainingMs(this.#watchedSince, allowedMs);
      if (more > 0) return this.#wait(Math.max(20, more));
    }
    // Timers run before the event loop reads pipes: when the game blocked the host's event loop
    // (a long synchronous task), the reply may be in the pipe, unread, and the time since charged
    // to a sandbox that sat idle. The verdict waits for one I/O phase, which reads it first.
    if (!afterIo) {
      // Not unref()ed: an unref()ed immediate does not keep the poll phase from sleeping, and
      // would wait for whatever I/O came next (seen: 2.2 s, while a wedged sandbox ran on).
      this.#verdict = setImmediate(() => {
        this.#verdict = undefined;
        this.#check(true);
      });
      return;
    }
    // The process may have sat blocked writing while the host did not read (a game holding the
    // event loop): a reply bigger than the pipe, or a mod's many log lines. Its progress record
    // says so once that write is done (credited above), which may be just after the host read
    // the backlog. So while the host has lately been reading a backlog, or more of a partly read
    // message came in since the last look, it is not wedged: look again a poll later. A wedged
    // process sends nothing more (a mod over its log rate is muted until its next dispatch) and
    // is killed then.
    const output = this.#target.output();
    const backlog = performance.now() - this.#backlogAt <= 2 * PROGRESS_POLL_MS;
    if (output !== undefined && (backlog || (output.midMessage && output.bytes > this.#outputSeen))) {
      this.#outputSeen = output.bytes;
      return this.#wait(PROGRESS_POLL_MS);
    }
    // Said with the crash: a wedged process and a starved one (waits near the wall time) differ here.
    const wallMs = Math.round(performance.now() - this.#watchedSince);
    const waitedMs = cpu?.waitedMs(this.#watchedSince);
    const waited = waitedMs === undefined ? "" : `, ${Math.round(waitedMs)} ms of it waiting for a CPU`;
    const what = watched.sentAt === undefined ? "was not taken by the process in" : "ran";
    this.#target.kill(`killed by the watchdog: request ${watched.request.id} ${what} ${wallMs} ms (allowed ${Math.round(allowedMs)} ms${waited})`);
  }
}
