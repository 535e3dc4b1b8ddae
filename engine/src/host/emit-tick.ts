import { performance } from "node:perf_hooks";
import { ModhostError } from "../errors/modhost-error.js";
import type { EmitResult, TickEvent } from "../model/mod-events.js";
import type { WireEvent } from "../model/wire.js";
import type { ResultSink } from "../slot/event-queue.js";
import type { ModSlot } from "../slot/mod-slot.js";
import type { FleetHook } from "./fleet-hook.js";

/** The longest event name emit() and emitMany() accept. */
const MAX_EVENT_NAME = 256;

/** Where emit() and emitMany() send: the slots and their event sequence numbers (the slot registry). */
export interface EmitTarget {
  nextSeq(): number;
  slots(): Iterable<ModSlot>;
}

/** emit(): checks the event, then sends it (`fleet` counts the results); rejects with E_EVENT_INVALID, nothing sent. */
export function emitEvent(target: EmitTarget, fleet: FleetHook | undefined, event: unknown, payload: unknown): Promise<EmitResult[]> {
  let wire: WireEvent;
  try {
    wire = eventToWire(event, payload, target);
  } catch (err) {
    return Promise.reject(err as Error);
  }
  const done = dispatchEvent(wire, target.slots());
  return fleet === undefined ? done : done.then((results) => (fleet.record(results), results));
}

/** emitMany(): checks the whole tick, then sends it (`fleet` counts the results); rejects with E_EVENT_INVALID, nothing sent. */
export function emitTick(target: EmitTarget, fleet: FleetHook | undefined, events: readonly TickEvent[]): Promise<EmitResult[][]> {
  let wire: WireEvent[];
  try {
    wire = tickToWire(events, target);
  } catch (err) {
    return Promise.reject(err as Error);
  }
  const done = dispatchTick(wire, target.slots());
  return fleet === undefined ? done : done.then((results) => (results.forEach((r) => fleet.record(r)), results));
}

/**
 * Checks a tick and turns it into wire events (seq from `target`, one `now` for the whole tick).
 * Throws E_EVENT_INVALID naming the first bad index; no seq is taken then, so a refused tick
 * leaves no trace.
 */
export function tickToWire(events: unknown, target: Pick<EmitTarget, "nextSeq">): WireEvent[] {
  if (!Array.isArray(events)) throw new ModhostError("E_EVENT_INVALID", `emitMany() needs an array of { event, payload }, got ${describe(events)}`);
  // Every event of a tick sees the same logical time, read once.
  const now = Date.now();
  // Built as they are checked, numbered once all passed: one object per event, no second list.
  const wire: { seq: number; name: string; payload: string; now: number }[] = new Array(events.length);
  for (let i = 0; i < events.length; i++) {
    const item: unknown = events[i];
    if (typeof item !== "object" || item === null) throw new ModhostError("E_EVENT_INVALID", `events[${i}] must be an object { event, payload }, got ${describe(item)}`);
    const { event, payload } = item as { event?: unknown; payload?: unknown };
    if (!isEventName(event)) {
      throw new ModhostError("E_EVENT_INVALID", `events[${i}].event must be a non-empty string of at most ${MAX_EVENT_NAME} characters, got ${describe(event)}`);
    }
    wire[i] = { seq: 0, name: event, payload: payloadJson(payload, event, i), now };
  }
  for (const w of wire) w.seq = target.nextSeq();
  return wire;
}

/** Checks one emit()'s event and turns it into a wire event (seq from `target`); throws E_EVENT_INVALID. */
export function eventToWire(event: unknown, payload: unknown, target: Pick<EmitTarget, "nextSeq">): WireEvent {
  if (!isEventName(event)) {
    throw new ModhostError("E_EVENT_INVALID", `the event name must be a non-empty string of at most ${MAX_EVENT_NAME} characters`);
  }
  const payloadText = payloadJson(payload, event, undefined);
  return { seq: target.nextSeq(), name: event, payload: payloadText, now: Date.now() };
}

/** An event name emit() and emitMany() accept: a non-empty string of at most MAX_EVENT_NAME characters. */
function isEventName(event: unknown): event is string {
  return typeof event === "string" && event.length > 0 && event.length <= MAX_EVENT_NAME;
}

/**
 * The payload as JSON text (undefined is sent as null); throws E_EVENT_INVALID naming the payload
 * of `event` (at `index` of a tick). The name is put together only for the error, not per event.
 */
function payloadJson(payload: unknown, event: string, index: number | undefined): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(payload === undefined ? null : payload);
  } catch (err) {
    throw new ModhostError("E_EVENT_INVALID", `${payloadName(event, index)} is not JSON data: ${(err as Error).message}`, {}, { cause: err });
  }
  if (json === undefined) throw new ModhostError("E_EVENT_INVALID", `${payloadName(event, index)} is not JSON data`);
  return json;
}

/** How an error names a payload: emit()'s, or the one at `index` of a tick. */
function payloadName(event: string, index: number | undefined): string {
  return index === undefined ? `the payload of "${event}"` : `events[${index}].payload (of "${event}")`;
}

/**
 * The resolve function of the promise made last with `new Promise(keepResolve)`, taken out right
 * away by takeResolve(). An executor that only stores its argument lets every call share one
 * function instead of making a closure (and its context) per emit().
 */
let lastResolve: ((results: never) => void) | undefined;
function keepResolve(resolve: (results: never) => void): void {
  lastResolve = resolve;
}

/** The resolve function of the promise just made with `new Promise(keepResolve)`. */
function takeResolve<T>(): (value: T) => void {
  const resolve = lastResolve as (value: T) => void;
  lastResolve = undefined;
  return resolve;
}

/**
 * One emit() call's results, one per slot that handles the event, in slot order. `left` starts at
 * 1, a hold released once every slot has its event: the call cannot resolve before that.
 */
class EventResults implements ResultSink {
  out: EmitResult[] | undefined;
  left = 1;
  readonly queuedAt = performance.now();
  readonly #done: (results: EmitResult[]) => void;

  constructor(done: (results: EmitResult[]) => void) {
    this.#done = done;
  }

  put(result: EmitResult, index: number): void {
    (this.out ??= [])[index] = result;
    if (--this.left === 0) this.#done(this.out);
  }

  /** Every slot has its event (`count` of them): sized to fit, unless a result came first. */
  release(count: number): void {
    this.out ??= new Array<EmitResult>(count);
    if (--this.left === 0) this.#done(this.out);
  }
}

/**
 * Sends one event to every slot that handles it. Resolves with one result per such slot, in slot
 * order. One promise and one result sink for the call, however many mods answer.
 */
export function dispatchEvent(wire: WireEvent, slots: Iterable<ModSlot>): Promise<EmitResult[]> {
  const promise = new Promise<EmitResult[]>(keepResolve);
  const sink = new EventResults(takeResolve());
  let count = 0;
  for (const slot of slots) {
    if (!slot.handles(wire.name)) continue;
    sink.left++;
    slot.deliver(wire, sink, count++);
  }
  sink.release(count);
  return promise;
}

/**
 * A tick's results: per event, one result per slot handling it, in slot order. A result's index
 * is place * n + event: one number, no object per (mod, event). `left` is a hold as in EventResults.
 */
class TickResults implements ResultSink {
  /** Per event, its results: sized by release() once every slot has its events. */
  readonly out: EmitResult[][];
  left = 1;
  readonly queuedAt = performance.now();
  readonly #n: number;
  readonly #done: (results: EmitResult[][]) => void;

  constructor(n: number, done: (results: EmitResult[][]) => void) {
    this.#n = n;
    this.#done = done;
    this.out = new Array<EmitResult[]>(n);
  }

  put(result: EmitResult, index: number): void {
    const n = this.#n;
    const event = index % n;
    (this.out[event] ??= [])[Math.floor(index / n)] = result;
    if (--this.left === 0) this.#done(this.out);
  }

  /**
   * Every slot has its events; `counts[i]` of them handle event i. Each event's list is made to
   * fit (an empty literal would grow to 17 places at its first result), unless a result came first.
   */
  release(counts: readonly number[]): void {
    for (let i = 0; i < this.#n; i++) this.out[i] ??= new Array<EmitResult>(counts[i] as number);
    if (--this.left === 0) this.#done(this.out);
  }
}

/**
 * Sends a tick's wire events to the slots that handle them, each slot's share back to back in
 * tick order (one queue run: one batch into its isolate). Resolves with, per event, one result per
 * slot handling it, in slot order: what dispatchEvent() of that event alone would have given. One
 * promise and one result sink for the whole tick.
 */
export function dispatchTick(wire: readonly WireEvent[], slots: Iterable<ModSlot>): Promise<EmitResult[][]> {
  const n = wire.length;
  const promise = new Promise<EmitResult[][]>(keepResolve);
  const sink = new TickResults(n, takeResolve());
  /** Per event, how many slots handle it so far: the place of the next one's result. */
  const counts = new Array<number>(n).fill(0);
  for (const slot of slots) {
    // Ticks often repeat one event name: ask the slot once per run of the same name.
    let name: string | undefined;
    let handled = false;
    for (let i = 0; i < n; i++) {
      const event = wire[i] as WireEvent;
      if (event.name !== name) {
        name = event.name;
        handled = slot.handles(name);
      }
      if (!handled) continue;
      sink.left++;
      slot.deliver(event, sink, (counts[i] as number)++ * n + i);
    }
  }
  sink.release(counts);
  return promise;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return value.length === 0 ? "an empty string" : `a string of ${value.length} characters`;
  return typeof value;
}
