/**
 * How much CPU a thread actually got: Linux's /proc/<pid>/task/<tid>/schedstat holds three
 * numbers, the time the thread ran on a CPU (ns), the time it sat runnable in a run queue waiting
 * for one (ns), and its number of time slices. On a loaded machine a thread's wall time is its
 * run time plus that wait plus the time it slept; time limits measured as "wall minus run-queue
 * wait" therefore charge a process for what it did (running, or blocking on its own) and not for
 * what the machine's load did to it.
 *
 * Reading costs a system call (7-15 us measured on a loaded 2-core machine), so callers sample
 * lazily (see SchedClock) rather than around every call. Where the file does not exist (not
 * Linux, or a kernel without CONFIG_SCHED_INFO) every read answers undefined and callers fall
 * back to wall time, which is what they measured before.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { performance } from "node:perf_hooks";

/** One reading: when it was taken (performance.now() ms) and the thread's run and wait totals (ns). */
export interface SchedSample {
  readonly atMs: number;
  readonly runNs: number;
  readonly waitNs: number;
}

/** The schedstat file of the calling thread. */
export const THREAD_SCHEDSTAT = "/proc/thread-self/schedstat";

/** The schedstat file of a process's main thread (the one whose tid is the pid). */
export function processSchedStatPath(pid: number): string {
  return `/proc/${pid}/schedstat`;
}

/** Parses "run wait slices\n"; undefined if the text is not that. */
export function parseSchedStat(text: string): { runNs: number; waitNs: number } | undefined {
  const parts = text.trim().split(" ");
  if (parts.length < 2) return undefined;
  const runNs = Number(parts[0]);
  const waitNs = Number(parts[1]);
  if (!Number.isFinite(runNs) || !Number.isFinite(waitNs) || runNs < 0 || waitNs < 0) return undefined;
  return { runNs, waitNs };
}

/**
 * Reads one schedstat file through a descriptor kept open (one pread per reading). A file that
 * cannot be opened or read (the process exited, not Linux) makes every reading undefined.
 */
export class SchedStatReader {
  readonly #path: string;
  #fd: number | undefined;
  #broken = false;
  readonly #buffer = Buffer.alloc(128);

  constructor(path: string) {
    this.#path = path;
  }

  /** A reading now, or undefined when the file is unavailable. */
  read(): SchedSample | undefined {
    if (this.#broken) return undefined;
    try {
      this.#fd ??= openSync(this.#path, "r");
      const n = readSync(this.#fd, this.#buffer, 0, this.#buffer.length, 0);
      const parsed = parseSchedStat(this.#buffer.toString("latin1", 0, n));
      if (parsed === undefined) {
        this.#markBroken();
        return undefined;
      }
      return { atMs: performance.now(), ...parsed };
    } catch {
      // Unavailable here (not Linux) or the process is gone: fall back to wall time for good.
      this.#markBroken();
      return undefined;
    }
  }

  /** Closes the descriptor. Idempotent; a later read reopens it unless the file was unavailable. */
  close(): void {
    if (this.#fd !== undefined) {
      const fd = this.#fd;
      this.#fd = undefined;
      closeSync(fd);
    }
  }

  #markBroken(): void {
    this.#broken = true;
    try {
      this.close();
    } catch {
      // The descriptor is already unusable; nothing else to release.
    }
  }
}

/**
 * Lazily sampled schedstat of one thread: `sample()` reads the file only when the newest reading
 * is older than `refreshMs`, and keeps the last few readings, so that "how long did this thread
 * wait for a CPU since time t" can be answered afterwards for any t not older than they reach.
 * The answer may over-count wait by up to `refreshMs` worth (the reading before t is used), which
 * errs toward "the machine was busy", never toward charging the thread for the machine's load.
 */
export class SchedClock {
  readonly #reader: SchedStatReader;
  readonly #refreshMs: number;
  readonly #ring: SchedSample[] = [];
  readonly #keep: number;

  constructor(reader: SchedStatReader, refreshMs: number, keep = 16) {
    this.#reader = reader;
    this.#refreshMs = refreshMs;
    this.#keep = keep;
  }

  /** The newest reading, refreshed when stale (older than refreshMs); undefined if unavailable. */
  sample(nowMs = performance.now()): SchedSample | undefined {
    const last = this.#ring[this.#ring.length - 1];
    if (last !== undefined && nowMs - last.atMs < this.#refreshMs) return last;
    return this.fresh();
  }

  /** A reading taken now (recorded); undefined if unavailable. */
  fresh(): SchedSample | undefined {
    const reading = this.#reader.read();
    if (reading === undefined) return undefined;
    this.#ring.push(reading);
    if (this.#ring.length > this.#keep) this.#ring.shift();
    return reading;
  }

  /** The newest recorded reading taken at or before `atMs` (the oldest kept if none is). */
  before(atMs: number): SchedSample | undefined {
    for (let i = this.#ring.length - 1; i >= 0; i--) {
      const s = this.#ring[i] as SchedSample;
      if (s.atMs <= atMs) return s;
    }
    return this.#ring[0];
  }

  /**
   * Run-queue wait (ms) from the reading at or before `sinceMs` to a fresh reading now; undefined
   * when unavailable. A reading taken after `sinceMs` (none older kept) under-counts: the caller
   * then charges more, as it did when it measured wall time only.
   */
  waitSinceMs(sinceMs: number): number | undefined {
    const start = this.before(sinceMs);
    const now = this.fresh();
    if (start === undefined || now === undefined) return undefined;
    return Math.max(0, (now.waitNs - start.waitNs) / 1e6);
  }

  /**
   * The share of its runnable time the thread actually ran over the last `windowMs` or so
   * (between the newest reading and the newest one at least windowMs older): 1 on an idle
   * machine, 0.25 when it waited three times as long as it ran. 1 when unknown.
   */
  runShare(windowMs: number): number {
    const last = this.#ring[this.#ring.length - 1];
    if (last === undefined) return 1;
    let first: SchedSample | undefined;
    for (let i = this.#ring.length - 2; i >= 0; i--) {
      const s = this.#ring[i] as SchedSample;
      first = s;
      if (last.atMs - s.atMs >= windowMs) break;
    }
    if (first === undefined) return 1;
    return runShareBetween(first, last);
  }

  close(): void {
    this.#reader.close();
  }
}

/** Δrun / (Δrun + Δwait) between two readings; 1 when the thread was not runnable at all. */
export function runShareBetween(a: SchedSample, b: SchedSample): number {
  const run = Math.max(0, b.runNs - a.runNs);
  const wait = Math.max(0, b.waitNs - a.waitNs);
  // Under 1 ms of runnable time says nothing about the machine.
  if (run + wait < 1e6) return 1;
  return run / (run + wait);
}
