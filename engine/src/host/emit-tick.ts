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
    wire = eventToWire(event, payload, () => target.nextSeq());
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
    wire = tickToWire(events, () => target.nextSeq());
  } catch (err) {
    return Promise.reject(err as Error);
  }
  const done = dispatchTick(wire, target.slots());
  return fleet === undefined ? done : done.then((results) => (results.forEach((r) => fleet.record(r)), results));
}

/**
 * Checks a tick and turns it into wire events (seq from `nextSeq`, one `now` for the whole tick).
 * Throws E_EVENT_INVALID naming the first bad index; `nextSeq` is not called then, so a refused
 * tick leaves no trace.
 */
export function tickToWire(events: unknown, nextSeq: () => number): WireEvent[] {
  if (!Array.isArray(events)) throw new ModhostError("E_EVENT_INVALID", `emitMany() needs an array of { event, payload }, got ${describe(events)}`);
  const checked: { name: string; payload: string }[] = [];
  for (let i = 0; i < events.length; i++) {
    const item: unknown = events[i];
    if (typeof item !== "object" || item === null) throw new ModhostError("E_EVENT_INVALID", `events[${i}] must be an object { event, payload }, got ${describe(item)}`);
    const { event, payload } = item as { event?: unknown; payload?: unknown };
    if (!isEventName(event)) {
      throw new ModhostError("E_EVENT_INVALID", `events[${i}].event must be a non-empty string of at most ${MAX_EVENT_NAME} characters, got ${describe(event)}`);
    }
    checked.push({ name: event, payload: payloadJson(payload, `events[${i}].payload (of "${event}")`) });
  }
  // Every event of a tick sees the same logical time, read once.
  const now = Date.now();
  return checked.map(({ name, payload }) => ({ seq: nextSeq(), name, payload, now }));
}

/** Checks one emit()'s event and turns it into a wire event; throws E_EVENT_INVALID. */
export function eventToWire(event: unknown, payload: unknown, seq: () => number): WireEvent {
  if (!isEventName(event)) {
    throw new ModhostError("E_EVENT_INVALID", `the event name must be a non-empty string of at most ${MAX_EVENT_NAME} characters`);
  }
  const payloadText = payloadJson(payload, `the payload of "${event}"`);
  return { seq: seq(), name: event, payload: payloadText, now: Date.now() };
}

/** An event name emit() and emitMany() accept: a non-empty string of at most MAX_EVENT_NAME characters. */
function isEventName(event: unknown): event is string {
  return typeof event === "string" && event.length > 0 && event.length <= MAX_EVENT_NAME;
}

/** The payload as JSON text (undefined is sent as null); throws E_EVENT_INVALID about `what`. */
function payloadJson(payload: unknown, what: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(payload === undefined ? null : payload);
  } catch (err) {
    throw new ModhostError("E_EVENT_INVALID", `${what} is not JSON data: ${(err as Error).message}`, {}, { cause: err });
  }
  if (json === undefined) throw new ModhostError("E_EVENT_INVALID", `${what} is not JSON data`);
  return json;
}

/**
 * Sends one event to every slot that handles it. Resolves with one result per such slot, in slot
 * order. One promise and one result sink for the call, however many mods answer.
 */
export function dispatchEvent(wire: WireEvent, slots: Iterable<ModSlot>): Promise<EmitResult[]> {
  const queuedAt = performance.now();
  return new Promise((done) => {
    const out: EmitResult[] = [];
    // Starts at 1, a hold released after the loop: done() cannot run before every slot has its event.
    let left = 1;
    const sink: ResultSink = (result, index) => {
      out[index] = result;
      if (--left === 0) done(out);
    };
    let count = 0;
    for (const slot of slots) {
      if (!slot.handles(wire.name)) continue;
      left++;
      slot.deliver(wire, sink, count++, queuedAt);
    }
    if (--left === 0) done(out);
  });
}

/**
 * Sends a tick's wire events to the slots that handle them, each slot's share back to back in
 * tick order (one queue run: one batch into its isolate). Resolves with, per event, one result per
 * slot handling it, in slot order: what dispatchEvent() of that event alone would have given. One
 * promise and one result sink for the whole tick.
 */
export function dispatchTick(wire: readonly WireEvent[], slots: Iterable<ModSlot>): Promise<EmitResult[][]> {
  const n = wire.length;
  const queuedAt = performance.now();
  return new Promise((done) => {
    const out: EmitResult[][] = [];
    /** Per event, how many slots handle it so far: the place of the next one's result. */
    const counts: number[] = [];
    for (let i = 0; i < n; i++) {
      out.push([]);
      counts.push(0);
    }
    let left = 1; // a hold, as in dispatchEvent()
    // A result's index is place * n + event: one number, no object per (mod, event).
    const sink: ResultSink = (result, index) => {
      (out[index % n] as EmitResult[])[Math.floor(index / n)] = result;
      if (--left === 0) done(out);
    };
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
        left++;
        slot.deliver(event, sink, (counts[i] as number)++ * n + i, queuedAt);
      }
    }
    if (--left === 0) done(out);
  });
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return value.length === 0 ? "an empty string" : `a string of ${value.length} characters`;
  return typeof value;
}
