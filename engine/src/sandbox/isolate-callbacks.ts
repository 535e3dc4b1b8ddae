import { performance } from "node:perf_hooks";
import type { CapabilityReply } from "../../runtime/prelude-api.js";
import type { LogBudget } from "./log-budget.js";
import { threadBudget } from "./cpu-budget.js";
import type { CapabilityRecord, LoadSpec, SandboxBridge, WireEvent } from "../model/wire.js";

const LOG_LEVELS = new Set(["debug", "info", "warn", "error"]);
/** Capability time limit when a LoadSpec names none (ms). */
const DEFAULT_CAPABILITY_TIMEOUT_MS = 100;

function replyText(reply: CapabilityReply): string {
  return JSON.stringify(reply);
}

/** The refusal of a capability call made outside an event (it holds for the rest of the call). */
export function outsideEvent(permission: unknown): string {
  return replyText({
    ok: false,
    code: "E_CAPABILITY_UNAVAILABLE",
    message: `host.${String(permission)}() was called outside an event handler (top-level code, init, migrate or a state getter); capabilities exist only while a handler runs`,
    final: true,
  });
}

/**
 * What an instance's isolate calls back into the host for: log lines and capability calls, with
 * the bookkeeping of the dispatch in progress that decides how each is answered. Until attach(),
 * while the mod's modules are first loaded, log lines are dropped and capabilities refused.
 */
export class IsolateCallbacks {
  readonly #bridge: SandboxBridge;
  readonly #logs: LogBudget;
  /** The live version's spec (it changes when a staged version goes live). */
  readonly #spec: () => LoadSpec;
  #attached = false;
  /** Recorded capability answers for the events of the dispatch in progress. */
  readonly #recorded = new Map<number, { caps: readonly CapabilityRecord[]; cursor: number }>();
  #replaying = false;
  /**
   * The events of the dispatch in progress: capabilities are answered only for them. Kept as the
   * array the dispatch got (no Set per call: most dispatches make no capability call at all).
   */
  #dispatching: readonly WireEvent[] | undefined;
  /**
   * Per event of the dispatch in progress: capability time not charged to the mod (ms). The
   * mod's time limit covers its own time and, of each call, up to the capability time limit.
   */
  readonly #uncharged = new Map<number, number>();
  /** The event whose time budget ran out inside a capability call: it is stopped as a timeout. */
  #cutSeq: number | undefined;
  /** The event that sent the dispatch's last log line (-1: none yet), and how many it sent. */
  #lineSeq = -1;
  #linesOfSeq = 0;
  /**
   * The rerun of events cut while starved: per seq, how many of its first lines the cut attempt
   * already sent (the rerun runs the same code on the same restored state, so it logs them again).
   */
  #repeated: Map<number, number> | undefined;

  constructor(bridge: SandboxBridge, logs: LogBudget, spec: () => LoadSpec) {
    this.#bridge = bridge;
    this.#logs = logs;
    this.#spec = spec;
  }

  /** From now on, log lines go out and capability calls are checked and answered. */
  attach(): void {
    this.#attached = true;
  }

  /** Starts the bookkeeping of a dispatch of `events` (a replay answers from their records only). */
  beginDispatch(events: readonly WireEvent[], replay: boolean): void {
    if (this.#recorded.size > 0) this.#recorded.clear();
    for (let i = 0; i < events.length; i++) {
      const event = events[i] as WireEvent;
      if (event.caps !== undefined && event.caps.length > 0) this.#recorded.set(event.seq, { caps: event.caps, cursor: 0 });
    }
    this.#replaying = replay;
    this.#dispatching = events;
    if (this.#uncharged.size > 0) this.#uncharged.clear();
    this.#cutSeq = undefined;
    this.#lineSeq = -1;
    this.#linesOfSeq = 0;
  }

  /** The rerun of events cut while starved: per seq, the first lines not to send again (the map is counted down). */
  skipRepeatedLines(linesSent: Map<number, number>): void {
    this.#repeated = linesSent;
  }

  /** How many log lines event `seq` sent in the dispatch in progress (0 if it was not the last to log). */
  linesSentBy(seq: number): number {
    return this.#lineSeq === seq ? this.#linesOfSeq : 0;
  }

  /** Is `seq` an event of the dispatch in progress? */
  #isDispatching(seq: number): boolean {
    const events = this.#dispatching;
    if (events === undefined) return false;
    // Seqs ascend within a dispatch (queue order is emit order): bisect, then scan to be sure.
    let lo = 0;
    let hi = events.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = (events[mid] as WireEvent).seq;
      if (at === seq) return true;
      if (at < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return events.some((event) => event.seq === seq);
  }

  /** Did an event's time run out inside a capability call (the prelude then ended the slice)? */
  get cut(): boolean {
    return this.#cutSeq !== undefined;
  }

  /** Ends the dispatch's bookkeeping and sends the summary of log lines dropped during it. */
  endDispatch(): void {
    if (this.#recorded.size > 0) this.#recorded.clear();
    this.#replaying = false;
    this.#dispatching = undefined;
    if (this.#uncharged.size > 0) this.#uncharged.clear();
    this.#cutSeq = undefined;
    this.#repeated = undefined;
    this.#sendLogSummary();
  }

  /**
   * A line the mod logged. Lines over the mod's rate are dropped here, before they leave the
   * sandbox; the answer "drop" tells the prelude to drop the rest of this call's lines itself.
   * Level "dropped" carries the count of lines the prelude dropped.
   */
  onLog(level: unknown, message: unknown, seq?: unknown): "drop" | undefined {
    if (!this.#attached || this.#replaying) return undefined;
    if (level === "dropped" && typeof message === "string") {
      this.#logs.countDropped(Math.max(0, Math.min(1e9, Number(message) || 0)));
      return undefined;
    }
    if (typeof level !== "string" || typeof message !== "string" || !LOG_LEVELS.has(level)) return undefined;
    const lineSeq = typeof seq === "number" ? seq : -1;
    if (this.#repeated !== undefined && skipRepeated(this.#repeated, lineSeq)) return undefined;
    if (!this.#logs.admit(message.length)) return "drop";
    this.#sendLogSummary();
    this.#sendLog(level, message);
    if (lineSeq !== this.#lineSeq) {
      this.#lineSeq = lineSeq;
      this.#linesOfSeq = 0;
    }
    this.#linesOfSeq++;
    return undefined;
  }

  #sendLogSummary(): void {
    const summary = this.#logs.summary();
    if (summary !== undefined) this.#sendLog("warn", summary);
  }

  #sendLog(level: string, message: string): void {
    try {
      this.#bridge.log(this.#spec().name, level, message);
    } catch (err) {
      // A failing log listener must not break the mod's call; it is the host's problem.
      queueMicrotask(() => {
        throw err;
      });
    }
  }

  /**
   * A capability call from the isolate. Checked here first (the host checks again): only inside
   * an event of the dispatch in progress, only a permission the live version was granted, and
   * only while the event's time budget lasts: its own time plus, of each call, up to the
   * capability time limit (isolated-vm's timeout pauses while a host callback runs, so without
   * this a mod looping on a capability would never time out).
   */
  onCapability(seq: unknown, permission: unknown, argsJson: unknown, elapsedMs: unknown): string {
    if (!this.#attached) return outsideEvent(permission);
    if (typeof seq !== "number" || typeof permission !== "string" || typeof argsJson !== "string" || typeof elapsedMs !== "number") {
      return replyText({ ok: false, code: "E_INTERNAL", message: "malformed capability call" });
    }
    // Before the records: a replay must refuse exactly what the first run refused.
    if (!this.#isDispatching(seq)) return outsideEvent(permission);
    const spec = this.#spec();
    if (!spec.permissions.includes(permission)) {
      return replyText({ ok: false, code: "E_PERMISSION_NOT_GRANTED", message: `host.${permission}() is not granted to version ${spec.version} of this mod` });
    }
    const recorded = this.#recorded.get(seq);
    if (recorded !== undefined && recorded.cursor < recorded.caps.length) {
      const record = recorded.caps[recorded.cursor++] as CapabilityRecord;
      if (record.permission === permission) return record.reply;
      return replyText({ ok: false, code: "E_REPLAY_DIVERGED", message: `replay called host.${permission}() where the journal has host.${record.permission}()` });
    }
    if (this.#replaying) {
      return replyText({ ok: false, code: "E_REPLAY_DIVERGED", message: `replay called host.${permission}(), which the journal does not hold` });
    }
    const limitMs = spec.callTimeoutMs;
    const uncharged = this.#uncharged.get(seq) ?? 0;
    // Wall time the thread spent waiting for a CPU is not the event's (sandbox/cpu-budget.ts).
    if (elapsedMs - uncharged >= limitMs && !threadBudget().withinLimit(elapsedMs, uncharged, limitMs)) {
      this.#cutSeq = seq;
      return replyText({
        ok: false,
        code: "E_TIMEOUT",
        message: `host.${permission}() was not called: the event has used its ${limitMs} ms time limit (its own time and its capability calls)`,
        final: true,
        cut: true,
      });
    }
    const started = performance.now();
    let answer;
    try {
      answer = this.#bridge.capability({ mod: spec.name, version: spec.hash, seq, permission, args: argsJson });
    } catch (err) {
      return replyText({ ok: false, code: "E_INTERNAL", message: `capability bridge failed: ${err instanceof Error ? err.message : String(err)}` });
    }
    const ms = performance.now() - started;
    // A late answer is the game's time; of any other, the mod pays up to the capability time limit.
    const capMs = spec.capabilityTimeoutMs ?? DEFAULT_CAPABILITY_TIMEOUT_MS;
    this.#uncharged.set(seq, uncharged + (answer.late ? ms : Math.max(0, ms - capMs)));
    return answer.reply;
  }
}

/** Is this line of event `seq` one its starved attempt already sent? (Then it is counted off `repeated`.) */
function skipRepeated(repeated: Map<number, number>, seq: number): boolean {
  const left = repeated.get(seq);
  if (left === undefined || left <= 0) return false;
  repeated.set(seq, left - 1);
  return true;
}
