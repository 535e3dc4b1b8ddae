import type { WireEvent } from "./wire.js";

/**
 * Wire events as one JSON text, `[[seq, name, payload, now], ...]` (capability records left out):
 * the batch a mod's prelude reads (sandbox/prelude-protocol.ts) and the form in which a slot's
 * journal keeps a run of events in memory (slot/slot-journal.ts). One string for a run of events
 * is one object for the garbage collector to copy while the run waits for a checkpoint, where
 * the events themselves are four each (the event, its payload, its time, the array's slot).
 */
export type EventListText = string;

/**
 * The events of the last list encoded (a copy of the caller's range) and its text. A tick sends
 * the same events (the same WireEvent objects: the host's queues, the journals and the sandbox's
 * request frame share them, and they are never changed) to every mod that handles them, and a
 * slot journals the events it just sent: the next list is most often this one, and gets this
 * one's text (one string for all of them) for a comparison of references.
 */
let lastEvents: readonly WireEvent[] = [];
let lastText: EventListText = "[]";

/** Are `events[from..to)` the very objects of the last list encoded? */
function sameAsLast(events: readonly WireEvent[], from: number, to: number): boolean {
  const count = to - from;
  if (count !== lastEvents.length) return false;
  for (let i = 0; i < count; i++) if (events[from + i] !== lastEvents[i]) return false;
  return true;
}

/** Encodes `events[from..to)` (to the end by default). */
export function encodeEventList(events: readonly WireEvent[], from: number, to = events.length): EventListText {
  if (sameAsLast(events, from, to)) return lastText;
  const text = encodeFresh(events, from, to);
  // A copy: the caller's array may be changed or hold much more (a replay's whole journal).
  lastEvents = events.slice(from, to);
  lastText = text;
  return text;
}

function encodeFresh(events: readonly WireEvent[], from: number, to: number): EventListText {
  // One join of the pieces gives one flat string (what the copy into the isolate needs), with no
  // string made per event but seq's digits; the name's JSON and `now`'s text are kept while they
  // repeat (a batch is mostly one event name and one millisecond). Half the garbage of `+=`.
  const parts: (string | number)[] = new Array<string | number>((to - from) * 5 + 2);
  let k = 0;
  parts[k++] = "[";
  let name: string | undefined;
  let nameText = "";
  let now = NaN;
  let nowText = "";
  for (let i = from; i < to; i++) {
    const e = events[i] as WireEvent;
    if (e.name !== name) {
      name = e.name;
      nameText = `,${JSON.stringify(name)},`;
    }
    if (e.now !== now) {
      now = e.now;
      nowText = `,${now}]`;
    }
    parts[k++] = i > from ? ",[" : "[";
    parts[k++] = e.seq;
    parts[k++] = nameText;
    // The payload is JSON text already: it goes in as it is.
    parts[k++] = e.payload;
    parts[k++] = nowText;
  }
  parts[k++] = "]";
  return parts.join("");
}

/**
 * The events of a text encodeEventList() wrote (in this process: it is not checked). A payload
 * comes back as JSON.stringify's text of its value: exactly the text it was sent with when that
 * was JSON.stringify's own (host/emit-tick.ts), which is all a journal's runs hold. Other JSON
 * would come back as its value's canonical text: spacing dropped, but also `-0` as `0` and a
 * number too large for a double as `null`, so such payloads must not be kept as a run.
 */
export function decodeEventList(text: EventListText): WireEvent[] {
  const rows = JSON.parse(text) as [seq: number, name: string, payload: unknown, now: number][];
  const out = new Array<WireEvent>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const [seq, name, payload, now] = rows[i] as [number, string, unknown, number];
    out[i] = { seq, name, payload: JSON.stringify(payload), now };
  }
  return out;
}
