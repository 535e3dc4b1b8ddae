import { ModhostError } from "../errors/modhost-error.js";
import type { EmitResult } from "../model/mod-events.js";
import type { WireEvent } from "../model/wire.js";
import type { ModSlot } from "../slot/mod-slot.js";

/** The longest event name emit() and emitMany() accept. */
const MAX_EVENT_NAME = 256;

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
    if (typeof event !== "string" || event.length === 0 || event.length > MAX_EVENT_NAME) {
      throw new ModhostError("E_EVENT_INVALID", `events[${i}].event must be a non-empty string of at most ${MAX_EVENT_NAME} characters, got ${describe(event)}`);
    }
    let json: string | undefined;
    try {
      json = JSON.stringify(payload === undefined ? null : payload);
    } catch (err) {
      throw new ModhostError("E_EVENT_INVALID", `events[${i}].payload (of "${event}") is not JSON data: ${(err as Error).message}`, {}, { cause: err });
    }
    if (json === undefined) throw new ModhostError("E_EVENT_INVALID", `events[${i}].payload (of "${event}") is not JSON data`);
    checked.push({ name: event, payload: json });
  }
  // Every event of a tick sees the same logical time, read once.
  const now = Date.now();
  return checked.map(({ name, payload }) => ({ seq: nextSeq(), name, payload, now }));
}

/**
 * Sends a tick's wire events to the slots that handle them: each slot gets its share as one queue
 * run (one promise per mod per tick). Resolves with, per event, one result per mod handling it,
 * in slot order: what emit() of that event alone would have given.
 */
export function dispatchTick(wire: readonly WireEvent[], slots: Iterable<ModSlot>): Promise<EmitResult[][]> {
  const shares: Promise<EmitResult[]>[] = [];
  /** Per share, the tick indexes of its events; undefined when the share is the whole tick (the usual case: no copy). */
  const indexes: (number[] | undefined)[] = [];
  for (const slot of slots) {
    let mine: WireEvent[] | undefined;
    let at: number[] | undefined;
    for (let i = 0; i < wire.length; i++) {
      const event = wire[i] as WireEvent;
      const handled = slot.handles(event.name);
      if (handled && at !== undefined) {
        (mine as WireEvent[]).push(event);
        at.push(i);
      } else if (!handled && at === undefined) {
        // The first event this slot skips: from here on its share is a subset.
        mine = wire.slice(0, i);
        at = mine.map((_, k) => k);
      }
    }
    const share = at === undefined ? wire : (mine as WireEvent[]);
    if (share.length === 0) continue;
    shares.push(slot.enqueueMany(share));
    indexes.push(at);
  }
  return Promise.all(shares).then((answers) => {
    const out: EmitResult[][] = [];
    for (let i = 0; i < wire.length; i++) out.push([]);
    for (let s = 0; s < answers.length; s++) {
      const results = answers[s] as EmitResult[];
      const at = indexes[s];
      for (let k = 0; k < results.length; k++) (out[at === undefined ? k : (at[k] as number)] as EmitResult[]).push(results[k] as EmitResult);
    }
    return out;
  });
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return value.length === 0 ? "an empty string" : `a string of ${value.length} characters`;
  return typeof value;
}
