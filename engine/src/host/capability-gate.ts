import { performance } from "node:perf_hooks";
import type { CapabilityAnswer, CapabilityCall, CapabilityRecord } from "../model/wire.js";
import { describeThrown } from "../util/describe-thrown.js";
import type { CapabilityFunction } from "./host-options.js";
import type { CapabilityLimits } from "../model/capability-limits.js";

/** What the gate needs of a mod's slot: its live version and the events it has in flight. */
export interface GateSlot {
  readonly version: { readonly hash: string; readonly spec: { readonly permissions: readonly string[]; readonly callTimeoutMs: number } };
  inFlight(seq: number): boolean;
  recordCapability(seq: number, record: CapabilityRecord): void;
}

/** Counters of capability calls, for operators. */
export interface CapabilityMetrics {
  readonly calls: number;
  readonly failed: number;
  readonly refused: number;
  /** Answers slower than the capability time limit (the game's fault). */
  readonly slow: number;
  /** Promises a capability returned that rejected later. */
  readonly lateRejections: number;
  /** Time spent in the game's functions, in ms. */
  readonly msTotal: number;
}

/** Where the gate reports what the game did wrong: logs and metrics. */
export interface GateReporting {
  log(mod: string, level: "warn" | "error", message: string): void;
}

/** One event's use of capabilities so far (events of one mod run one at a time). */
interface EventUsage {
  seq: number;
  calls: number;
  bytes: number;
  /** Time the game spent over the capability time limit in this event (ms). */
  lateMs: number;
}

/**
 * Answers capability calls from mods: checks the grant of the version making the call, inside an
 * event it has in flight; calls the game's function so that nothing it returns or throws can
 * escape (a Promise is refused and its rejection handled, a thrown value is described without
 * running its getters unguarded, the answer is serialized under a size cap); caps calls and
 * answer bytes per event; times the game, so that a slow answer is blamed on the game. Every
 * answer is recorded with the event, so that a replay gets the same one.
 */
export class CapabilityGate {
  readonly #capabilities: ReadonlyMap<string, CapabilityFunction>;
  readonly #grants: ReadonlyMap<string, readonly string[]>;
  readonly #limits: CapabilityLimits;
  readonly #slotOf: (mod: string) => GateSlot | undefined;
  readonly #report: GateReporting;
  readonly #usage = new Map<string, EventUsage>();
  readonly #metrics = new Map<string, { -readonly [K in keyof CapabilityMetrics]: number }>();

  constructor(options: {
    capabilities: ReadonlyMap<string, CapabilityFunction>;
    grants: ReadonlyMap<string, readonly string[]>;
    limits: CapabilityLimits;
    slotOf: (mod: string) => GateSlot | undefined;
    report: GateReporting;
  }) {
    this.#capabilities = options.capabilities;
    this.#grants = options.grants;
    this.#limits = options.limits;
    this.#slotOf = options.slotOf;
    this.#report = options.report;
  }

  /** Counters by permission. */
  metrics(): Record<string, CapabilityMetrics> {
    return Object.fromEntries([...this.#metrics].map(([permission, m]) => [permission, { ...m }]));
  }

  /** Answers one call. Never throws. */
  answer(call: CapabilityCall): CapabilityAnswer {
    const slot = this.#slotOf(call.mod);
    const refusal = this.#refusal(call, slot);
    if (refusal !== undefined || slot === undefined) {
      this.#count(call.permission).refused++;
      // Refusals are journaled too (a replay must get them again), so they count towards the cap.
      if (slot?.inFlight(call.seq)) this.#usageOf(call).calls++;
      return this.#record(slot, call, refusal ?? envelope("E_PERMISSION_NOT_GRANTED", `host.${call.permission}() is not granted to this mod`), false);
    }
    const usage = this.#usageOf(call);
    usage.calls++;
    const fn = this.#capabilities.get(call.permission) as CapabilityFunction;
    const started = performance.now();
    let reply = this.#invoke(call, fn);
    const ms = performance.now() - started;
    const metrics = this.#count(call.permission);
    metrics.calls++;
    metrics.msTotal += ms;
    let late = false;
    if (ms > this.#limits.timeoutMs) {
      // The game's function ran (its effects happened) but too slowly: the call fails, and the time is the game's.
      late = true;
      metrics.slow++;
      usage.lateMs += ms;
      const message = `host.${call.permission}() answered after ${Math.round(ms)} ms, over the ${this.#limits.timeoutMs} ms capability time limit`;
      this.#report.log(call.mod, "warn", `the game's capability ${message} (event ${call.seq})`);
      if (isSuccess(reply)) reply = envelope("E_CAPABILITY_FAILED", `${message}; its answer was dropped`);
    }
    if (!isSuccess(reply)) metrics.failed++;
    usage.bytes += reply.length;
    return this.#record(slot, call, reply, late);
  }

  /** Why this call must not reach the game, or undefined. Checked again here: the sandbox checks first. */
  #refusal(call: CapabilityCall, slot: GateSlot | undefined): string | undefined {
    const name = `host.${call.permission}()`;
    if (slot === undefined) return envelope("E_PERMISSION_NOT_GRANTED", `${name} is not granted to this mod`);
    if (!slot.inFlight(call.seq)) {
      return envelope("E_CAPABILITY_UNAVAILABLE", `${name} was called outside an event handler; capabilities exist only while a handler runs`, { final: true });
    }
    // Grants belong to the version whose code is running: during its events that is the live one.
    const version = slot.version;
    if (call.version !== version.hash || !version.spec.permissions.includes(call.permission) || !(this.#grants.get(call.mod) ?? []).includes(call.permission) || !this.#capabilities.has(call.permission)) {
      return envelope("E_PERMISSION_NOT_GRANTED", `${name} is not granted to this version of the mod`);
    }
    const usage = this.#usageOf(call);
    if (usage.calls >= this.#limits.callsPerEvent) {
      return envelope("E_CAPABILITY_LIMIT", `${name}: this event already made ${usage.calls} capability calls, the most one event may make`, { final: true });
    }
    if (usage.bytes >= this.#limits.bytesPerEvent) {
      return envelope("E_CAPABILITY_LIMIT", `${name}: this event already got ${usage.bytes} characters of capability answers, the most one event may get (${this.#limits.bytesPerEvent})`, { final: true });
    }
    if (usage.lateMs >= version.spec.callTimeoutMs) {
      // The game has stretched this event by the mod's whole time limit already: stop asking it.
      return envelope("E_CAPABILITY_FAILED", `${name} was not called: the game's capabilities answered too slowly in this event (${Math.round(usage.lateMs)} ms over their limit)`, { final: true });
    }
    if (call.args.length > this.#limits.answerBytes * 4) return envelope("E_TOO_LARGE", `the arguments of ${name} are too large`);
    return undefined;
  }

  /** Calls the game's function; whatever it returns or throws becomes a reply envelope. */
  #invoke(call: CapabilityCall, fn: CapabilityFunction): string {
    const name = `host.${call.permission}()`;
    let args: unknown;
    try {
      args = JSON.parse(call.args);
    } catch (err) {
      return envelope("E_INTERNAL", `the arguments of ${name} could not be read: ${describeThrown(err)}`);
    }
    if (!Array.isArray(args)) return envelope("E_INTERNAL", `the arguments of ${name} are not a list`);
    let value: unknown;
    try {
      value = fn(...(args as never[]));
    } catch (err) {
      // The game's error message reaches the mod; its stack (host paths) does not.
      return envelope("E_CAPABILITY_FAILED", `${name} failed: ${describeThrown(err)}`);
    }
    let then: unknown;
    try {
      then = typeof value === "object" || typeof value === "function" ? (value as { then?: unknown } | null)?.then : undefined;
    } catch (err) {
      return envelope("E_CAPABILITY_FAILED", `${name} returned a value whose "then" could not be read: ${describeThrown(err)}`);
    }
    if (typeof then === "function") {
      this.#settleLater(call, value as PromiseLike<unknown>, then as PromiseLike<unknown>["then"]);
      return envelope("E_CAPABILITY_FAILED", `${name} returned a Promise; capabilities must answer synchronously`);
    }
    // A huge string is refused before it is copied into JSON text.
    if (typeof value === "string" && value.length > this.#limits.answerBytes) return tooLarge(name, value.length + 2, this.#limits.answerBytes);
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (err) {
      return envelope("E_CAPABILITY_FAILED", `${name} returned a value that is not JSON data: ${describeThrown(err)}`);
    }
    if (text === undefined) return `{"ok":true}`;
    if (text.length > this.#limits.answerBytes) return tooLarge(name, text.length, this.#limits.answerBytes);
    return `{"ok":true,"value":${text}}`;
  }

  /** A refused Promise still settles: its rejection is handled here and reported, never left unhandled. */
  #settleLater(call: CapabilityCall, promise: PromiseLike<unknown>, then: PromiseLike<unknown>["then"]): void {
    const onRejected = (reason: unknown): void => {
      this.#count(call.permission).lateRejections++;
      this.#report.log(call.mod, "warn", `the game's capability host.${call.permission}() returned a Promise (refused) that later rejected: ${describeThrown(reason)}`);
    };
    try {
      Reflect.apply(then, promise, [undefined, onRejected]);
    } catch (err) {
      onRejected(err);
    }
  }

  #record(slot: GateSlot | undefined, call: CapabilityCall, reply: string, late: boolean): CapabilityAnswer {
    slot?.recordCapability(call.seq, { permission: call.permission, reply });
    return { reply, late };
  }

  #usageOf(call: CapabilityCall): EventUsage {
    let usage = this.#usage.get(call.mod);
    if (usage === undefined || usage.seq !== call.seq) {
      usage = { seq: call.seq, calls: 0, bytes: 0, lateMs: 0 };
      this.#usage.set(call.mod, usage);
    }
    return usage;
  }

  #count(permission: string): { -readonly [K in keyof CapabilityMetrics]: number } {
    // Names come from the sandbox: only offered ones get their own counters.
    const key = this.#capabilities.has(permission) ? permission : "<not offered>";
    let m = this.#metrics.get(key);
    if (m === undefined) {
      m = { calls: 0, failed: 0, refused: 0, slow: 0, lateRejections: 0, msTotal: 0 };
      this.#metrics.set(key, m);
    }
    return m;
  }
}

/** A failed reply as JSON text. */
function envelope(code: string, message: string, flags: { final?: true; cut?: true } = {}): string {
  return JSON.stringify({ ok: false, code, message, ...flags });
}

function tooLarge(name: string, chars: number, cap: number): string {
  return envelope("E_CAPABILITY_FAILED", `${name} answered ${chars} characters, over the ${cap} character cap`);
}

function isSuccess(reply: string): boolean {
  return reply.startsWith(`{"ok":true`);
}
