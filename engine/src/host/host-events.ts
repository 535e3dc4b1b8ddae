import { EventEmitter } from "node:events";
import type { ErrorInfo } from "../errors/modhost-error.js";
import type { FaultEvent, ModStatus } from "../model/mod-events.js";
import type { SwapReport } from "../model/swap-report.js";
import type { RecoveryReport } from "../persist/recovery-report.js";
import type { ModOrigin } from "../registry/mod-origin.js";
import type { CrashInfo } from "../sandbox/sandbox-backend.js";
import type { HostMetrics } from "./host-metrics.js";
import { LogLimiter } from "./log-limiter.js";

/** A mod as `mods()` lists it. */
export interface ModInfo {
  readonly name: string;
  readonly version: string;
  readonly status: ModStatus;
  /** sha256 of the compiled sources: identifies exactly what runs. Empty if it never loaded. */
  readonly hash: string;
  /** Why the mod is faulted or quarantined. */
  readonly error?: ErrorInfo;
  /** Where the live version came from: its folder, a deploy, or a signed package (name, version, key id). */
  readonly origin?: ModOrigin;
  /** What recovery found in the stateDir when the mod was brought up (with a stateDir only). */
  readonly recovery?: RecoveryReport;
  /** The version held for the operator's approval, and why it is held (status "pending-approval"). */
  readonly pending?: { readonly version: string; readonly hash: string; readonly reason?: string };
}

/**
 * Recovery news: what recovery found when a mod came up from the stateDir ("startup", with the
 * report), journal storage failing for a mod ("storage-failed") or working again ("storage-restored"),
 * a mod's lost instance restored from its checkpoint and journal ("restored", e.g. after its
 * sandbox process died; `replayed` events ran again).
 */
export interface RecoveryEvent {
  readonly mod: string;
  readonly kind: "startup" | "storage-failed" | "storage-restored" | "restored";
  readonly message: string;
  readonly report?: RecoveryReport;
  /** Journaled events run again by a "restored" mod. */
  readonly replayed?: number;
}

/** A line a mod logged (console.* or ctx.log). */
export interface LogEvent {
  readonly mod: string;
  readonly level: "debug" | "info" | "warn" | "error";
  readonly message: string;
}

/** The events a ModHost emits, and their listeners' arguments. */
export interface ModHostEvents {
  swap: [report: SwapReport];
  fault: [fault: FaultEvent];
  log: [line: LogEvent];
  recovery: [event: RecoveryEvent];
}

/**
 * What the host tells its listeners: swaps, faults, logs, recovery news (counted in the metrics
 * where they count). Events emitted while the host is created are kept and replayed to listeners
 * attached before the next macrotask (i.e. right after `await ModHost.create()`), so that what
 * recovery found is never emitted into the void; the faults among them are replayed to "fault"
 * listeners attached at any time later too.
 */
export class HostEvents {
  readonly #emitter = new EventEmitter();
  readonly #metrics: HostMetrics;
  readonly #logLimiter: LogLimiter;
  readonly #logRate: number;
  #startup: { name: keyof ModHostEvents; args: unknown[] }[] | undefined = [];
  /**
   * The faults raised while the host was created (a mod whose init() threw, that ran out of
   * time...): kept for the host's lifetime and replayed to every "fault" listener attached after
   * the startup window, so a game that subscribes late still hears of them once.
   */
  readonly #startupFaults: FaultEvent[] = [];

  constructor(metrics: HostMetrics, logRatePerSecond: number) {
    this.#metrics = metrics;
    this.#logRate = logRatePerSecond;
    this.#logLimiter = new LogLimiter(logRatePerSecond);
  }

  /** Stops keeping events for late listeners (create() has returned). */
  endStartup(): void {
    this.#startup = undefined;
  }

  on<E extends keyof ModHostEvents>(event: E, listener: (...args: ModHostEvents[E]) => void): void {
    this.#emitter.on(event, listener as (...args: unknown[]) => void);
    if (this.#startup !== undefined) {
      for (const past of this.#startup) if (past.name === event) (listener as (...args: unknown[]) => void)(...past.args);
    } else if (event === "fault") {
      for (const fault of this.#startupFaults) (listener as (fault: FaultEvent) => void)(fault);
    }
  }

  off<E extends keyof ModHostEvents>(event: E, listener: (...args: ModHostEvents[E]) => void): void {
    this.#emitter.off(event, listener as (...args: unknown[]) => void);
  }

  /** A line a mod logged from its sandbox: rate-limited per mod. */
  modLog(mod: string, level: string, message: string): void {
    const verdict = this.#logLimiter.admit(mod);
    if (verdict.dropped > 0) this.log({ mod, level: "warn", message: `${verdict.dropped} log lines dropped (over ${this.#logRate} per second)` });
    if (verdict.admit) this.log({ mod, level: level as LogEvent["level"], message });
  }

  log(line: LogEvent): void {
    this.#emit("log", line);
  }

  swap(report: SwapReport): void {
    this.#metrics.swap(report);
    this.#emit("swap", report);
  }

  fault(fault: FaultEvent): void {
    this.#metrics.fault(fault);
    if (this.#startup !== undefined) this.#startupFaults.push(fault);
    this.#emit("fault", fault);
  }

  /** The sandbox process died and was restarted: counted, and logged under the mod it blames. */
  sandboxCrashed(crash: CrashInfo): void {
    this.#metrics.sandboxRestart();
    this.log({ mod: crash.culprit?.split(":")[1]?.split("#")[0] ?? "<sandbox>", level: "error", message: `sandbox process died (exit code ${crash.exitCode}, signal ${crash.signal}) and was restarted${crash.stderrTail ? `: ${crash.stderrTail.trim().slice(-500)}` : ""}` });
  }

  recovery(event: RecoveryEvent): void {
    this.#emit("recovery", event);
  }

  #emit<E extends keyof ModHostEvents>(name: E, ...args: ModHostEvents[E]): void {
    this.#startup?.push({ name, args });
    this.#emitter.emit(name, ...args);
  }
}
